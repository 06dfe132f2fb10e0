"""Annual review rounds (备案年度审核, seed 000): one SMS per website, tracked until the bureau has it.

A round covers every website of one province filed through us (`--province 鄂`: website numbers 鄂ICP备…).
Each website gets its own SMS `#接入商编号#网站备案号#备案状态#` (seed Q3, Q10) with our `provider.code`; its
备案状态 comes from the registry history since the previous round of the province ended (`registry_changes` of the imports after the
newest one that round read):

- 已注销: the website was cancelled since then (seed Q4);
- 已更新: its record or its subject's changed since then and the change is approved (status 已备案 again);
- 无变化: nothing changed, also when it moved to us from another provider (seed Q5);
- a website in 备案中 waits (seed Q13): it gets its SMS once a later import shows it approved.

One mail per customer lists every SMS to send, from which phone (the 网站负责人 or 主体负责人 mobile on record,
seed Q11) to which platform number (by that phone's carrier, seed Q9), the deadline, that there is no
extension (Q8) and the consequence (Q2). Mails are queued in the outbox in the same transaction that marks
the websites notified, one customer per transaction, so an interrupted run resumes without duplicates.

Completion comes from the bureau's list of completed website numbers (CSV/XLSX) or an operator. On the
reminder dates the customers with websites still open get a reminder. When the round ends the websites
still open become `review.not_done` findings, which open cases (with the usual deadline, reminders and
escalation); a completion recorded later still counts (seed Q14) and closes the finding.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks import evaluate_workflow
from checks.registry import carrier_of
from core import clock
from core.clock import SHANGHAI
from core.config import Config
from core.icp import PROVINCES, find_numbers, normalise
from core.records import ReviewItem as ReviewItemView
from core.statuses import CANCELLED, FILED, PENDING
from scanner import findings as findings_store
from scanner.notices.compose import render
from scanner.notices.deliver import _kill_at
from scanner.notices.outbox import queue_message, raise_alert
from scanner.store.db import Store, as_utc, shanghai_iso
from scanner.store.models import (
    Contact,
    RegistryChange,
    RegistryImport,
    ReviewItem,
    ReviewRound,
    Subject,
    Website,
)

CODE = "review.not_done"
# 湖北管局短信平台号码 (seed 000 Q9), by the carrier of the sending phone
PLATFORMS = {"中国移动": "106509719767", "中国联通": "10690661740694920", "中国电信": "10690738140694920"}
UNCHANGED, UPDATED, CANCELLED_STATUS = "无变化", "已更新", "已注销"
WAITING, DUE, NOTIFIED, DONE, DROPPED = "waiting", "due", "notified", "done", "dropped"
ITEM_STATES = (WAITING, DUE, NOTIFIED, DONE, DROPPED)
OPEN, CLOSED = "open", "closed"
# fields of our record that are not filing data: a change of them alone is not 已更新
NOT_FILING = {"provider_code", "customer_email"}
ROLE_LABELS = {"leader": "网站负责人", "principal": "主体负责人"}
STATUS_NOTES = {UNCHANGED: "我司记录中备案信息自上次年审以来无变化", UPDATED: "备案信息已变更，变更已审核通过并提交至管局",
                CANCELLED_STATUS: "网站已注销，注销已审核通过并提交至管局"}  # seed 000 Q4


class ReviewError(Exception):
    """An operator request that cannot be done; one line."""


@dataclass
class ReviewReport:
    items: int = 0
    waiting: int = 0
    messages: int = 0
    notified: int = 0
    reminded: int = 0
    done: int = 0
    already_done: int = 0
    unknown: list[str] = field(default_factory=list)
    no_recipient: int = 0
    closed: bool = False
    not_done: int = 0
    cases: str = ""  # what the case run after the round's end did

    def line(self) -> str:
        parts = [f"{n} {label}" for label, n in (
            ("websites", self.items), ("waiting (备案中)", self.waiting), ("notified", self.notified),
            ("reminded", self.reminded), ("done", self.done), ("already done", self.already_done),
            ("without recipient", self.no_recipient), ("not done at the end", self.not_done),
        ) if n]
        text = ", ".join(parts) or "no changes"
        if self.unknown:
            text += f"; {len(self.unknown)} numbers not in this round (first: {self.unknown[0]})"
        if self.closed:
            text += "; round closed" + (f" ({self.cases})" if self.cases else "")
        return text + f"; {self.messages} messages queued"


def end_of(day: str) -> datetime:
    """The end of a local day (Asia/Shanghai): the moment after which the round's SMS are late."""
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0, 0), SHANGHAI)


def label(round_: ReviewRound) -> str:
    return f"{round_.province} {round_.starts_on} 至 {round_.ends_on}"


def sms_text(provider_code: str, website_number: str, status: str) -> str:
    return f"#{provider_code}#{website_number}#{status}#"


# -- status from the registry history -------------------------------------------------------------------------
def _filing_keys(diff: dict | None) -> set[str]:
    return set(diff or {}) - NOT_FILING


def derive_status(website: Website, changes: list[RegistryChange], subject_changes: list[RegistryChange]) -> tuple[str, dict]:
    """(备案状态, why) of one website from the changes since the round's baseline; "" while 备案中."""
    added = any(c.change == "added" for c in changes)
    if website.status == CANCELLED:
        return CANCELLED_STATUS, {"cancelled": True, "added_since": added}
    if website.status == PENDING:
        return "", {"pending": True}
    reasons = []
    for change in changes:
        if change.change != "changed":
            continue
        keys = _filing_keys(change.after) | _filing_keys(change.before)
        if added and keys == {"status"} and (change.after or {}).get("status") == FILED:
            continue  # a new filing approved since the baseline: nothing changed after approval
        if keys:
            reasons.append({"website": sorted(keys), "import_id": change.import_id})
    for change in subject_changes:
        keys = _filing_keys(change.after) | _filing_keys(change.before)
        if change.change == "changed" and keys:
            reasons.append({"subject": sorted(keys), "import_id": change.import_id})
    if reasons:
        return UPDATED, {"changes": reasons}
    return UNCHANGED, {"added_since": added} if added else {}


def _baseline_filter(round_: ReviewRound):
    if round_.since_import_id is not None:
        return RegistryChange.import_id > round_.since_import_id
    imports = select(RegistryImport.id).where(RegistryImport.imported_at > round_.since)
    return RegistryChange.import_id.in_(imports)


def _history(session: Session, round_: ReviewRound, websites: list[str], subjects: list[str]) -> tuple[dict, dict]:
    by_website: dict[str, list[RegistryChange]] = defaultdict(list)
    by_subject: dict[str, list[RegistryChange]] = defaultdict(list)
    base = _baseline_filter(round_)
    for chunk in _chunks(websites):
        for row in session.scalars(select(RegistryChange).where(
                RegistryChange.kind == "website", RegistryChange.number.in_(chunk), base).order_by(RegistryChange.id)):
            by_website[row.number].append(row)
    for chunk in _chunks(subjects):
        for row in session.scalars(select(RegistryChange).where(
                RegistryChange.kind == "subject", RegistryChange.number.in_(chunk), base).order_by(RegistryChange.id)):
            by_subject[row.number].append(row)
    return by_website, by_subject


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- phones and platform numbers --------------------------------------------------------------------------------
def phone_entry(role: str, name: str, mobile: str) -> dict:
    carrier = carrier_of(mobile) if mobile else None
    return {"role": role, "role_label": ROLE_LABELS.get(role, role), "name": name, "mobile": mobile,
            "carrier": carrier or "", "platform": PLATFORMS.get(carrier or "", "")}


def _phones(session: Session, website_ids: dict[int, str]) -> dict[str, list[dict]]:
    """Per website: its 网站负责人 mobile, then its subject's 主体负责人 mobile (either may send, seed Q11)."""
    out: dict[str, list[dict]] = defaultdict(list)
    subject_of: dict[int, int] = {}
    for chunk in _chunks(list(website_ids)):
        subject_of.update(session.execute(select(Website.id, Website.subject_id).where(Website.id.in_(chunk))).all())
    principals: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(subject_of.values()))):
        for row in session.execute(select(Contact.subject_id, Contact.name, Contact.mobile).where(
                Contact.subject_id.in_(chunk), Contact.role == "principal", Contact.website_id.is_(None))):
            if row.mobile.strip():
                principals[row.subject_id] = phone_entry("principal", row.name, row.mobile.strip())
    for chunk in _chunks(list(website_ids)):
        for row in session.execute(select(Contact.website_id, Contact.name, Contact.mobile).where(
                Contact.website_id.in_(chunk), Contact.role == "leader")):
            if row.mobile.strip():
                out[website_ids[row.website_id]].append(phone_entry("leader", row.name, row.mobile.strip()))
    for website_id, number in website_ids.items():
        principal = principals.get(subject_of.get(website_id))
        if principal and all(p["mobile"] != principal["mobile"] for p in out[number]):
            out[number].append(principal)
    return out


# -- the round ---------------------------------------------------------------------------------------------------
class AnnualReview:
    def __init__(self, config: Config, store: Store, now: datetime | None = None) -> None:
        self.config = config
        self.store = store
        self.now = now or clock.now()

    # opening
    def start(self, province: str, starts_on: str, ends_on: str, reminders: list[str] | None = None,
              actor: str = "operator") -> tuple[ReviewRound, ReviewReport]:
        province = province.strip()
        if len(province) != 1 or province not in PROVINCES:
            raise ReviewError(f"--province: {province!r} is not a province abbreviation such as 鄂")
        if not self.config.provider.code.strip():
            raise ReviewError("provider.code is not set in the config: the SMS format #接入商编号#网站备案号#备案状态# needs it")
        try:
            first, last = date.fromisoformat(starts_on), date.fromisoformat(ends_on)
            dates = sorted({date.fromisoformat(d).isoformat() for d in (reminders or [])})
        except ValueError as exc:
            raise ReviewError(f"dates must be YYYY-MM-DD: {exc}") from None
        if last < first:
            raise ReviewError(f"--to {ends_on} is before --from {starts_on}")
        if any(not first.isoformat() <= d <= last.isoformat() for d in dates):
            raise ReviewError("--remind dates must lie within the round")
        if end_of(ends_on) <= self.now:
            raise ReviewError(f"the round would already be over ({ends_on} has passed)")
        if not dates:
            dates = default_reminders(first, last)
        with self.store.transaction() as session:
            running = session.scalar(select(ReviewRound).where(ReviewRound.province == province, ReviewRound.state == OPEN))
            if running is not None:
                raise ReviewError(f"round {running.id} of {province} ({label(running)}) is still open")
            previous = session.scalar(select(ReviewRound).where(ReviewRound.province == province)
                                      .order_by(ReviewRound.id.desc()).limit(1))
            newest = session.scalar(select(func.max(RegistryImport.id)))
            round_ = ReviewRound(
                province=province, starts_on=first.isoformat(), ends_on=last.isoformat(), state=OPEN, opened_at=self.now,
                opened_by=actor, since_import_id=_baseline_import(previous),
                since=None if previous else datetime.combine(first - timedelta(days=365), time(0), SHANGHAI),
                import_id_at_open=newest, reminders=dates, reminders_sent=[], report={})
            if previous is not None and _baseline_import(previous) is None:
                round_.since_import_id, round_.since = None, as_utc(previous.opened_at)
            session.add(round_)
            session.flush()
            round_id = round_.id
        report = ReviewReport()
        self._refresh(round_id, report)
        self._notify(round_id, report, actor)
        with self.store.session() as session:
            return session.get(ReviewRound, round_id), report

    # the daily run
    def sweep(self, actor: str = "sweep") -> list[tuple[ReviewRound, ReviewReport]]:
        """Every open round: new and changed websites, their mails, reminders due, and the end of a round."""
        with self.store.session() as session:
            ids = list(session.scalars(select(ReviewRound.id).where(ReviewRound.state == OPEN).order_by(ReviewRound.id)))
        out = []
        for round_id in ids:
            report = ReviewReport()
            self.advance(round_id, report, actor)
            with self.store.session() as session:
                out.append((session.get(ReviewRound, round_id), report))
        return out

    def advance(self, round_id: int, report: ReviewReport, actor: str) -> None:
        round_ = self.get(round_id)
        if round_.state != OPEN:
            return
        if self.now >= end_of(round_.ends_on):
            self.close(round_id, report, actor)
            return
        self._refresh(round_id, report)
        self._notify(round_id, report, actor)
        self._remind(round_id, report, actor)

    def get(self, round_id: int) -> ReviewRound:
        with self.store.session() as session:
            round_ = session.get(ReviewRound, round_id) if 0 < round_id < 2**63 else None
        if round_ is None:
            raise ReviewError(f"no annual review round {round_id}")
        return round_

    def _refresh(self, round_id: int, report: ReviewReport) -> None:
        """Items for the province's websites, each with its status from the history (new ones added, changed
        ones due again, websites that left us dropped)."""
        code = self.config.provider.code.strip()
        with self.store.transaction() as session:
            round_ = session.get(ReviewRound, round_id)
            prefix = f"{round_.province}ICP备"
            sites = list(session.execute(
                select(Website, Subject.subject_number).join(Subject, Subject.id == Website.subject_id)
                .where(Website.website_number.startswith(prefix), Website.removed_at.is_(None))
            ))
            items = {i.website_number: i for i in session.scalars(select(ReviewItem).where(ReviewItem.round_id == round_id))}
            numbers = [w.website_number for w, _ in sites]
            by_website, by_subject = _history(session, round_, numbers, sorted({s for _, s in sites}))
            phones = _phones(session, {w.id: w.website_number for w, _ in sites})
            present = set()
            for website, subject_number in sites:
                status, why = derive_status(website, by_website.get(website.website_number, []),
                                            by_subject.get(subject_number, []))
                if status == CANCELLED_STATUS and not any(
                        (c.after or {}).get("status") == CANCELLED for c in by_website.get(website.website_number, [])):
                    continue  # cancelled before this round's baseline (or never live with us): nothing to report
                present.add(website.website_number)
                item = items.get(website.website_number)
                if item is None:
                    item = ReviewItem(round_id=round_id, website_number=website.website_number,
                                      subject_number=subject_number, status="", state=WAITING, sms_text="", phones=[],
                                      history={}, recipient="", done_source="")
                    session.add(item)
                    report.items += 1
                item.phones = phones.get(website.website_number, [])
                item.history = why
                if item.state == DONE:
                    continue
                if not status:
                    if item.state != WAITING:
                        item.state, item.status, item.sms_text = WAITING, "", ""
                    report.waiting += 1
                    continue
                if item.state in (WAITING, DROPPED) or status != item.status:
                    item.status, item.sms_text, item.state = status, sms_text(code, website.website_number, status), DUE
            for number, item in items.items():
                if number not in present and item.state not in (DONE, DROPPED):
                    item.state = DROPPED  # no longer filed with us (or cancelled before the baseline)

    def _notify(self, round_id: int, report: ReviewReport, actor: str) -> None:
        from scanner.cases import recipients_for

        if self.now.astimezone(SHANGHAI).date().isoformat() < self.get(round_id).starts_on:
            return  # a round opened ahead of its first day mails its customers on that day (the sweep)
        with self.store.session() as session:
            pending = list(session.execute(select(ReviewItem.id, ReviewItem.subject_number).where(
                ReviewItem.round_id == round_id, ReviewItem.state == DUE).order_by(ReviewItem.id)))
            recipients = recipients_for(session, {s for _, s in pending})
        by_recipient: dict[str, list[int]] = defaultdict(list)
        without = 0
        for item_id, subject_number in pending:
            recipient = recipients.get(subject_number, "")
            if recipient:
                by_recipient[recipient].append(item_id)
            else:
                without += 1
        if without:
            report.no_recipient += without
            with self.store.transaction() as session:
                row = session.get(ReviewRound, round_id)
                if without > int((row.report or {}).get("no_recipient", 0)):  # alert once, and again when it grows
                    row.report = {**(row.report or {}), "no_recipient": without}
                    raise_alert(session, self.config, self.now, "no_recipient",
                                f"年审轮次 {round_id}：{without} 个网站无法通知，备案主体未登记客户邮箱或负责人邮箱",
                                review_round=round_id)
        round_ = self.get(round_id)
        for recipient, ids in by_recipient.items():
            with self.store.transaction() as session:  # one customer per transaction: a rerun sends nothing twice
                items = list(session.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids), ReviewItem.state == DUE)
                                             .order_by(ReviewItem.website_number)))
                if not items:
                    continue
                waiting = list(session.scalars(select(ReviewItem).where(
                    ReviewItem.round_id == round_id, ReviewItem.state == WAITING,
                    ReviewItem.subject_number.in_({i.subject_number for i in items})).order_by(ReviewItem.website_number)))
                again = any(i.notified_at is not None for i in items)
                context = self._context(session, round_, items, waiting, again=again)
                rendered = render(self.config, "review", recipient, context, now=self.now)
                message = queue_message(rendered, "review", recipient, self.now, None, [])
                session.add(message)
                session.flush()
                for item in items:
                    item.state, item.recipient, item.notified_at, item.notice_id = NOTIFIED, recipient, self.now, message.id
                report.notified += len(items)
                report.messages += 1
            _kill_at("review_customer_queued")

    def _remind(self, round_id: int, report: ReviewReport, actor: str) -> None:
        round_ = self.get(round_id)
        today = self.now.astimezone(SHANGHAI).date().isoformat()
        due_dates = [d for d in round_.reminders if d <= today]
        if not due_dates:
            return
        since = datetime.combine(date.fromisoformat(due_dates[-1]), time(0), SHANGHAI)
        with self.store.session() as session:
            rows = list(session.execute(select(ReviewItem.id, ReviewItem.recipient, ReviewItem.notified_at,
                                               ReviewItem.reminded_at).where(
                ReviewItem.round_id == round_id, ReviewItem.state == NOTIFIED)))
        by_recipient: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            if row.recipient and as_utc(row.notified_at) < since and (row.reminded_at is None or as_utc(row.reminded_at) < since):
                by_recipient[row.recipient].append(row.id)
        for recipient, ids in by_recipient.items():
            with self.store.transaction() as session:
                items = list(session.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids), ReviewItem.state == NOTIFIED)
                                             .order_by(ReviewItem.website_number)))
                items = [i for i in items if i.reminded_at is None or as_utc(i.reminded_at) < since]
                if not items:
                    continue
                context = self._context(session, round_, items, [], again=False)
                rendered = render(self.config, "review_reminder", recipient, context, now=self.now)
                session.add(queue_message(rendered, "review_reminder", recipient, self.now, None, []))
                for item in items:
                    item.reminded_at = self.now
                report.reminded += len(items)
                report.messages += 1
        with self.store.transaction() as session:
            row = session.get(ReviewRound, round_id)
            row.reminders_sent = sorted(set(row.reminders_sent or []) | set(due_dates))

    def _context(self, session: Session, round_: ReviewRound, items: list[ReviewItem], waiting: list[ReviewItem],
                 *, again: bool) -> dict:
        names = dict(session.execute(select(Website.website_number, Website.name).where(
            Website.website_number.in_([i.website_number for i in items + waiting]))).all())
        subjects = dict(session.execute(select(Subject.subject_number, Subject.name).where(
            Subject.subject_number.in_({i.subject_number for i in items + waiting}))).all())
        rows = [{"website_number": i.website_number, "name": names.get(i.website_number, ""),
                 "subject": subjects.get(i.subject_number, ""), "status": i.status, "sms": i.sms_text,
                 "phones": i.phones or [], "changed_again": i.notified_at is not None} for i in items]
        return {"round": {"province": round_.province, "starts_on": round_.starts_on, "ends_on": round_.ends_on},
                "rows": rows, "waiting": [{"website_number": i.website_number, "name": names.get(i.website_number, "")}
                                          for i in waiting],
                "provider_code": self.config.provider.code.strip(), "platforms": PLATFORMS, "again": again,
                "status_notes": STATUS_NOTES,
                "deadline": f"{round_.ends_on} 24:00"}

    # completion
    def record_done(self, round_id: int, numbers: list[str], source: str, actor: str = "operator") -> ReviewReport:
        """Websites the bureau (or an operator) says are done; accepted also after the round ended (seed Q14)."""
        report = ReviewReport()
        wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
        self.get(round_id)
        with self.store.transaction() as session:
            items = {i.website_number: i for i in session.scalars(select(ReviewItem).where(
                ReviewItem.round_id == round_id, ReviewItem.website_number.in_(wanted)))} if wanted else {}
            closed_now = []
            for number in wanted:
                item = items.get(number)
                if item is None:
                    report.unknown.append(number)
                elif item.state == DONE:
                    report.already_done += 1
                else:
                    item.state, item.done_at, item.done_source = DONE, self.now, f"{source} ({actor})"[:500]
                    report.done += 1
                    closed_now.append(item)
            round_ = session.get(ReviewRound, round_id)
            if round_.state == CLOSED and closed_now:
                self._judge(session, round_, closed_now)
        return report

    def import_done(self, round_id: int, path: str | Path, actor: str = "operator") -> ReviewReport:
        return self.record_done(round_id, read_done_list(path), f"管局名单 {Path(path).name}", actor)

    # the end
    def close(self, round_id: int, report: ReviewReport | None = None, actor: str = "operator") -> ReviewReport:
        """After the round's last day: websites still open become review.not_done findings, then cases."""
        from scanner.cases import CaseBook

        report = report or ReviewReport()
        round_ = self.get(round_id)
        if round_.state == CLOSED:
            raise ReviewError(f"round {round_id} is already closed")
        if self.now < end_of(round_.ends_on):
            raise ReviewError(f"round {round_id} runs until {round_.ends_on} 24:00 (no early end: the bureau accepts SMS "
                              "until then)")
        self._refresh(round_id, report)
        with self.store.transaction() as session:
            round_ = session.get(ReviewRound, round_id)
            items = list(session.scalars(select(ReviewItem).where(ReviewItem.round_id == round_id)))
            self._judge(session, round_, [i for i in items if i.state != DROPPED])
            counts: dict[str, int] = defaultdict(int)
            for item in items:
                counts[item.state] += 1
            report.not_done = counts[NOTIFIED] + counts[DUE]
            round_.state, round_.closed_at = CLOSED, self.now
            round_.import_id_at_close = session.scalar(select(func.max(RegistryImport.id)))
            round_.report = {"closed_at": shanghai_iso(self.now), "by_state": dict(counts),
                             "not_done": sorted(i.website_number for i in items if i.state in (NOTIFIED, DUE))}
            raise_alert(session, self.config, self.now, "review_closed",
                        f"年审轮次 {round_id}（{label(round_)}）结束：{counts[DONE]} 个网站已完成，{report.not_done} 个未完成",
                        lines=round_.report["not_done"][:50], review_round=round_id)
        report.closed = True
        report.cases = CaseBook(self.config, self.store, now=self.now).reconcile(None, actor=f"annual review {round_id}").line()
        return report

    def _judge(self, session: Session, round_: ReviewRound, items: list[ReviewItem]) -> None:
        verdicts = []
        for item in items:
            view = ReviewItemView(item.website_number, label(round_), round_.ends_on, item.status,
                                  NOTIFIED if item.state == DUE else item.state, item.sms_text,
                                  shanghai_iso(item.done_at) or "")
            outcome = evaluate_workflow(CODE, view)
            for found in outcome.findings:
                found.evidence["round_id"] = round_.id
            verdicts.append(findings_store.Verdicts(item.subject_number, item.website_number, [outcome]))
        findings_store.apply(session, None, self.now, verdicts)


def _baseline_import(previous: ReviewRound | None) -> int | None:
    """The newest import the previous round had read when it ended: changes after it are this round's."""
    if previous is None:
        return None
    return previous.import_id_at_close if previous.import_id_at_close is not None else previous.import_id_at_open


def default_reminders(first: date, last: date) -> list[str]:
    """A month and a week before the end (those inside the round)."""
    candidates = {last - timedelta(days=30), last - timedelta(days=7)}
    return sorted(d.isoformat() for d in candidates if first < d < last)


def read_done_list(path: str | Path) -> list[str]:
    """Website numbers (鄂ICP备…号-N) anywhere in a CSV or XLSX file: the bureau's list of completed reviews."""
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"{path}: no such file")
    cells: list[str] = []
    if path.suffix.lower() == ".xlsx":
        try:
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells.extend(str(v) for v in row if v is not None)
            book.close()
        except Exception as exc:  # noqa: BLE001 - a broken workbook is the operator's problem, in one line
            raise ReviewError(f"{path}: not a readable XLSX file ({type(exc).__name__})") from None
    else:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ReviewError(f"{path}: neither UTF-8 nor GB18030 text")
        for row in csv.reader(io.StringIO(text)):
            cells.extend(row)
    numbers = []
    for cell in cells:
        for number in find_numbers(normalise(cell)):
            if number.seq and number.kind == "备":
                numbers.append(number.canonical)
    if not numbers and cells:
        raise ReviewError(f"{path}: no website number (…ICP备…号-N) found")
    return list(dict.fromkeys(numbers))


def item_dict(item: ReviewItem) -> dict:
    return {"id": item.id, "website_number": item.website_number, "subject_number": item.subject_number,
            "status": item.status, "state": item.state, "sms_text": item.sms_text, "phones": item.phones or [],
            "recipient": item.recipient, "notified_at": shanghai_iso(item.notified_at),
            "reminded_at": shanghai_iso(item.reminded_at), "done_at": shanghai_iso(item.done_at),
            "done_source": item.done_source, "history": item.history or {}}


def round_dict(session: Session, round_: ReviewRound) -> dict:
    counts = dict(session.execute(select(ReviewItem.state, func.count()).where(ReviewItem.round_id == round_.id)
                                  .group_by(ReviewItem.state)).all())
    return {"id": round_.id, "province": round_.province, "from": round_.starts_on, "to": round_.ends_on,
            "state": round_.state, "opened_at": shanghai_iso(round_.opened_at), "opened_by": round_.opened_by,
            "closed_at": shanghai_iso(round_.closed_at), "reminders": round_.reminders or [],
            "reminders_sent": round_.reminders_sent or [], "items_by_state": {s: counts.get(s, 0) for s in ITEM_STATES},
            "report": round_.report or {}}

