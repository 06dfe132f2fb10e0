"""Which websites a scan covers, read from the store in batches (a million records never sit in memory)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select

from core.config import Config
from core.records import PreApproval, SiteRecord
from scanner.registry.records import CANCELLED, homepage_host
from scanner.store.db import Store
from scanner.store.models import Domain, Observation, Subject, Website
from scanner.store.models import PreApproval as PreApprovalRow


@dataclass
class Selector:
    domains: list[str] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    @property
    def everything(self) -> bool:
        return not (self.domains or self.websites or self.subjects)

    def as_dict(self) -> dict:
        return {"domains": sorted(self.domains), "websites": sorted(self.websites), "subjects": sorted(self.subjects)}

    @classmethod
    def from_dict(cls, data: dict | None) -> Selector:
        data = data or {}
        return cls(list(data.get("domains", [])), list(data.get("websites", [])), list(data.get("subjects", [])))


@dataclass(frozen=True)
class Shard:
    """A disjoint part of one scan's websites: those whose id is `index` modulo `count`. The shards 0..count-1
    of a selection cover it exactly once, whatever has already been observed, so a resumed scan may split the
    remaining websites differently from the interrupted run (each website is crawled by whoever takes it first
    and never again: the observed ones are skipped)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}")

    @property
    def whole(self) -> bool:
        return self.count == 1

    def conditions(self) -> list:
        return [] if self.whole else [Website.id % self.count == self.index]

    def holds(self, website_id: int) -> bool:
        return website_id % self.count == self.index


WHOLE = Shard()


def _conditions(selector: Selector) -> list:
    live = [Website.removed_at.is_(None), Website.status != CANCELLED]
    if selector.everything:
        return live
    alternatives = []
    if selector.websites:
        alternatives.append(Website.website_number.in_(selector.websites))
    if selector.subjects:
        alternatives.append(
            Website.subject_id.in_(select(Subject.id).where(Subject.subject_number.in_(selector.subjects)))
        )
    if selector.domains:
        names = [d.lower().rstrip(".") for d in selector.domains]
        alternatives.append(
            exists().where(Domain.website_id == Website.id, Domain.name.in_(names), Domain.removed_at.is_(None))
        )
    return [*live, or_(*alternatives)]


def count(store: Store, selector: Selector, scan_id: int | None = None) -> tuple[int, int]:
    """(websites selected, already observed in this scan)."""
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(Website).where(*_conditions(selector))) or 0
        done = 0
        if scan_id is not None:
            done = session.scalar(select(func.count()).select_from(Observation).where(Observation.scan_id == scan_id)) or 0
    return total, done


def selected_subject_numbers(store: Store, selector: Selector) -> list[str] | None:
    """Subjects whose registry checks this scan runs; None means all of them."""
    if selector.everything:
        return None
    with store.session() as session:
        query = select(Subject.subject_number).join(Website, Website.subject_id == Subject.id).where(*_conditions(selector))
        numbers = set(session.scalars(query))
        numbers.update(selector.subjects)
    return sorted(numbers)


def _not_done(scan_id: int):
    return ~exists().where(and_(Observation.scan_id == scan_id, Observation.website_id == Website.id))


def iter_batches(store: Store, config: Config, selector: Selector, scan_id: int, size: int = 500,
                 shard: Shard = WHOLE) -> Iterator[list[SiteRecord]]:
    """Websites of the selection (and of the shard) not yet observed in this scan, in id order, `size` at a time."""
    last_id = 0
    conditions = [*_conditions(selector), *shard.conditions()]
    while True:
        with store.session() as session:
            rows = session.execute(
                select(Website, Subject)
                .join(Subject, Subject.id == Website.subject_id)
                .where(Website.id > last_id, _not_done(scan_id), *conditions)
                .order_by(Website.id)
                .limit(size)
            ).all()
            if not rows:
                return
            batch = _records(session, config, rows)
        last_id = batch[-1].website_id
        yield batch


def iter_ids(store: Store, selector: Selector, scan_id: int, size: int = 1000, after: int = 0) -> Iterator[list[int]]:
    """The ids of iter_batches (the selection's websites not yet observed in this scan, after `after`), only the
    ids: what a distributed scan puts in its queue."""
    last_id = after
    while True:
        with store.session() as session:
            ids = list(session.scalars(
                select(Website.id).where(Website.id > last_id, _not_done(scan_id), *_conditions(selector))
                .order_by(Website.id).limit(size)
            ))
        if not ids:
            return
        last_id = ids[-1]
        yield ids


def records_for(store: Store, config: Config, selector: Selector, scan_id: int, ids: list[int]) -> list[SiteRecord]:
    """The records of these websites, as iter_batches makes them, for those still in the selection and not yet
    observed in this scan (a website leased again after its result was stored is not crawled twice)."""
    if not ids:
        return []
    with store.session() as session:
        rows = session.execute(
            select(Website, Subject)
            .join(Subject, Subject.id == Website.subject_id)
            .where(Website.id.in_(ids), _not_done(scan_id), *_conditions(selector))
            .order_by(Website.id)
        ).all()
        return _records(session, config, rows) if rows else []


def _records(session, config: Config, rows: list) -> list[SiteRecord]:
    """SiteRecords of (Website, Subject) rows, with their live domains and pre-approvals."""
    strict = set(config.filing.require_website_number)
    ids = [w.id for w, _ in rows]
    domains: dict[int, list[str]] = defaultdict(list)
    for website_id, name in session.execute(
        select(Domain.website_id, Domain.name)
        .where(Domain.website_id.in_(ids), Domain.removed_at.is_(None))
        .order_by(Domain.website_id, Domain.position)
    ):
        domains[website_id].append(name)
    approvals: dict[int, list[PreApproval]] = defaultdict(list)
    for website_id, category, number in session.execute(
        select(PreApprovalRow.website_id, PreApprovalRow.category, PreApprovalRow.number).where(
            PreApprovalRow.website_id.in_(ids)
        )
    ):
        approvals[website_id].append(PreApproval(category, number))
    batch = []
    for website, subject in rows:
        names = domains.get(website.id, [])
        batch.append(
            SiteRecord(
                website_id=website.id,
                website_number=website.website_number,
                website_name=website.name,
                status=website.status,
                domains=names,
                homepage_host=homepage_host(website.homepage, names),
                subject_number=subject.subject_number,
                subject_name=subject.name,
                nature=subject.nature,
                province=subject.province,
                service_content=website.service_content,
                pre_approvals=approvals.get(website.id, []),
                require_website_number=subject.subject_number[:1] in strict,
                approved_at=website.approved_at or "",
                first_seen=website.created_at.isoformat() if website.created_at else "",
                expiry_warn_days=config.domains.expiry_warn_days,
            )
        )
    return batch
