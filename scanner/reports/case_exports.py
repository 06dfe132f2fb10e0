"""Cases as a terminal table, CSV (the 取消接入 worklist opens in Excel) and JSON Lines."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable
from typing import TextIO

from checks import get as declared
from scanner.notices.compose import local_time

COLUMNS = ["id", "state", "check", "title", "severity", "subject_number", "website_number", "recipient",
           "opened_at", "notified_at", "deadline", "escalated_at", "closed_at", "extensions"]  # fmt: skip


def case_row(case) -> dict:
    return {
        "id": case.id, "state": case.state, "check": case.check, "title": declared(case.check).title,
        "severity": case.severity, "subject_number": case.subject_number, "website_number": case.website_number,
        "recipient": case.recipient, "opened_at": local_time(case.opened_at), "notified_at": local_time(case.notified_at),
        "deadline": local_time(case.deadline), "escalated_at": local_time(case.escalated_at),
        "closed_at": local_time(case.closed_at), "extensions": case.extensions,
    }  # fmt: skip


def write_jsonl(items: Iterable[dict], out: TextIO) -> int:
    n = 0
    for item in items:
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(items: Iterable[dict], out: TextIO, columns: list[str] = COLUMNS) -> int:
    writer = csv.writer(out)
    writer.writerow(columns)
    n = 0
    for item in items:
        writer.writerow(["" if item.get(c) is None else item.get(c) for c in columns])
        n += 1
    return n


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * max(0, size - width(text))


def write_table(items: list[dict], out: TextIO, columns: list[str]) -> int:
    cells = [[("" if item.get(c) is None else str(item.get(c))) for c in columns] for item in items]
    sizes = [max([width(c)] + [width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(pad(c, sizes[i]) for i, c in enumerate(columns)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(pad(v, sizes[i]) for i, v in enumerate(row)).rstrip() + "\n")
    return len(items)
