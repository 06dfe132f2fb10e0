"""`beian scan` and `beian findings`."""

from __future__ import annotations

import argparse
import sys

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.findings import query
from scanner.reports.exports import write_scan_findings
from scanner.scan import FAILURE_SHARE, run_scan
from scanner.scans import ScanError
from scanner.targets import Selector, count
from scanner.workers import default_workers


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "scan",
        help="crawl filed websites and check them (all, or the selected ones)",
        description="Resolve every filed domain, fetch every homepage and run the checks. With no selector every "
        "website in the registry is scanned. Exit 0 when the scan completed, whatever it found. An interrupted "
        "scan is resumed by running the same command again (also with another --workers, or --distributed).",
    )
    p.add_argument("--domain", action="append", default=[], metavar="D", help="websites filing this domain")
    p.add_argument("--website", action="append", default=[], metavar="NUM", help="website filing number")
    p.add_argument("--subject", action="append", default=[], metavar="NUM", help="subject filing number")
    p.add_argument("--output", metavar="FILE", help="write this scan's findings as JSON Lines ('-' for stdout)")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="crawl processes on this machine, each over its own share of the websites and of the "
                   f"concurrency limits (default: the number of cores, {default_workers()} here); the findings are "
                   "the same for any N")
    p.add_argument("--distributed", action="store_true",
                   help="crawl on the cluster: enqueue the websites in Redis ([cluster] redis_url; the database must be "
                   "PostgreSQL) for `beian worker` processes on any number of machines, follow their progress, and "
                   "do the post-scan work here once every website has a result")
    p.add_argument("--request", type=int, help=argparse.SUPPRESS)  # the queued rescan this scan runs (beian serve)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("findings", help="list stored findings")
    p.add_argument("--format", choices=("jsonl", "csv", "table"), default="table")
    p.add_argument("--check", action="append", default=[], metavar="CODE", help="only this check code")
    p.add_argument("--open", action="store_true", help="only findings that are still open")
    p.set_defaults(func=cmd_findings)


def cmd_scan(args, config: Config) -> int:
    store = open_store(config)
    selector = Selector(args.domain, args.website, args.subject)
    total, _ = count(store, selector)
    if total == 0 and not selector.everything:
        raise CommandError("no filed website matches the selection")
    on_open = None
    if args.request:
        from scanner.rescans import attach_scan

        def on_open(scan_id: int) -> None:
            attach_scan(store, args.request, scan_id)

    try:
        if args.distributed and args.workers:
            raise CommandError("--workers and --distributed do not go together: a distributed scan is crawled by "
                               "`beian worker` processes")
        workers = args.workers or default_workers()
        result = run_scan(config, store, selector, workers=workers, on_open=on_open, distributed=args.distributed)
    except ScanError as exc:
        raise CommandError(str(exc)) from None
    if result.state != "finished":
        why = f" ({result.lost})" if result.lost else ""
        print(f"scan {result.scan_id} interrupted after {result.elapsed_s:.0f} s{why}; run the same command to "
              "resume it", file=sys.stderr)
        return 3
    if args.output:
        written = write_scan_findings(store, result.scan_id, args.output)
        if args.output != "-":
            print(f"wrote {written} findings to {args.output}")
    print_summary(result)
    if result.given_up:
        print(f"warning: {result.given_up} websites were given up after {config.cluster.max_leases} leases without a "
              f"result (the workers holding them died); the scan's stats list them (given_up)", file=sys.stderr)
    if result.cases is not None:
        print(result.cases.line())
    if result.cases_error:
        print(f"beian: error: cases were not updated after scan {result.scan_id} ({result.cases_error}); "
              "run `beian cases sweep` to finish", file=sys.stderr)
    store.dispose()
    return 0


def print_summary(result) -> None:
    rate = result.websites / result.elapsed_s if result.elapsed_s else 0
    workers = f", {result.workers} workers" if getattr(result, "workers", 1) > 1 else ""
    print(f"scan {result.scan_id} {'resumed and ' if result.resumed else ''}finished: {result.websites} websites "
          f"in {result.elapsed_s:.1f} s ({rate:.1f}/s{workers}); {result.not_checked} could not be checked")
    if result.websites and result.not_checked / result.websites > FAILURE_SHARE:
        print(f"warning: {result.not_checked / result.websites:.0%} of websites could not be checked; the scanner's own "
              "network or DNS may be failing, the crawl-health gate decides whether its notices are held (beian alerts)", file=sys.stderr)
    line = render_line(result.render)
    if line:
        print(line)
    if not result.by_code:
        print("no findings")
        return
    width = max(len(code) for code in result.by_code)
    print(f"\n{'check'.ljust(width)}  findings")
    for code, n in sorted(result.by_code.items()):
        print(f"{code.ljust(width)}  {n}")
    print(f"{'total'.ljust(width)}  {sum(result.by_code.values())}")


def render_line(stats: dict) -> str:
    """One line on headless rendering: how many pages, how they went, what the browser cost."""
    if not stats:
        return ""
    if stats.get("state") == "off":
        return stats.get("reason", "rendering off")
    pages = stats.get("pages", 0)
    if not pages:
        line = "rendering on: no page needed it"
    else:
        line = (f"rendering: {stats.get('rendered', 0)} of {pages} pages rendered, {stats.get('failed', 0)} could not be "
                f"(browser CPU {stats.get('browser_cpu_s', 0):.1f} s, {stats.get('blocked', 0)} requests refused)")
    if stats.get("reason"):
        line += f"; {stats['reason']}"
    if stats.get("screenshots_scheduled") or stats.get("screenshots_capped"):
        line += (f"; evidence screenshots: {stats.get('screenshots_taken', 0)} taken "
                 f"({stats.get('screenshots_bytes', 0) / 1024:.0f} KB), {stats.get('screenshots_failed', 0)} failed, "
                 f"{stats.get('screenshots_capped', 0)} over screenshots.max_per_scan")
    return line


def cmd_findings(args, config: Config) -> int:
    from scanner.reports.exports import (
        FINDING_COLUMNS,
        finding_rows,
        write_csv,
        write_findings_table,
        write_jsonl,
    )

    store = open_store(config)
    try:
        with store.session() as session:
            items = finding_rows(query(session, checks=args.check, open_only=args.open))
    finally:
        store.dispose()
    if args.format == "csv":
        write_csv(items, sys.stdout, FINDING_COLUMNS)
    else:
        {"jsonl": write_jsonl, "table": write_findings_table}[args.format](items, sys.stdout)
    return 0
