"""One scan: select websites, crawl them with Scrapy, store observations and findings, report.

The crawl runs in this process (one worker) or in N worker processes over disjoint shards of the websites
(scanner.workers), all writing to the scan's database under one scan id, with one progress bar. What comes
after the crawl (the registry checks, the summary, cases and notices with the crawl-health gate) runs once,
here, when every worker has finished. A distributed scan (scanner.cluster) has its crawl done by `beian worker`
processes on any number of machines; this process is its coordinator, and the post-scan work runs here too.

An interrupted scan (Ctrl-C, a crash, a kill, of the scan or of one worker) is resumed by running the same
selection again: the websites already observed are skipped, so nothing is lost or done twice.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from core import clock
from core.config import Config
from scanner.crawl import CrawlReport, check_renderer, crawl_shard, domain_facts, merge_timing, self_usage
from scanner.progress import Progress
from scanner.scans import ScanError, kept_alive, open_scan
from scanner.store.db import Store
from scanner.store.models import Scan
from scanner.targets import Selector, count

FAILURE_SHARE = 0.2  # above this share of "could not check", the summary warns


@dataclass
class ScanResult:
    scan_id: int
    state: str
    websites: int
    not_checked: int
    by_code: Counter
    elapsed_s: float
    resumed: bool
    timing: dict
    dns_queries: int = 0
    cases: object = None  # scanner.cases.Report, when the case run after the scan worked
    cases_error: str = ""
    render: dict = field(default_factory=dict)
    workers: int = 1
    lost: str = ""  # why the crawl stopped short, when a worker ended without finishing (resumable)
    given_up: int = 0  # a distributed scan's websites given up after cluster.max_leases leases (stats "given_up")


def run_scan(config: Config, store: Store, selector: Selector, *, workers: int = 1, stream=None,
             on_open=None, distributed: bool = False) -> ScanResult:
    started = time.monotonic()
    if distributed:
        from scanner.cluster.coordinator import require_cluster

        require_cluster(config)
    check_renderer(config)
    domain_facts(config, store)  # a bad fetch.extra_ca fails before a scan is opened
    scan_id, resumed = open_scan(store, selector)
    if on_open is not None:
        on_open(scan_id)
    total, done = count(store, selector, scan_id)
    workers = max(1, min(workers, total - done))
    progress = Progress(total, done, stream=stream)
    lost, failure = "", ""
    if distributed:
        from scanner.cluster.coordinator import Coordinator

        progress.start()
        try:
            reports = [Coordinator(config, store, scan_id, selector, progress, stream=stream or sys.stderr).run()]
        finally:
            progress.stop()
        workers = max(1, sum(node["workers"] for node in _nodes(store, scan_id).values()))
    elif workers == 1:
        reports = [crawl_shard(config, store, scan_id, selector, progress)]
        failure = reports[0].failure
    else:
        from scanner.workers import WorkerRun

        progress.start()
        try:
            children = WorkerRun(config, store, scan_id, selector, workers, progress).run()
        finally:
            progress.stop()
        reports = [child.report for child in children if child.report is not None]
        failure = "; ".join(f"worker {r.failure}" for r in reports if r.failure)
        lost = "; ".join(f"worker {c.index + 1} of {workers} {c.lost()}" for c in children if c.report is None)
    finished = not failure and not lost and all(r.finished for r in reports)
    registry_counts: Counter = Counter()
    if finished:
        from scanner.registry_checks import run_registry_checks

        with kept_alive(store, scan_id):
            registry_counts = run_registry_checks(config, store, selector, scan_id)
    state = "finished" if finished else "interrupted"
    elapsed = time.monotonic() - started
    by_code = Counter()
    for report in reports:
        by_code.update(report.by_code)
    by_code += registry_counts
    not_checked = (progress.not_checked if workers == 1 and not distributed
                   else sum(r.not_checked for r in reports))
    stats = _stats(reports, total, progress.done, not_checked, by_code, elapsed, workers)
    if lost:
        stats["lost"] = lost
    if distributed:  # the nodes' figures are in stats["nodes"] (the coordinator's heartbeat)
        stats["processes"].pop("workers", None)
        stats["distributed"] = True
    with store.transaction() as session:
        scan = session.get(Scan, scan_id)
        scan.state = state
        scan.stats = {**(scan.stats or {}), **stats}
        if state == "finished":
            scan.finished_at = clock.now()
    if failure:
        raise ScanError(f"scan {scan_id} failed: {failure}")
    result = ScanResult(scan_id, state, total, not_checked, by_code, elapsed, resumed, stats["cpu_s"],
                        stats["dns_queries"], render=stats["render"], workers=workers, lost=lost)
    if distributed:
        result.given_up = int(reports[0].writer.get("given_up", 0))
    if state == "finished":
        _update_cases(config, store, result)
        _record_parent_usage(store, scan_id)
    return result


def _nodes(store: Store, scan_id: int) -> dict:
    with store.session() as session:
        return (session.get(Scan, scan_id).stats or {}).get("nodes") or {}


def _record_parent_usage(store: Store, scan_id: int) -> None:
    """This process's CPU and peak memory once the cases are done too (the post-scan work runs here)."""
    cpu_s, rss_mb = self_usage()
    with store.transaction() as session:
        scan = session.get(Scan, scan_id)
        stats = dict(scan.stats or {})
        processes = dict(stats.get("processes") or {})
        processes["parent"] = {"pid": os.getpid(), "cpu_s": round(cpu_s, 3), "rss_mb": round(rss_mb, 1)}
        scan.stats = {**stats, "processes": processes}


def _stats(reports: list[CrawlReport], total: int, observed: int, not_checked: int, by_code: Counter,
           elapsed: float, workers: int) -> dict:
    """The scan's stats row: the crawls' figures summed, and each process's CPU and peak memory."""
    cpu_s, rss_mb = self_usage()
    render = reports[0].render if len(reports) == 1 else _merge_render(reports)
    writer: Counter = Counter()
    for report in reports:
        writer.update(report.writer)
    stats = {
        "websites": total, "observed": observed, "not_checked": not_checked, "findings_by_code": dict(by_code),
        "elapsed_s": round(elapsed, 2), "cpu_s": merge_timing(reports),
        "dns_queries": sum(r.dns_queries for r in reports), "rdap_queries": sum(r.rdap_queries for r in reports),
        "rdap_domain_queries": sum(r.rdap_domain_queries for r in reports),
        "rdap_domain_cached": sum(r.rdap_domain_cached for r in reports),
        "finish_reason": _finish_reason(reports), "writer": dict(writer), "render": render, "workers": workers,
        "processes": {"parent": {"pid": os.getpid(), "cpu_s": round(cpu_s, 3), "rss_mb": round(rss_mb, 1)}},
    }
    if workers > 1:
        stats["processes"]["workers"] = [{k: v for k, v in asdict(r).items()
                                          if k in ("observed", "cpu_s", "rss_mb", "finish_reason")} for r in reports]
    return stats


def _finish_reason(reports: list[CrawlReport]) -> str | None:
    reasons = {r.finish_reason for r in reports}
    return reasons.pop() if len(reasons) == 1 else ",".join(sorted(str(r) for r in reasons))


def _merge_render(reports: list[CrawlReport]) -> dict:
    states = [r.render for r in reports]
    if all(s.get("state") == "off" for s in states):
        return states[0] if states else {}
    merged: Counter = Counter()
    for s in states:
        merged.update({k: v for k, v in s.items() if isinstance(v, int | float) and not isinstance(v, bool)})
    result: dict = {k: round(v, 3) if isinstance(v, float) else v for k, v in merged.items()}
    result["state"] = "stopped" if any(s.get("state") == "stopped" for s in states) else "on"
    reasons = sorted({s["reason"] for s in states if s.get("reason")})
    if reasons:
        result["reason"] = "; ".join(reasons)
    return result


def _update_cases(config: Config, store: Store, result: ScanResult) -> None:
    """Open, resolve and notify cases from this scan. The scan stands whatever happens here; the work is
    idempotent, so `beian cases sweep` (or the next scan) completes it after a failure."""
    from scanner.cases import CaseBook

    try:
        result.cases = CaseBook(config, store).reconcile(result.scan_id)
    except Exception as exc:  # noqa: BLE001 - reported, and recoverable by the sweep
        if os.environ.get("BEIAN_DEBUG"):
            raise
        result.cases_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
