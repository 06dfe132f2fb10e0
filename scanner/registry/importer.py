"""Upsert parsed registry records into the store, keyed by subject and website number.

One transaction per file: either the whole file lands or nothing does. Records that disappear from a
re-import are marked removed (never deleted), and every change is written to `registry_changes` so the
annual review can tell what moved between imports. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select, update

from scanner.registry.parse import read_registry
from scanner.registry.records import SubjectRecord, WebsiteRecord
from scanner.store.db import Store, utcnow
from scanner.store.models import (
    Contact,
    Domain,
    PreApproval,
    RegistryChange,
    RegistryImport,
    Subject,
    Website,
)

_CHUNK = 2000


class MassRemovalError(Exception):
    """The file would mark more of the stored registry removed than `max_removal_share` allows."""


@dataclass
class ImportResult:
    import_id: int | None = None
    subjects: int = 0
    websites: int = 0
    domains: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.counts.values())

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v) or "no changes"
        return f"{self.subjects} subjects, {self.websites} websites, {self.domains} domains in file; {parts}"


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_returning_ids(conn: Connection, table, rows: list[dict]) -> list[int]:
    ids: list[int] = []
    for chunk in _chunks(rows):
        result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk)
        ids.extend(row[0] for row in result)
    return ids


def _bulk_insert(conn: Connection, table, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        conn.execute(insert(table), chunk)


def _contact_row(subject_id: int, website_id: int | None, role: str, contact) -> dict:
    return {
        "subject_id": subject_id,
        "website_id": website_id,
        "role": role,
        "name": contact.name,
        "mobile": contact.mobile,
        "phone": contact.phone,
        "email": contact.email,
    }


def _subject_row(record: SubjectRecord, now: datetime) -> dict:
    return {
        "subject_number": record.subject_number,
        "name": record.name,
        "nature": record.nature,
        "certificate_type": record.certificate_type,
        "certificate_number": record.certificate_number,
        "province": record.province,
        "address": record.address,
        "customer_email": record.customer_email,
        "extra": record.extra,
        "content": record.content(),
        "fingerprint": record.fingerprint(),
        "updated_at": now,
        "removed_at": None,
    }


def _website_row(record: WebsiteRecord, subject_id: int, now: datetime) -> dict:
    return {
        "subject_id": subject_id,
        "website_number": record.website_number,
        "name": record.name,
        "homepage": record.homepage,
        "service_content": record.service_content,
        "status": record.status,
        "provider_code": record.provider_code,
        "approved_at": record.approved_at,
        "extra": record.extra,
        "content": record.content(),
        "fingerprint": record.fingerprint(),
        "updated_at": now,
        "removed_at": None,
    }


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


class _Importer:
    def __init__(self, conn: Connection, now: datetime, max_removal_share: float | None = None) -> None:
        self.conn = conn
        self.now = now
        self.max_removal_share = max_removal_share
        self.changes: list[dict] = []
        self.counts = {
            "subjects added": 0, "subjects changed": 0, "subjects removed": 0, "subjects restored": 0,
            "websites added": 0, "websites changed": 0, "websites removed": 0, "websites restored": 0,
            "domains added": 0, "domains removed": 0,
        }

    def _change(self, kind: str, number: str, change: str, before: dict | None, after: dict | None) -> None:
        self.changes.append({"kind": kind, "number": number, "change": change, "before": before, "after": after})
        self.counts[f"{kind}s {change}"] += 1

    def run(self, subjects: list[SubjectRecord]) -> None:
        conn = self.conn
        existing_subjects = {
            row.subject_number: row
            for row in conn.execute(
                select(Subject.id, Subject.subject_number, Subject.fingerprint, Subject.removed_at)
            )
        }
        existing_sites = {
            row.website_number: row
            for row in conn.execute(
                select(
                    Website.id, Website.website_number, Website.subject_id, Website.fingerprint,
                    Website.removed_at,
                )
            )
        }
        if self.max_removal_share is not None:
            self._check_removal_share(subjects, existing_subjects, existing_sites)
        subject_ids = self._upsert_subjects(subjects, existing_subjects)
        self._upsert_websites(subjects, subject_ids, existing_sites)
        self._mark_removed(subjects, existing_subjects, existing_sites)

    def _check_removal_share(self, subjects: list[SubjectRecord], existing_subjects: dict, existing_sites: dict) -> None:
        """Refuse, before anything is written, a file that would remove too much of what is stored."""
        present_subjects = {s.subject_number for s in subjects}
        present_sites = {w.website_number for s in subjects for w in s.websites}
        share = self.max_removal_share or 0.0
        for kind, existing, present in (("websites", existing_sites, present_sites),
                                        ("subjects", existing_subjects, present_subjects)):
            live = [n for n, r in existing.items() if r.removed_at is None]
            gone = sum(1 for n in live if n not in present)
            if live and gone / len(live) > share:
                raise MassRemovalError(
                    f"would mark {gone} of {len(live)} stored {kind} removed ({gone / len(live):.0%}), more than "
                    f"registry.max_removal_share {share:.0%}; nothing was imported (check that the file is "
                    "complete, or pass --allow-mass-removal)"
                )

    def _upsert_subjects(self, subjects: list[SubjectRecord], existing: dict) -> dict[str, int]:
        ids: dict[str, int] = {}
        new_rows, new_records = [], []
        for record in subjects:
            old = existing.get(record.subject_number)
            if old is None:
                new_rows.append({**_subject_row(record, self.now), "created_at": self.now})
                new_records.append(record)
                self._change("subject", record.subject_number, "added", None, None)  # content is in its row
                if len(new_rows) >= _CHUNK:
                    self._flush_subjects(new_rows, new_records, ids)
                    new_rows, new_records = [], []
                continue
            ids[record.subject_number] = old.id
            if old.fingerprint == record.fingerprint() and old.removed_at is None:
                continue
            before_content = self._stored_content(Subject, old.id) if old.fingerprint != record.fingerprint() else {}
            self.conn.execute(update(Subject).where(Subject.id == old.id).values(**_subject_row(record, self.now)))
            self.conn.execute(delete(Contact).where(Contact.subject_id == old.id, Contact.website_id.is_(None)))
            self._insert_principals([(old.id, record)])
            if old.removed_at is not None:
                self._change("subject", record.subject_number, "restored", None, record.content())
            if old.fingerprint != record.fingerprint():
                before, after = _diff(before_content, record.content())
                self._change("subject", record.subject_number, "changed", before, after)
        self._flush_subjects(new_rows, new_records, ids)
        return ids

    def _flush_subjects(self, rows: list[dict], records: list[SubjectRecord], ids: dict[str, int]) -> None:
        new_ids = _insert_returning_ids(self.conn, Subject.__table__, rows)
        for record, new_id in zip(records, new_ids, strict=True):
            ids[record.subject_number] = new_id
        self._insert_principals(list(zip(new_ids, records, strict=True)))

    def _insert_principals(self, pairs: list[tuple[int, SubjectRecord]]) -> None:
        rows = [_contact_row(sid, None, "principal", rec.principal) for sid, rec in pairs if not rec.principal.is_empty()]
        _bulk_insert(self.conn, Contact.__table__, rows)

    def _upsert_websites(self, subjects: list[SubjectRecord], subject_ids: dict[str, int], existing: dict) -> None:
        new_rows, new_records = [], []
        changed: list[tuple[int, WebsiteRecord]] = []
        for subject in subjects:
            subject_id = subject_ids[subject.subject_number]
            for record in subject.websites:
                old = existing.get(record.website_number)
                after = {**record.content(), "subject_number": subject.subject_number}
                if old is None:
                    new_rows.append({**_website_row(record, subject_id, self.now), "content": after, "created_at": self.now})
                    new_records.append((subject_id, record))
                    self._change("website", record.website_number, "added", None, None)
                    if len(new_rows) >= _CHUNK:
                        self._flush_websites(new_rows, new_records)
                        new_rows, new_records = [], []
                    continue
                same = old.fingerprint == record.fingerprint() and old.subject_id == subject_id
                if same and old.removed_at is None:
                    continue
                # subject_number inside content lets a move between subjects show up in the history
                row = {**_website_row(record, subject_id, self.now), "content": after}
                before_content = self._stored_content(Website, old.id) if not same else None
                self.conn.execute(update(Website).where(Website.id == old.id).values(**row))
                changed.append((old.id, record))
                if old.removed_at is not None:
                    self._change("website", record.website_number, "restored", None, after)
                if not same:
                    before, after_diff = _diff(before_content or {}, after)
                    self._change("website", record.website_number, "changed", before, after_diff)
        self._flush_websites(new_rows, new_records)
        if changed:
            self._replace_children(changed, subject_ids, subjects)

    def _flush_websites(self, rows: list[dict], records: list[tuple[int, WebsiteRecord]]) -> None:
        new_ids = _insert_returning_ids(self.conn, Website.__table__, rows)
        self._insert_children([(wid, sid, rec) for wid, (sid, rec) in zip(new_ids, records, strict=True)])

    def _insert_children(self, sites: list[tuple[int, int, WebsiteRecord]]) -> None:
        domains, contacts, approvals = [], [], []
        for website_id, subject_id, record in sites:
            for position, name in enumerate(record.domains):
                domains.append({"website_id": website_id, "name": name, "position": position, "removed_at": None})
            if not record.leader.is_empty():
                contacts.append(_contact_row(subject_id, website_id, "leader", record.leader))
            for pa in record.pre_approvals:
                approvals.append({"website_id": website_id, "category": pa.category, "number": pa.number})
        self.counts["domains added"] += len(domains)
        _bulk_insert(self.conn, Domain.__table__, domains)
        _bulk_insert(self.conn, Contact.__table__, contacts)
        _bulk_insert(self.conn, PreApproval.__table__, approvals)

    def _replace_children(self, changed: list[tuple[int, WebsiteRecord]], subject_ids, subjects) -> None:
        conn = self.conn
        subject_of = {site.website_number: subject_ids[s.subject_number] for s in subjects for site in s.websites}
        for website_id, record in changed:
            conn.execute(delete(Contact).where(Contact.website_id == website_id))
            conn.execute(delete(PreApproval).where(PreApproval.website_id == website_id))
            if not record.leader.is_empty():
                row = _contact_row(subject_of[record.website_number], website_id, "leader", record.leader)
                conn.execute(insert(Contact), [row])
            if record.pre_approvals:
                conn.execute(
                    insert(PreApproval),
                    [{"website_id": website_id, "category": p.category, "number": p.number} for p in record.pre_approvals],
                )
            query = select(Domain.id, Domain.name, Domain.position, Domain.removed_at).where(Domain.website_id == website_id)
            stored = {row.name: row for row in conn.execute(query)}
            for position, name in enumerate(record.domains):
                row = stored.pop(name, None)
                if row is None:
                    conn.execute(insert(Domain), [{"website_id": website_id, "name": name, "position": position}])
                    self.counts["domains added"] += 1
                elif row.removed_at is not None or row.position != position:
                    conn.execute(update(Domain).where(Domain.id == row.id).values(position=position, removed_at=None))
                    if row.removed_at is not None:
                        self.counts["domains added"] += 1
            for row in stored.values():
                if row.removed_at is None:
                    conn.execute(update(Domain).where(Domain.id == row.id).values(removed_at=self.now))
                    self.counts["domains removed"] += 1

    def _mark_removed(self, subjects: list[SubjectRecord], existing_subjects: dict, existing_sites: dict) -> None:
        present_subjects = {s.subject_number for s in subjects}
        present_sites = {w.website_number for s in subjects for w in s.websites}
        gone_subjects = [r for n, r in existing_subjects.items() if n not in present_subjects and r.removed_at is None]
        gone_sites = [r for n, r in existing_sites.items() if n not in present_sites and r.removed_at is None]
        for chunk in _chunks([r.id for r in gone_subjects]):
            self.conn.execute(update(Subject).where(Subject.id.in_(chunk)).values(removed_at=self.now))
        for chunk in _chunks([r.id for r in gone_sites]):
            self.conn.execute(update(Website).where(Website.id.in_(chunk)).values(removed_at=self.now))
        for row in gone_subjects:
            self._change("subject", row.subject_number, "removed", self._stored_content(Subject, row.id), None)
        for row in gone_sites:
            self._change("website", row.website_number, "removed", self._stored_content(Website, row.id), None)

    def _stored_content(self, model, row_id: int) -> dict:
        """The record as last imported (read only for the few records that changed)."""
        return self.conn.execute(select(model.content).where(model.id == row_id)).scalar_one() or {}


def import_records(
    store: Store,
    subjects: list[SubjectRecord],
    source: str = "",
    digest: str = "",
    max_removal_share: float | None = None,
) -> ImportResult:
    """Upsert `subjects` in one transaction; a RegistryImport row is written only when something changed.

    With `max_removal_share`, MassRemovalError (nothing stored) when more than that share of the stored
    live websites or subjects would be marked removed; None: no limit (the CLI passes
    registry.max_removal_share unless --allow-mass-removal)."""
    now = utcnow()
    result = ImportResult(
        subjects=len(subjects),
        websites=sum(len(s.websites) for s in subjects),
        domains=sum(len(w.domains) for s in subjects for w in s.websites),
    )
    with store.engine.begin() as conn:
        importer = _Importer(conn, now, max_removal_share)
        importer.run(subjects)
        result.counts = importer.counts
        if importer.changes:
            import_id = conn.execute(
                insert(RegistryImport).returning(RegistryImport.id),
                [{"source": source, "sha256": digest, "imported_at": now, "counts": importer.counts}],
            ).scalar_one()
            for change in importer.changes:
                change["import_id"] = import_id
            _bulk_insert(conn, RegistryChange.__table__, importer.changes)
            result.import_id = import_id
    return result


def import_file(store: Store, path: str | Path, max_removal_share: float | None = None) -> ImportResult:
    """Parse and import one file. RegistryFileError (nothing stored) when the file has structural errors;
    MassRemovalError (nothing stored) past `max_removal_share` (see import_records)."""
    path = Path(path)
    subjects = read_registry(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return import_records(store, subjects, source=str(path), digest=digest, max_removal_share=max_removal_share)
