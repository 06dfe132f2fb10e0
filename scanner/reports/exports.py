"""Rows out: findings (CONTRACT §3) and cases as JSON Lines, CSV (opens in Excel) or an aligned terminal
table. One set of writers serves every command, the API and the weekly job."""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Iterable
from typing import TextIO

from checks import get as declared
from scanner.findings import as_contract
from scanner.notices.compose import local_time

FINDING_COLUMNS = ["check", "severity", "subject_number", "website_number", "domain", "summary", "first_seen",
                   "last_seen", "closed"]
CASE_COLUMNS = ["id", "state", "check", "title", "severity", "subject_number", "website_number", "recipient",
                "opened_at", "notified_at", "deadline", "escalated_at", "closed_at", "extensions"]


def finding_rows(findings: Iterable) -> list[dict]:
    return [as_contract(row) | {"closed": row.closed_at is not None} for row in findings]


def case_row(case) -> dict:
    return {
        "id": case.id, "state": case.state, "check": case.check, "title": declared(case.check).title,
        "severity": case.severity, "subject_number": case.subject_number, "website_number": case.website_number,
        "recipient": case.recipient, "opened_at": local_time(case.opened_at), "notified_at": local_time(case.notified_at),
        "deadline": local_time(case.deadline), "escalated_at": local_time(case.escalated_at),
        "closed_at": local_time(case.closed_at), "extensions": case.extensions,
    }


def write_jsonl(items: Iterable[dict], out: TextIO, omit: tuple[str, ...] = ("closed",)) -> int:
    """One JSON object per line; `omit` drops bookkeeping keys that are not part of the contract."""
    written = 0
    for item in items:
        out.write(json.dumps({k: v for k, v in item.items() if k not in omit}, ensure_ascii=False) + "\n")
        written += 1
    return written


def write_csv(items: Iterable[dict], out: TextIO, columns: list[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(columns)
    written = 0
    for item in items:
        writer.writerow(["" if item.get(c) is None else item.get(c) for c in columns])
        written += 1
    return written


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * max(0, size - width(text))


def write_table(items: list[dict], out: TextIO, columns: list[str]) -> int:
    """Columns aligned for a terminal (CJK characters count double)."""
    cells = [[("" if item.get(c) is None else str(item.get(c))) for c in columns] for item in items]
    sizes = [max([width(c)] + [width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(pad(c, sizes[i]) for i, c in enumerate(columns)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(pad(v, sizes[i]) for i, v in enumerate(row)).rstrip() + "\n")
    return len(items)


def write_findings_table(items: list[dict], out: TextIO) -> int:
    """Findings one per line (code, open/closed, website, summary) and their count."""
    for item in items:
        state = "closed" if item["closed"] else "open"
        out.write(f"{item['check']:<30} {state:<6} {item['website_number'] or item['subject_number']:<26} {item['summary']}\n")
    out.write(f"{len(items)} findings\n")
    return len(items)


def write_scan_findings(store, scan_id: int, path: str) -> int:
    """One scan's open findings as JSON Lines (CONTRACT §3), for `beian scan --output`; '-' is stdout."""
    from scanner.findings import query

    with store.session() as session:
        items = finding_rows(query(session, scan_id=scan_id))
    if str(path) == "-":
        return write_jsonl(items, sys.stdout)
    with open(path, "w", encoding="utf-8") as out:
        return write_jsonl(items, out)


def write_rows(items: list[dict], fmt: str, out: TextIO, csv_columns: list[str],
               table_columns: list[str] | None = None) -> bool:
    """A command's listing in its --format (jsonl, csv, else an aligned table); True when it was the table, after
    which the command prints its count line."""
    if fmt == "jsonl":
        write_jsonl(items, out)
        return False
    if fmt == "csv":
        write_csv(items, out, csv_columns)
        return False
    write_table(items, out, table_columns or csv_columns)
    return True
