"""Messages queued for delivery: rendered once into the outbox table (notices/deliver.py sends them), and
operator alerts, which are recorded and, when `notices.operator_email` is set, mailed too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.config import Config
from scanner.notices.compose import render
from scanner.store.models import Alert, OutboxMessage


def raise_alert(session: Session, config: Config, now: datetime, kind: str, message: str, *,
                scan_id: int | None = None, lines: list[str] | None = None, **detail) -> int:
    """Record an operator alert, and mail it to `notices.operator_email` when one is set. Returns messages queued."""
    session.add(Alert(created_at=now, kind=kind, scan_id=scan_id, message=message, detail=detail))
    if not config.notices.operator_email:
        return 0
    rendered = render(config, "alert", config.notices.operator_email, {"title": message, "lines": lines or []}, now=now)
    session.add(queue_message(rendered, "alert", config.notices.operator_email, now, scan_id, []))
    return 1


def queue_message(rendered, kind: str, recipient: str, now: datetime, scan_id: int | None, case_ids: list[int]) -> OutboxMessage:
    return OutboxMessage(message_id=rendered.message_id, kind=kind, recipient=recipient, subject=rendered.subject,
                         raw=rendered.raw, state="pending", attempts=0, next_attempt_at=now, last_error="",
                         created_at=now, scan_id=scan_id, case_ids=case_ids)
