"""Findings in the store: upsert what a scan found, close what it no longer finds.

A finding is keyed by (check, subject, website, domain). Seen again: last_seen moves and seen_count
grows. An evaluated check that passed (or no longer produces that key) closes it. A check that was
not evaluated (root cause elsewhere, or "could not check") leaves it as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from checks import Outcome
from checks import get as declared
from scanner.store.db import shanghai_iso
from scanner.store.models import Finding


def finding_key(code: str, subject_number: str, website_number: str | None, domain: str | None) -> str:
    return f"{code}|{subject_number}|{website_number or ''}|{domain or ''}"


@dataclass
class Verdicts:
    """All outcomes for one website (or, with website_number None, one subject's registry checks)."""

    subject_number: str
    website_number: str | None
    outcomes: list[Outcome]


def apply(session: Session, scan_id: int | None, now: datetime, items: list[Verdicts]) -> dict[str, int]:
    """Upsert findings and close resolved ones for a batch; the caller commits. Returns counts."""
    counts = {"opened": 0, "seen": 0, "closed": 0}
    if not items:
        return counts
    if session.get_bind().dialect.name == "postgresql":
        # Two scans may cover the same website at once (nightly + rescan): serialise the read-then-write so
        # a key is never inserted twice. SQLite gets the same from Store.transaction (BEGIN IMMEDIATE).
        session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
    website_numbers = [v.website_number for v in items if v.website_number]
    subject_only = [v.subject_number for v in items if not v.website_number]
    open_rows: dict[str, tuple[int, int | None, str]] = {}
    for chunk in _chunks(website_numbers, 500):
        query = select(Finding.id, Finding.key, Finding.last_scan_id, Finding.check).where(
            Finding.website_number.in_(chunk), Finding.closed_at.is_(None)
        )
        open_rows.update({row.key: (row.id, row.last_scan_id, row.check) for row in session.execute(query)})
    for chunk in _chunks(subject_only, 500):
        query = select(Finding.id, Finding.key, Finding.last_scan_id, Finding.check).where(
            Finding.subject_number.in_(chunk), Finding.website_number.is_(None), Finding.closed_at.is_(None)
        )
        open_rows.update({row.key: (row.id, row.last_scan_id, row.check) for row in session.execute(query)})
    by_prefix: dict[str, set[str]] = {}
    for key in open_rows:
        by_prefix.setdefault(key.rsplit("|", 1)[0] + "|", set()).add(key)
    inserts, updates, closes = [], [], []
    for verdict in items:
        prefix_subject = verdict.subject_number
        for outcome in verdict.outcomes:
            if not outcome.decided:
                continue
            produced = set()
            for found in outcome.findings:
                key = finding_key(found.code, prefix_subject, verdict.website_number, found.domain)
                produced.add(key)
                evidence = json.loads(json.dumps(found.evidence, ensure_ascii=False, default=str))
                existing = open_rows.get(key)
                if existing is None:
                    inserts.append({
                        "key": key, "check": found.code, "severity": declared(found.code).severity,
                        "subject_number": prefix_subject, "website_number": verdict.website_number,
                        "domain": found.domain, "summary": found.summary, "evidence": evidence,
                        "first_seen": now, "last_seen": now, "first_scan_id": scan_id, "last_scan_id": scan_id,
                        "seen_count": 1,
                    })
                    open_rows[key] = (-1, scan_id, found.code)
                    counts["opened"] += 1
                elif existing[0] > 0:
                    updates.append((existing[0], existing[1] != scan_id, found.summary, evidence))
                    counts["seen"] += 1
            prefix = f"{outcome.code}|{prefix_subject}|{verdict.website_number or ''}|"
            for key in list(by_prefix.get(prefix, ())):
                finding_id = open_rows[key][0]
                if key not in produced and finding_id > 0:
                    closes.append(finding_id)
                    open_rows.pop(key)
                    by_prefix[prefix].discard(key)
                    counts["closed"] += 1
    if inserts:
        for chunk in _chunks(inserts, 500):
            session.execute(insert(Finding), chunk)
    for finding_id, new_scan, summary, evidence in updates:
        values = {"last_seen": now, "last_scan_id": scan_id, "summary": summary, "evidence": evidence}
        if new_scan:
            values["seen_count"] = Finding.seen_count + 1
        session.execute(update(Finding).where(Finding.id == finding_id).values(**values))
    for chunk in _chunks(closes, 500):
        session.execute(update(Finding).where(Finding.id.in_(chunk)).values(closed_at=now))
    return counts


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_contract(row: Finding) -> dict:
    """A finding as one JSON Lines object per CONTRACT §3."""
    return {
        "check": row.check,
        "severity": row.severity,
        "subject_number": row.subject_number,
        "website_number": row.website_number,
        "domain": row.domain,
        "summary": row.summary,
        "evidence": row.evidence,
        "first_seen": shanghai_iso(row.first_seen),
        "last_seen": shanghai_iso(row.last_seen),
    }


def query(session: Session, *, scan_id: int | None = None, checks: Iterable[str] = (), open_only: bool = False):
    statement = select(Finding).order_by(Finding.subject_number, Finding.website_number, Finding.check, Finding.domain)
    if scan_id is not None:
        statement = statement.where(Finding.last_scan_id == scan_id, Finding.closed_at.is_(None))
    checks = list(checks)
    if checks:
        statement = statement.where(Finding.check.in_(checks))
    if open_only:
        statement = statement.where(Finding.closed_at.is_(None))
    return session.scalars(statement.execution_options(yield_per=1000))
