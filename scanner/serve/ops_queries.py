"""What the console's dashboard counts: open cases by state, check and province; due this week; overdue and
escalated; messages sent and failed; the last scan's crawl-health verdict and the failure-share trend."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import SHANGHAI
from scanner.cases import ACTIVE, ESCALATED, OVERDUE
from scanner.health import failure_share
from scanner.notices.compose import local_time
from scanner.store.db import shanghai_iso
from scanner.store.models import Case, OutboxMessage, Scan, Subject
from scanner.targets import Selector

CUSTOMER_KINDS = ("notice", "reminder", "resolved")
HEALTH_SCANS = 10


def week_end(now: datetime) -> datetime:
    """The end of this week (Sunday 23:59:59, Asia/Shanghai), as the case list's deadline filter means it."""
    today = now.astimezone(SHANGHAI).date()
    return datetime.combine(today + timedelta(days=6 - today.weekday()), time(23, 59, 59), SHANGHAI)


def dashboard(session: Session, now: datetime) -> dict:
    active = Case.state.in_(ACTIVE)
    by_state = dict(session.execute(select(Case.state, func.count()).where(active).group_by(Case.state)).all())
    by_check = session.execute(select(Case.check, func.count()).where(active).group_by(Case.check)
                               .order_by(func.count().desc(), Case.check)).all()
    by_province = session.execute(
        select(Subject.province, func.count()).select_from(Case)
        .outerjoin(Subject, Subject.subject_number == Case.subject_number).where(active)
        .group_by(Subject.province).order_by(func.count().desc(), Subject.province)).all()
    end = week_end(now)
    # what the case list shows for state=active&deadline_before=<Sunday>: the link and the count agree
    due = session.scalar(select(func.count()).select_from(Case).where(
        active, Case.deadline.is_not(None), Case.deadline <= end)) or 0
    messages = dict(session.execute(select(OutboxMessage.state, func.count())
                                    .where(OutboxMessage.kind.in_(CUSTOMER_KINDS)).group_by(OutboxMessage.state)).all())
    week_ago = now - timedelta(days=7)
    sent_week = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind.in_(CUSTOMER_KINDS), OutboxMessage.state == "sent", OutboxMessage.sent_at >= week_ago)) or 0
    failed = [{"id": m.id, "kind": m.kind, "recipient": m.recipient, "error": m.last_error,
               "created_at": local_time(m.created_at)} for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.state == "failed").order_by(OutboxMessage.id.desc()).limit(10))]
    return {
        "active": sum(by_state.values()), "by_state": by_state,
        "by_check": [(code, n) for code, n in by_check], "by_province": [(p or "", n) for p, n in by_province],
        "due_week": due, "week_end": end.date().isoformat(),
        "overdue": by_state.get(OVERDUE, 0), "escalated": by_state.get(ESCALATED, 0),
        "messages": {"sent": messages.get("sent", 0), "failed": messages.get("failed", 0),
                     "waiting": sum(n for s, n in messages.items() if s not in ("sent", "failed")),
                     "sent_week": sent_week},
        "failed_messages": failed,
        "health": health_trend(session),
    }


def health_trend(session: Session) -> dict:
    """The last finished scan's verdict, and the failure share of the recent full scans (oldest first)."""
    recent = list(session.scalars(select(Scan).where(Scan.state == "finished").order_by(Scan.id.desc()).limit(50)))
    last = recent[0] if recent else None
    points = []
    for scan in recent:
        if not Selector.from_dict(scan.selector).everything:
            continue
        share, observed = failure_share(scan.stats or {})
        verdict = (scan.stats or {}).get("health") or {}
        points.append({"scan_id": scan.id, "date": shanghai_iso(scan.finished_at or scan.started_at)[:16].replace("T", " "),
                       "share": share, "observed": observed, "held": bool(verdict.get("held")),
                       "released": bool(verdict.get("released"))})
        if len(points) >= HEALTH_SCANS:
            break
    raw = ((last.stats or {}).get("health") or {}) if last else {}
    verdict = {"assessed": bool(raw), "held": bool(raw.get("held")), "released": bool(raw.get("released")),
               "baseline": raw.get("baseline"), "threshold": raw.get("threshold")}
    return {"last": {"scan_id": last.id, "finished_at": shanghai_iso(last.finished_at)[:16].replace("T", " "),
                     "share": failure_share(last.stats or {})[0], "verdict": verdict} if last else None,
            "points": list(reversed(points))}
