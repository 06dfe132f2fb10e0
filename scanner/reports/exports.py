"""Findings as JSON Lines (CONTRACT §3), CSV and a terminal table."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from scanner.findings import as_contract

CSV_COLUMNS = ["check", "severity", "subject_number", "website_number", "domain", "summary", "first_seen",
               "last_seen", "closed"]  # fmt: skip


def rows(findings: Iterable) -> list[dict]:
    return [as_contract(row) | {"closed": row.closed_at is not None} for row in findings]


def write_jsonl(items: Iterable[dict], out: TextIO) -> int:
    written = 0
    for item in items:
        out.write(json.dumps({k: v for k, v in item.items() if k != "closed"}, ensure_ascii=False) + "\n")
        written += 1
    return written


def write_csv(items: Iterable[dict], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for item in items:
        writer.writerow(["" if item.get(c) is None else item.get(c) for c in CSV_COLUMNS])
        written += 1
    return written


def write_table(items: list[dict], out: TextIO) -> int:
    for item in items:
        state = "closed" if item["closed"] else "open"
        out.write(f"{item['check']:<30} {state:<6} {item['website_number'] or item['subject_number']:<26} {item['summary']}\n")
    out.write(f"{len(items)} findings\n")
    return len(items)


def write_scan_findings(store, scan_id: int, path: str) -> int:
    """One scan's open findings as JSON Lines (CONTRACT §3), for `beian scan --output`; '-' is stdout."""
    from scanner.findings import query

    with store.session() as session:
        items = rows(query(session, scan_id=scan_id))
        if str(path) == "-":
            return write_jsonl(items, sys.stdout)
        with open(path, "w", encoding="utf-8") as out:
            return write_jsonl(items, out)
