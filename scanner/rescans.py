"""The scan queue: nightly scans, operator rescans and customers' 申请复查 (scanner/customer_desk.py), kept in the
database so they survive a restart.

An operator asks by domains, website numbers, subject numbers, check codes (the websites with open
findings of those codes) or "every open case"; the request is turned into a plain Selector when it is
queued, so what runs is fixed and visible. The same selector is never queued twice nor run twice at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from checks import codes
from core import clock
from scanner.store.db import Store
from scanner.store.models import Case, Finding, RescanRequest
from scanner.targets import Selector, count

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"


class RescanError(Exception):
    """The request cannot be queued (nothing matches, an unknown code); one line, a 4xx for the API."""


@dataclass
class Ask:
    domains: list[str] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    open_cases: bool = False

    @property
    def everything(self) -> bool:
        return not (self.domains or self.websites or self.subjects or self.checks or self.open_cases)

    def as_dict(self) -> dict:
        return {"domains": self.domains, "websites": self.websites, "subjects": self.subjects,
                "checks": self.checks, "open_cases": self.open_cases}


def resolve(store: Store, ask: Ask) -> Selector:
    unknown = [code for code in ask.checks if code not in codes()]
    if unknown:
        raise RescanError(f"checks: unknown check code {unknown[0]!r}")
    websites, subjects = set(ask.websites), set(ask.subjects)
    with store.session() as session:
        if ask.checks:
            for website, subject in session.execute(
                select(Finding.website_number, Finding.subject_number).where(
                    Finding.check.in_(ask.checks), Finding.closed_at.is_(None))
            ):
                (websites.add(website) if website else subjects.add(subject))
        if ask.open_cases:
            for website, subject in session.execute(
                select(Case.website_number, Case.subject_number).where(Case.active_key.is_not(None))
            ):
                (websites.add(website) if website else subjects.add(subject))
    selector = Selector(sorted(set(ask.domains)), sorted(websites), sorted(subjects))
    if not ask.everything:
        if selector.everything:
            raise RescanError("nothing to rescan: no open finding or case matches the request")
        total, _ = count(store, selector)
        if total == 0:
            raise RescanError("nothing to rescan: no filed website matches the selection")
    return selector


def enqueue(store: Store, ask: Ask, *, kind: str = "operator", by: str = "") -> tuple[RescanRequest, bool]:
    """(request, created). A request for a selector already queued returns that one instead."""
    selector = resolve(store, ask).as_dict()
    with store.transaction() as session:
        for row in session.scalars(select(RescanRequest).where(RescanRequest.state == QUEUED)):
            if row.selector == selector:
                return row, False
        row = RescanRequest(kind=kind, selector=selector, request=ask.as_dict(), state=QUEUED,
                            requested_at=clock.now(), requested_by=by or kind)
        session.add(row)
        session.flush()
        return row, True


def claim_next(store: Store) -> RescanRequest | None:
    """The oldest queued request whose selector is not running now, marked running."""
    with store.transaction() as session:
        running = [row.selector for row in session.scalars(select(RescanRequest).where(RescanRequest.state == RUNNING))]
        for row in session.scalars(select(RescanRequest).where(RescanRequest.state == QUEUED).order_by(RescanRequest.id)):
            if row.selector in running:
                continue
            row.state, row.started_at, row.error = RUNNING, clock.now(), ""
            return row
    return None


def finish(store: Store, request_id: int, state: str, error: str = "") -> None:
    with store.transaction() as session:
        row = session.get(RescanRequest, request_id)
        row.state, row.finished_at, row.error = state, clock.now(), error[:1000]


def attach_scan(store: Store, request_id: int, scan_id: int) -> None:
    with store.transaction() as session:
        session.execute(update(RescanRequest).where(RescanRequest.id == request_id).values(scan_id=scan_id))


def requeue_interrupted(store: Store) -> int:
    """Requests left running by a server that stopped: queued again (their scan resumes where it stopped)."""
    with store.transaction() as session:
        return session.execute(
            update(RescanRequest).where(RescanRequest.state == RUNNING).values(state=QUEUED)
        ).rowcount


def as_dict(row: RescanRequest) -> dict:
    from scanner.store.db import shanghai_iso

    return {"id": row.id, "kind": row.kind, "state": row.state, "selector": row.selector, "request": row.request,
            "requested_at": shanghai_iso(row.requested_at), "requested_by": row.requested_by,
            "started_at": shanghai_iso(row.started_at), "finished_at": shanghai_iso(row.finished_at),
            "scan_id": row.scan_id, "error": row.error or None}
