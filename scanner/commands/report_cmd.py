"""`beian report`: one scan's report as self-contained HTML, CSV, XLSX or JSON Lines."""

from __future__ import annotations

import sys
from pathlib import Path

from core.config import Config


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="a scan's report: HTML (self-contained, with the trend chart), CSV, XLSX or JSON Lines",
        description="Summary, counts by check, severity, province and subject nature, new and resolved since "
        "the previous scan, the trend over the last full scans, and every open finding with its evidence. "
        "Default: the latest finished scan, HTML, to report-<scan>.html.",
    )
    p.add_argument("scan_id", nargs="?", type=int, metavar="SCAN_ID", help="default: the latest finished scan")
    p.add_argument("--format", choices=("html", "csv", "xlsx", "jsonl"), default="html")
    p.add_argument("--output", "-o", metavar="PATH", help="file to write ('-' = stdout; default report-<scan>.<format>)")
    p.add_argument("--trend", type=int, default=12, metavar="N", help="full scans in the trend chart (default 12)")
    p.set_defaults(func=cmd_report)


def cmd_report(args, config: Config) -> int:
    from scanner.commands.common import CommandError, open_store
    from scanner.reports.scan_report import ReportError, build, write

    store = open_store(config)
    try:
        with store.session() as session:
            try:
                report = build(session, args.scan_id, trend_scans=max(1, args.trend))
            except ReportError as exc:
                raise CommandError(str(exc)) from None
        output = args.output or f"report-{report.scan['id']}.{args.format}"
        if output == "-":
            if args.format == "xlsx":
                raise CommandError("--format xlsx needs --output FILE")
            count = write(report, args.format, sys.stdout, config.provider.name)
        else:
            path = Path(output)
            if args.format == "xlsx":
                with open(path, "wb") as out:
                    count = write(report, "xlsx", out, config.provider.name)
            else:
                with open(path, "w", encoding="utf-8-sig" if args.format == "csv" else "utf-8", newline="") as out:
                    count = write(report, args.format, out, config.provider.name)
            print(f"wrote {path}: scan {report.scan['id']}, {count} findings")
    finally:
        store.dispose()
    return 0
