"""What the customer self-service page shows and does (issue 23): one recipient's cases with the problem, the
evidence, the remediation advice and the deadline; and 申请复查, a rescan of the case's website through the
operators' rescan queue (scanner/rescans.py), rate-limited per case and per recipient.

A customer only ever sees and acts on cases whose recipient is the link's recipient: every query here is
filtered by it, and a case of anyone else is "not found", exactly like a case that does not exist.

The rescan's scan reconciles the cases as any scan does: a case whose finding is gone resolves, and its
confirmation mail is queued in the outbox in the same transaction (scanner/cases.py), so it is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from checks import get as declared
from core.config import Config
from scanner.cases import ACTIVE, RESOLVED, WAIVED
from scanner.notices.compose import local_time
from scanner.notices.items import build_items, case_key_of
from scanner.rescans import FAILED, FINISHED, Ask, RescanError, enqueue
from scanner.store.db import Store, as_utc
from scanner.store.models import (
    Case,
    CaseEvent,
    CustomerLink,
    CustomerRescan,
    Finding,
    RescanRequest,
    Screenshot,
)
from scanner.store.screenshots import PARTS, image, parts_by_id

STATE_LABELS = {"open": "待通知", "notified": "待整改", "extended": "已延期", "overdue": "已逾期",
                "escalated": "已转交处理", RESOLVED: "已整改", WAIVED: "无需整改"}
MAX_SNIPPET = 200
AUDIT_REASON = "customer requested a re-check (申请复查)"


class DeskError(Exception):
    """A request the page refuses; str() is the Chinese sentence shown, `status` the HTTP code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    case_interval: timedelta
    per_day: int

    @classmethod
    def of(cls, config: Config) -> Limits:
        return cls(timedelta(minutes=config.customer.case_interval_minutes), config.customer.per_day)


def snippets(evidence: object, out: list[str] | None = None) -> list[str]:
    """The page text a check quoted (`snippet`/`snippets` anywhere in the evidence), at most three."""
    out = [] if out is None else out
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            if key in ("snippet", "snippets"):
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str) and text.strip() and text not in out and len(out) < 3:
                        out.append(text.strip()[:MAX_SNIPPET])
            else:
                snippets(value, out)
    elif isinstance(evidence, list):
        for value in evidence:
            snippets(value, out)
    return out


def _evidence(rows: list[Finding]) -> list[dict]:
    return [{"summary": row.summary, "snippets": snippets(row.evidence), "seen": local_time(as_utc(row.last_seen)),
             } for row in rows]


def cases_of(store: Store, link: CustomerLink, now: datetime) -> tuple[list[dict], list[dict]]:
    """(open cases, cases closed since the link was made) of the link's recipient, each with its latest 申请复查."""
    with store.session() as session:
        cases = list(session.scalars(select(Case).where(
            Case.recipient == link.recipient,
            Case.active_key.is_not(None) | (Case.closed_at >= link.created_at)).order_by(Case.id)))
        items = {item["case_id"]: item for item in build_items(session, cases, include_closed=True)}
        keys = {case.key for case in cases}
        current: dict[str, list[Finding]] = {}
        if keys:
            for row in session.scalars(select(Finding).where(Finding.closed_at.is_(None), Finding.subject_number.in_(
                    {c.subject_number for c in cases})).order_by(Finding.id)):
                if case_key_of(row.key) in keys:
                    current.setdefault(case_key_of(row.key), []).append(row)
        asked = _latest_requests(session, [c.id for c in cases])
        parts = parts_by_id(session, {item["screenshot_id"] for item in items.values() if item["screenshot_id"]})
        rescans = {r.id: r for r in session.scalars(select(RescanRequest).where(
            RescanRequest.id.in_([a.rescan_id for a in asked.values()])))} if asked else {}
        out_open, out_closed = [], []
        for case in cases:
            request = asked.get(case.id)
            view = {**items[case.id], "state": case.state, "state_label": STATE_LABELS.get(case.state, case.state),
                    "active": case.active_key is not None, "closed": local_time(as_utc(case.closed_at)),
                    "evidence": _evidence(current.get(case.key, [])),
                    "screenshot": {"id": items[case.id]["screenshot_id"],
                                   "parts": parts.get(items[case.id]["screenshot_id"], [])},
                    "request": _request_view(request, rescans.get(request.rescan_id) if request else None, case,
                                             current.get(case.key, []))}
            (out_open if view["active"] else out_closed).append(view)
    return out_open, out_closed


def screenshot_of(store: Store, link: CustomerLink, shot_id: int, part: str) -> bytes | None:
    """One image of an evidence screenshot, for the link's recipient only: the screenshot is of a website one of
    their cases is about; anything else is None (answered as not found)."""
    if part not in PARTS or not 0 < shot_id < 2**63:
        return None
    with store.session() as session:
        number = session.scalar(select(Screenshot.website_number).where(Screenshot.id == shot_id))
        if not number or session.scalar(select(func.count()).select_from(Case).where(
                Case.recipient == link.recipient, Case.website_number == number)) == 0:
            return None
        return image(session, shot_id, part)


def _latest_requests(session, case_ids: list[int]) -> dict[int, CustomerRescan]:
    out: dict[int, CustomerRescan] = {}
    if case_ids:
        for row in session.scalars(select(CustomerRescan).where(CustomerRescan.case_id.in_(case_ids))
                                   .order_by(CustomerRescan.id)):
            out[row.case_id] = row
    return out


def _request_view(request: CustomerRescan | None, rescan: RescanRequest | None, case: Case,
                  findings: list[Finding]) -> dict | None:
    """The latest 申请复查 and what came of it: pending, resolved, still found (with the new scan's evidence), failed."""
    if request is None:
        return None
    view = {"at": local_time(as_utc(request.requested_at)), "outcome": "pending", "evidence": []}
    if case.active_key is None:  # closed, possibly by the rescan's case run before the queue marks it finished
        resolved = case.state == RESOLVED and as_utc(case.closed_at) >= as_utc(request.requested_at)
        return {**view, "outcome": "resolved" if resolved else "closed"}
    if rescan is None or rescan.state not in (FINISHED, FAILED):
        return view
    if rescan.state == FAILED:
        return {**view, "outcome": "failed"}
    fresh = [row for row in findings if rescan.scan_id is not None and row.last_scan_id == rescan.scan_id]
    return {**view, "outcome": "still_found", "finished": local_time(as_utc(rescan.finished_at)),
            "evidence": _evidence(fresh or findings)}


def _one_at_a_time(session, recipient: str) -> None:
    """One recipient's requests are checked against the limits one at a time: SQLite's transactions take the
    write lock up front (Store.transaction); PostgreSQL takes a lock on the recipient for the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:recipient))"), {"recipient": recipient})


def request_rescan(config: Config, store: Store, link: CustomerLink, case_id: int, now: datetime) -> CustomerRescan:
    """Queue a rescan of the case's website (or subject) for the link's recipient, within the rate limits."""
    limits = Limits.of(config)
    with store.transaction() as session:
        _one_at_a_time(session, link.recipient)
        case = session.get(Case, case_id) if 0 < case_id < 2**63 else None
        if case is None or case.recipient != link.recipient:
            raise DeskError("没有找到这个案件", 404)
        if case.state not in ACTIVE:
            raise DeskError(f"该问题已{STATE_LABELS.get(case.state, case.state)}，无需复查", 409)
        last = session.scalars(select(CustomerRescan).where(CustomerRescan.case_id == case.id)
                               .order_by(CustomerRescan.id.desc()).limit(1)).first()
        if last is not None:
            rescan = session.get(RescanRequest, last.rescan_id)
            if rescan is not None and rescan.state not in (FINISHED, FAILED):
                raise DeskError("该问题的复查正在进行中，请稍候查看结果", 429)
            again = as_utc(last.requested_at) + limits.case_interval
            if now < again:
                raise DeskError(f"同一问题每 {config.customer.case_interval_minutes} 分钟可申请复查一次，"
                                f"请于 {local_time(again)} 之后再试", 429)
        recent = session.scalar(select(func.count()).select_from(CustomerRescan).where(
            CustomerRescan.recipient == link.recipient, CustomerRescan.requested_at > now - timedelta(days=1)))
        if recent >= limits.per_day:
            raise DeskError(f"您在 24 小时内已申请复查 {recent} 次，已达上限（{limits.per_day} 次），请明天再试", 429)
        ask = Ask(websites=[case.website_number]) if case.website_number else Ask(subjects=[case.subject_number])
        what = case.website_number or case.subject_number
        # the request is counted in the transaction that checked the limits, so two clicks at once cannot both
        # pass them; its rescan is filled in below (a crash in between leaves it counted, without a rescan)
        reserved = CustomerRescan(case_id=case.id, recipient=link.recipient, link_id=link.id, rescan_id=0,
                                  requested_at=now)
        session.add(reserved)
        session.flush()
        reserved_id = reserved.id
    try:
        rescan, _created = enqueue(store, ask, kind="customer", by=f"customer {link.recipient}"[:120])
    except RescanError:
        with store.transaction() as session:
            session.delete(session.get(CustomerRescan, reserved_id))
        raise DeskError(f"{what} 当前无法复查（备案已变更或注销），请回复通知邮件联系我们", 409) from None
    with store.transaction() as session:
        row = session.get(CustomerRescan, reserved_id)
        row.rescan_id = rescan.id
        case = session.get(Case, case_id)
        session.add(CaseEvent(case_id=case_id, at=now, from_state=case.state, to_state=case.state,
                              actor=f"customer {link.recipient}"[:120], reason=AUDIT_REASON,
                              detail={"rescan_id": rescan.id, "link_id": link.id,
                                      "check": case.check, "title": declared(case.check).title}))
        session.flush()
        session.expunge(row)
    return row
