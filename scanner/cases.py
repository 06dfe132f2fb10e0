"""Rectification cases (整改): opened from confirmed findings, notified with a deadline, reminded, re-checked,
resolved, extended, waived, or escalated for 取消接入.

States: open -> notified -> resolved | extended | waived | overdue -> escalated. `critical` findings skip the
grace period (open -> escalated at once). Every change writes a CaseEvent (when, who or which scan, why).

`reconcile` is the one entry point after a scan and on the daily sweep. Each phase is idempotent and commits
on its own, and every message is queued in the same transaction as the case changes it reports, so a crash
at any point loses nothing and a rerun sends nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks import get as declared
from checks.framework import Binds
from core import clock
from core import observation as observed
from core.clock import SHANGHAI
from core.config import Config
from core.statuses import CANCELLED, CRITICAL
from scanner.customer_links import issue as customer_link
from scanner.health import Health, HealthGate
from scanner.notices.compose import local_time, render
from scanner.notices.items import build_items, case_key_of
from scanner.notices.outbox import queue_message, raise_alert
from scanner.store.db import Store, as_utc
from scanner.store.models import (
    Alert,
    Case,
    CaseEvent,
    Contact,
    Finding,
    Observation,
    Scan,
    Subject,
    Waiver,
    Website,
)
from scanner.store.observations import decode
from scanner.sync_grace import SyncGrace
from scanner.workdays import WorkCalendar, deadline_after, extend_deadline, reminder_due

OPEN, NOTIFIED, EXTENDED, OVERDUE, ESCALATED = "open", "notified", "extended", "overdue", "escalated"
RESOLVED, WAIVED = "resolved", "waived"
ACTIVE = (OPEN, NOTIFIED, EXTENDED, OVERDUE, ESCALATED)
STATES = (*ACTIVE, RESOLVED, WAIVED)
RUNNING_DEADLINE = (NOTIFIED, EXTENDED)


class CaseError(Exception):
    """An operator action that cannot be done; one line."""


@dataclass
class Report:
    held: bool = False
    health: dict = field(default_factory=dict)
    opened: int = 0
    notified: int = 0
    reminded: int = 0
    resolved: int = 0
    overdue: int = 0
    escalated: int = 0
    waivers_lapsed: int = 0
    pending: int = 0  # confirmed findings held back by the grace after a registry change (sync_grace)
    messages: int = 0
    no_recipient: int = 0
    uncovered_years: set[int] = field(default_factory=set)

    def line(self) -> str:
        parts = [f"{n} {label}" for label, n in (
            ("opened", self.opened), ("notified", self.notified), ("reminded", self.reminded),
            ("resolved", self.resolved), ("overdue", self.overdue), ("escalated", self.escalated),
        ) if n]
        text = "cases: " + (", ".join(parts) if parts else "no changes") + f"; {self.messages} messages queued"
        if self.pending:
            text += f"; {self.pending} pending (registry changed recently: beian cases --pending)"
        if self.held:
            text += " (notices HELD by the crawl-health gate)"
        return text


def transition(session: Session, case: Case, to_state: str, actor: str, reason: str, now: datetime, **detail) -> None:
    session.add(CaseEvent(case_id=case.id, at=now, from_state=case.state, to_state=to_state, actor=actor,
                          reason=reason, detail=detail))
    case.state = to_state
    if to_state in (RESOLVED, WAIVED):
        case.active_key = None
        case.closed_at = now


class CaseBook:
    """Case lifecycle over one store; `now` comes from the clock (BEIAN_NOW pins it)."""

    def __init__(self, config: Config, store: Store, now: datetime | None = None) -> None:
        self.config = config
        self.store = store
        self.now = now or clock.now()
        self.calendar = WorkCalendar.from_config(config.deadlines)

    # -- the run after a scan, and the daily sweep -------------------------------------------------------
    def reconcile(self, scan_id: int | None = None, *, actor: str | None = None) -> Report:
        report = Report()
        actor = actor or (f"scan {scan_id}" if scan_id else "sweep")
        health = self._health(scan_id)
        if health is not None:
            report.health = health.as_dict()
            report.held = health.held
        else:
            report.held = self._latest_held()
        self._open_confirmed(scan_id, actor, report)
        self._resolve_fixed(actor, report)
        self._expire_deadlines(actor, report)
        if not report.held:
            self._escalate_still_failing(actor, report)
            self._remind(actor, report)
            self._notify(scan_id, actor, report)
        report.uncovered_years |= self.calendar.uncovered
        if report.uncovered_years:
            self._warn_uncovered(report.uncovered_years, scan_id)
        return report

    def _health(self, scan_id: int | None) -> Health | None:
        if scan_id is None:
            return None
        with self.store.transaction() as session:
            scan = session.get(Scan, scan_id)
            if scan is None or scan.state != "finished":
                return None
            return HealthGate(self.config, self.now).run(session, scan)

    def _latest_held(self) -> bool:
        with self.store.session() as session:
            scan = session.scalars(
                select(Scan).where(Scan.state == "finished").order_by(Scan.id.desc()).limit(1)
            ).first()
        health = ((scan.stats or {}).get("health") or {}) if scan else {}
        return bool(health.get("held") and not health.get("released"))

    # -- phase: open cases from confirmed findings ---------------------------------------------------------
    def _open_confirmed(self, scan_id: int | None, actor: str, report: Report) -> None:
        with self.store.transaction() as session:
            groups: dict[str, list] = defaultdict(list)
            for row in session.execute(
                select(Finding.key, Finding.check, Finding.severity, Finding.subject_number, Finding.website_number,
                       Finding.seen_count, Finding.last_scan_id).where(Finding.closed_at.is_(None))
            ):
                groups[case_key_of(row.key)].append(row)
            active = set(session.scalars(select(Case.active_key).where(Case.active_key.is_not(None))))
            waivers = {w.key: w for w in session.scalars(select(Waiver).where(Waiver.lapsed_at.is_(None)))}
            grace = SyncGrace(session, self.config.cases.sync_grace_days, self.now, self.calendar)
            candidates = []
            for key, rows in groups.items():
                if key in active:
                    continue
                first = rows[0]
                if not in_notices(self.config, first.check):
                    continue  # informational: a finding, no case
                if max(r.seen_count for r in rows) < confirm_needed(self.config, first.check):
                    continue
                if declared(first.check).severity != CRITICAL and grace.for_finding(first.website_number,
                                                                                    first.subject_number):
                    report.pending += 1  # opens at the first reconcile after the grace (pending() lists it)
                    continue
                waiver = waivers.get(key)
                if waiver is not None:
                    if fingerprint(session, key, first.website_number, first.subject_number) == waiver.fingerprint:
                        continue
                    waiver.lapsed_at = self.now  # the page or record changed since the waiver: check again
                    report.waivers_lapsed += 1
                candidates.append(first)
            recipients = recipients_for(session, {row.subject_number for row in candidates})
            for row in candidates:
                key = case_key_of(row.key)
                case = Case(key=key, active_key=key, check=row.check, severity=declared(row.check).severity,
                            subject_number=row.subject_number, website_number=row.website_number, state=OPEN,
                            recipient=recipients.get(row.subject_number, ""), opened_at=self.now,
                            opened_scan_id=scan_id, extensions=0)
                session.add(case)
                session.flush()
                session.add(CaseEvent(case_id=case.id, at=self.now, from_state=None, to_state=OPEN, actor=actor,
                                      reason="finding confirmed", detail={"seen_scans": row.seen_count}))
                report.opened += 1
                if case.severity == CRITICAL:
                    transition(session, case, ESCALATED, actor, "critical finding: no grace period", self.now)
                    case.escalated_at = self.now
                    report.escalated += 1
                    report.messages += raise_alert(
                        session, self.config, self.now, "critical", f"严重问题已直接转交处理：{declared(case.check).title}",
                        scan_id=scan_id, lines=[f"案件 {case.id}：{case.website_number or case.subject_number}"],
                        case_id=case.id)

    # -- phase: re-check -------------------------------------------------------------------------------
    def _resolve_fixed(self, actor: str, report: Report) -> None:
        with self.store.transaction() as session:
            failing = {case_key_of(key) for key in session.scalars(select(Finding.key).where(Finding.closed_at.is_(None)))}
            gone = {number for (number,) in session.execute(
                select(Website.website_number).where(Website.removed_at.is_not(None) | (Website.status == CANCELLED))
            )}
            confirmations: dict[str, list[Case]] = defaultdict(list)
            for case in session.scalars(select(Case).where(Case.active_key.is_not(None))):
                if case.website_number and case.website_number in gone:
                    transition(session, case, RESOLVED, actor, "website no longer filed with us", self.now)
                    report.resolved += 1
                elif case.key not in failing:
                    notified = case.notified_at is not None
                    transition(session, case, RESOLVED, actor, "finding gone at re-check", self.now)
                    report.resolved += 1
                    if notified and case.recipient:
                        confirmations[case.recipient].append(case)
            for recipient, cases in confirmations.items():
                items = build_items(session, cases, include_closed=True)
                rendered = render(self.config, "resolved", recipient, {"items": items}, now=self.now)
                session.add(queue_message(rendered, "resolved", recipient, self.now, None, [c.id for c in cases]))
                report.messages += 1

    # -- phase: deadlines ------------------------------------------------------------------------------
    def _expire_deadlines(self, actor: str, report: Report) -> None:
        with self.store.transaction() as session:
            for case in session.scalars(select(Case).where(Case.state.in_(RUNNING_DEADLINE), Case.deadline < self.now)):
                transition(session, case, OVERDUE, actor, f"deadline {local_time(case.deadline)} passed", self.now)
                report.overdue += 1

    def _escalate_still_failing(self, actor: str, report: Report) -> None:
        """Overdue and seen failing by a scan after the deadline: the 取消接入 worklist."""
        with self.store.transaction() as session:
            overdue = list(session.scalars(select(Case).where(Case.state == OVERDUE)))
            if not overdue:
                return
            last_seen: dict[str, datetime] = {}
            for key, seen in session.execute(select(Finding.key, Finding.last_seen).where(Finding.closed_at.is_(None))):
                case_key = case_key_of(key)
                seen = as_utc(seen)
                if case_key not in last_seen or seen > last_seen[case_key]:
                    last_seen[case_key] = seen
            escalated = []
            for case in overdue:
                seen = last_seen.get(case.key)
                if seen is not None and seen > as_utc(case.deadline):
                    transition(session, case, ESCALATED, actor, "still failing after the deadline", self.now,
                               seen_at=seen.isoformat())
                    case.escalated_at = self.now
                    escalated.append(case)
            report.escalated += len(escalated)
            if escalated:
                report.messages += raise_alert(
                    session, self.config, self.now, "escalated", f"{len(escalated)} 个案件逾期未整改，待取消接入",
                    lines=[f"案件 {c.id}：{c.website_number or c.subject_number} {declared(c.check).title}" for c in escalated[:50]]
                    + ["完整清单：beian cases --escalated"], case_ids=[c.id for c in escalated])

    def _remind(self, actor: str, report: Report) -> None:
        days = self.config.deadlines.reminder_days
        if days <= 0:
            return
        today = self.now.astimezone(SHANGHAI).date()
        with self.store.transaction() as session:
            due: dict[str, list[Case]] = defaultdict(list)
            for case in session.scalars(
                select(Case).where(Case.state.in_(RUNNING_DEADLINE), Case.reminded_at.is_(None), Case.deadline >= self.now)
            ):
                if case.recipient and today >= reminder_due(as_utc(case.deadline), days, self.calendar):
                    due[case.recipient].append(case)
            for recipient, cases in due.items():
                items = build_items(session, cases)
                deadline = local_time(min(as_utc(c.deadline) for c in cases))
                context = {"items": items, "deadline": deadline, "link": customer_link(session, self.config, recipient, self.now)}
                rendered = render(self.config, "reminder", recipient, context, now=self.now)
                message = queue_message(rendered, "reminder", recipient, self.now, None, [c.id for c in cases])
                session.add(message)
                session.flush()
                for case in cases:
                    case.reminded_at = self.now
                    session.add(CaseEvent(case_id=case.id, at=self.now, from_state=case.state, to_state=case.state,
                                          actor=actor, reason="reminder queued", detail={"outbox_id": message.id}))
                report.reminded += len(cases)
                report.messages += 1

    # -- phase: notices --------------------------------------------------------------------------------
    def _notify(self, scan_id: int | None, actor: str, report: Report) -> None:
        with self.store.session() as session:
            pending = list(session.execute(
                select(Case.id, Case.recipient).where(Case.active_key.is_not(None), Case.notified_at.is_(None))
                .order_by(Case.id)
            ))
        by_recipient: dict[str, list[int]] = defaultdict(list)
        for case_id, recipient in pending:
            by_recipient[recipient].append(case_id)
        without = by_recipient.pop("", [])
        if without:
            report.no_recipient += len(without)
            self._flag_no_recipient(without, actor)
        deadline = deadline_after(self.now, self.config.deadlines.working_days, self.config.deadlines, self.calendar)
        for recipient, ids in by_recipient.items():
            with self.store.transaction() as session:  # one customer per transaction
                cases = list(session.scalars(
                    select(Case).where(Case.id.in_(ids), Case.notified_at.is_(None)).order_by(Case.id)
                ))
                if not cases:
                    continue
                for case in cases:
                    case.deadline = None if case.severity == CRITICAL else deadline
                items = build_items(session, cases)
                critical = sum(1 for item in items if item["critical"])
                has_deadline = len(cases) > critical
                context = {"items": items, "deadline": local_time(deadline) if has_deadline else "",
                           "working_days": self.config.deadlines.working_days, "critical_count": critical,
                           "link": customer_link(session, self.config, recipient, self.now)}
                rendered = render(self.config, "notice", recipient, context, now=self.now)
                message = queue_message(rendered, "notice", recipient, self.now, scan_id, [c.id for c in cases])
                session.add(message)
                session.flush()
                for case in cases:
                    case.notified_at = self.now
                    case.notice_id = message.id
                    if case.state == OPEN:
                        transition(session, case, NOTIFIED, actor, "notice queued", self.now,
                                   outbox_id=message.id, deadline=local_time(case.deadline))
                    else:  # critical: already escalated; the customer is told to act at once
                        session.add(CaseEvent(case_id=case.id, at=self.now, from_state=case.state, to_state=case.state,
                                              actor=actor, reason="notice queued", detail={"outbox_id": message.id}))
                report.notified += len(cases)
                report.messages += 1

    def _flag_no_recipient(self, case_ids: list[int], actor: str) -> None:
        with self.store.transaction() as session:
            flagged = set(session.scalars(
                select(CaseEvent.case_id).where(CaseEvent.case_id.in_(case_ids), CaseEvent.reason == "no recipient")
            ))
            fresh = [case_id for case_id in case_ids if case_id not in flagged]
            for case_id in fresh:
                session.add(CaseEvent(case_id=case_id, at=self.now, from_state=OPEN, to_state=OPEN, actor=actor,
                                      reason="no recipient",
                                      detail={"hint": "subject has no customer_email and no principal email"}))
            if fresh:
                raise_alert(session, self.config, self.now, "no_recipient",
                            f"{len(fresh)} 个案件无法通知：备案主体未登记客户邮箱或负责人邮箱",
                            lines=[f"案件 {i}" for i in fresh[:50]], case_ids=fresh)

    def _warn_uncovered(self, years: set[int], scan_id: int | None) -> None:
        listed = "、".join(str(y) for y in sorted(years))
        print(f"warning: chinese-calendar has no holiday data for {listed}; deadlines in those years count only "
              "weekends and the fixed-date holidays plus deadlines.holidays/workdays from the config. Add the State "
              "Council's 放假调休 arrangement there, or upgrade chinesecalendar.", file=sys.stderr)
        with self.store.transaction() as session:
            already = session.scalars(select(Alert).where(Alert.kind == "calendar").order_by(Alert.id.desc())).first()
            if already is None or already.detail.get("years") != sorted(years):
                raise_alert(session, self.config, self.now, "calendar",
                            f"{listed} 年无官方节假日数据，整改期限按周末及固定节日推算，请在配置中补充放假调休安排",
                            scan_id=scan_id, years=sorted(years))

    def pending(self) -> list[dict]:
        """Confirmed findings that would open a case but wait for the grace after a registry change: one row
        per would-be case (check, subject, website, the change, when the grace ends), soonest first."""
        out = []
        with self.store.session() as session:
            grace = SyncGrace(session, self.config.cases.sync_grace_days, self.now, self.calendar)
            if not grace.active:
                return []
            active = set(session.scalars(select(Case.active_key).where(Case.active_key.is_not(None))))
            groups: dict[str, list] = defaultdict(list)
            for row in session.execute(
                select(Finding.key, Finding.check, Finding.subject_number, Finding.website_number, Finding.domain,
                       Finding.summary, Finding.seen_count).where(Finding.closed_at.is_(None))
            ):
                groups[case_key_of(row.key)].append(row)
            for key, rows in groups.items():
                first = rows[0]
                if key in active or not in_notices(self.config, first.check) or declared(first.check).severity == CRITICAL:
                    continue
                if max(r.seen_count for r in rows) < confirm_needed(self.config, first.check):
                    continue
                held = grace.for_finding(first.website_number, first.subject_number)
                if held is not None:
                    out.append({"key": key, "check": first.check, "subject_number": first.subject_number,
                                "website_number": first.website_number, "domain": first.domain,
                                "summary": first.summary, "changed": held.kind, "changed_number": held.number,
                                "changed_at": local_time(held.changed_at), "until": local_time(held.until)})
        return sorted(out, key=lambda r: (r["until"], r["key"]))

    # -- operator actions ------------------------------------------------------------------------------
    def extend(self, case_id: int, days: int, reason: str, actor: str = "operator") -> Case:
        if days <= 0:
            raise CaseError("--days must be a positive number of working days")
        if not reason.strip():
            raise CaseError("--reason is required: say why the deadline moves")
        with self.store.transaction() as session:
            case = self._get(session, case_id)
            if case.state not in (NOTIFIED, EXTENDED, OVERDUE):
                raise CaseError(f"case {case_id} is {case.state}; only a notified, extended or overdue case can be extended")
            base = max(as_utc(case.deadline), self.now) if case.deadline else self.now
            old = case.deadline
            case.deadline = extend_deadline(base, days, self.config.deadlines, self.calendar)
            case.extensions += 1
            case.reminded_at = None
            transition(session, case, EXTENDED, actor, reason.strip(), self.now,
                       days=days, old_deadline=local_time(old), new_deadline=local_time(case.deadline))
            session.flush()
            return case

    def waive(self, case_id: int, reason: str, actor: str = "operator") -> Case:
        if not reason.strip():
            raise CaseError("--reason is required: say why this is a false positive")
        with self.store.transaction() as session:
            case = self._get(session, case_id)
            if case.state not in ACTIVE:
                raise CaseError(f"case {case_id} is already {case.state}")
            print_ = fingerprint(session, case.key, case.website_number, case.subject_number)
            for old in session.scalars(select(Waiver).where(Waiver.key == case.key, Waiver.lapsed_at.is_(None))):
                old.lapsed_at = self.now
            session.add(Waiver(key=case.key, case_id=case.id, fingerprint=print_, reason=reason.strip(), actor=actor,
                               created_at=self.now))
            transition(session, case, WAIVED, actor, reason.strip(), self.now, fingerprint=print_)
            session.flush()
            return case

    def _get(self, session: Session, case_id: int) -> Case:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        return case


def release(config: Config, store: Store, scan_id: int, actor: str = "operator") -> Report:
    """An operator says the held scan was right after all: send its notices now."""
    with store.transaction() as session:
        scan = session.get(Scan, scan_id)
        health = (scan.stats or {}).get("health") if scan else None
        if not health or not health.get("held"):
            raise CaseError(f"scan {scan_id} has no held notices")
        scan.stats = {**scan.stats, "health": {**health, "released": True, "released_by": actor}}
    return CaseBook(config, store).reconcile(scan_id, actor=actor)


def recipients_for(session: Session, subject_numbers: set[str]) -> dict[str, str]:
    """customer_email, else the principal's email."""
    out: dict[str, str] = {}
    numbers = list(subject_numbers)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        rows = session.execute(
            select(Subject.id, Subject.subject_number, Subject.customer_email).where(Subject.subject_number.in_(chunk))
        ).all()
        ids = {row.id: row.subject_number for row in rows}
        principals = dict(session.execute(
            select(Contact.subject_id, Contact.email).where(
                Contact.subject_id.in_(ids), Contact.role == "principal", Contact.website_id.is_(None))
        ).all())
        for row in rows:
            email = (row.customer_email or "").strip() or (principals.get(row.id) or "").strip()
            if email:
                out[row.subject_number] = email
    return out


def in_notices(config: Config, code: str) -> bool:
    """Whether findings of `code` open cases (and so notices): informational checks (declared notify=False)
    only when `[notices] include_codes` names them; `exclude_codes` keeps any code out."""
    if code in config.notices.exclude_codes:
        return False
    return declared(code).notify or code in config.notices.include_codes


def confirm_needed(config: Config, code: str) -> int:
    """Scans in a row that must see a finding: the operator's override, else what the check declares."""
    return dict(config.cases.confirm_scans).get(code, declared(code).confirm_scans)


def fingerprint(session: Session, key: str, website_number: str | None, subject_number: str) -> str:
    """What a waiver is bound to: the record, plus what the latest scan saw of the page (or of DNS)."""
    binds = declared(key.split("|", 1)[0]).waiver_binds
    digest = hashlib.sha256()
    if website_number:
        row = session.execute(select(Website.id, Website.fingerprint).where(Website.website_number == website_number)).first()
        digest.update((row.fingerprint if row else "").encode())
        if row is not None and binds != Binds.RECORD:
            obs = session.scalars(
                select(Observation).where(Observation.website_id == row.id).order_by(Observation.id.desc()).limit(1)
            ).first()
            if obs is not None:
                digest.update(_observed(decode(obs.data), binds).encode())
    else:
        digest.update((session.scalar(select(Subject.fingerprint).where(Subject.subject_number == subject_number)) or "").encode())
    return digest.hexdigest()[:40]


def _observed(obs: observed.Observation, binds: Binds) -> str:
    """What the latest scan saw that a waiver is bound to: the DNS answers, or the homepage."""
    if binds == Binds.DNS:
        return json.dumps({name: [entry.outcome, sorted(entry.addresses)] for name, entry in obs.dns.items()}, sort_keys=True)
    fetch, page = obs.fetch, obs.page
    return json.dumps([fetch.state if fetch else None, fetch.final_url if fetch else None, fetch.status if fetch else None,
                       page.title if page else None, page.text if page else None], ensure_ascii=False)

