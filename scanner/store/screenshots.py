"""Evidence screenshots in the store: written by the scan (spiders.screenshot), read by the console, swept.

Kept in the database, beside the observations they illustrate, not in a file store: the scan's workers, the
console and the API already share the database (SQLite or PostgreSQL, possibly on another host), so there is
no second place to back up, mount or keep consistent, and a website's evidence is deleted in the same
transaction that decides it expired. The volume is bounded: at most `screenshots.max_per_scan` websites per
scan, two JPEG images of at most `screenshots.max_kb` (≤ 150 KB) each, only for websites with a filing.* or
content.* finding, swept `retention_days` after their last such case closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.config import Config
from scanner.store.db import Store, retrying
from scanner.store.models import Case, Screenshot

PARTS = ("viewport", "footer")
EVIDENCE_PREFIXES = ("filing.", "content.")
PART_LABELS = {"viewport": "首屏", "footer": "页脚区域"}


def save(store: Store, scan_id: int, shot) -> None:
    """Store one screenshot outcome (spiders.screenshot.Shot) of `scan_id`, replacing one the same scan took
    before (a resumed scan)."""
    def write() -> None:
        with store.transaction() as session:
            session.execute(delete(Screenshot).where(Screenshot.scan_id == scan_id,
                                                     Screenshot.website_number == shot.website_number))
            session.add(Screenshot(
                scan_id=scan_id, website_number=shot.website_number, url=shot.url[:2000], taken_at=clock.now(),
                state=shot.state, reason=shot.reason[:500], codes=list(shot.codes),
                viewport=shot.images.get("viewport"), footer=shot.images.get("footer"),
                size_bytes=sum(len(v) for v in shot.images.values()),
                detail={"ms": shot.ms, "blocked": list(shot.blocked)[:10],
                        "sizes": {k: len(v) for k, v in shot.images.items()}}))

    retrying(write)


def for_website(session: Session, website_number: str, limit: int = 5) -> list[dict]:
    """The website's latest screenshots, newest first, without their images (the console links to those)."""
    rows = session.execute(
        select(Screenshot.id, Screenshot.scan_id, Screenshot.url, Screenshot.taken_at, Screenshot.state,
               Screenshot.reason, Screenshot.codes, Screenshot.detail)
        .where(Screenshot.website_number == website_number).order_by(Screenshot.id.desc()).limit(limit)
    ).all()
    return [{"id": r.id, "scan_id": r.scan_id, "url": r.url, "taken_at": r.taken_at, "state": r.state,
             "reason": r.reason, "codes": r.codes or [], "parts": parts_of(r.detail),
             "sizes": (r.detail or {}).get("sizes", {}), "blocked": (r.detail or {}).get("blocked", [])} for r in rows]


def parts_of(detail: dict | None) -> list[str]:
    """The images a screenshot row has (viewport, footer), from its detail's sizes."""
    sizes = (detail or {}).get("sizes") or {}
    return [part for part in PARTS if sizes.get(part)]


def parts_by_id(session: Session, shot_ids: set[int]) -> dict[int, list[str]]:
    """screenshot id -> the images it has."""
    if not shot_ids:
        return {}
    rows = session.execute(select(Screenshot.id, Screenshot.detail).where(Screenshot.id.in_(shot_ids))).all()
    return {shot_id: parts_of(detail) for shot_id, detail in rows}


def latest_taken(session: Session, website_numbers: set[str]) -> dict[str, int]:
    """website number -> id of its latest screenshot with images."""
    if not website_numbers:
        return {}
    rows = session.execute(select(Screenshot.website_number, func.max(Screenshot.id))
                           .where(Screenshot.website_number.in_(website_numbers), Screenshot.state == "taken")
                           .group_by(Screenshot.website_number)).all()
    return {number: shot_id for number, shot_id in rows}


def image(session: Session, shot_id: int, part: str) -> bytes | None:
    """One image of a screenshot, or None."""
    if part not in PARTS:
        return None
    column = Screenshot.viewport if part == "viewport" else Screenshot.footer
    return session.scalar(select(column).where(Screenshot.id == shot_id))


def expired(now: datetime, retention_days: int):
    """The SQL condition of a screenshot past its keeping: older than the retention period, and its website has
    no filing.*/content.* case that is open or closed within the retention period."""
    cutoff = now - timedelta(days=retention_days)
    evidence_case = or_(*(Case.check.startswith(prefix) for prefix in EVIDENCE_PREFIXES))
    kept_by_case = exists().where(and_(Case.website_number == Screenshot.website_number, evidence_case,
                                       or_(Case.closed_at.is_(None), Case.closed_at > cutoff)))
    return and_(Screenshot.taken_at < cutoff, ~kept_by_case)


def sweep(config: Config, store: Store, now: datetime | None = None) -> int:
    """Delete the screenshots past their keeping (see `expired`); returns how many."""
    moment = now or clock.now()

    def work() -> int:
        with store.transaction() as session:
            return session.execute(delete(Screenshot).where(expired(moment, config.screenshots.retention_days))).rowcount

    return retrying(work)
