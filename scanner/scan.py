"""One scan: select websites, crawl them with Scrapy, store observations and findings, report.

An interrupted scan (Ctrl-C, a crash, a kill) is resumed by running the same selection again: the
websites already observed are skipped, so nothing is lost or done twice.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core import clock
from core.config import Config, user_agent
from core.netguard import AddressPolicy
from core.observation import Page
from core.records import SiteRecord
from scanner.progress import Progress
from scanner.scans import ScanError, open_scan
from scanner.store.db import Store
from scanner.store.models import Scan
from scanner.store.owner_cache import StoreOwnerCache
from scanner.targets import Selector, count, iter_batches
from scanner.writer import StoreWriter
from spiders.ownership import Ownership
from spiders.resolve import DnsView

FAILURE_SHARE = 0.2  # above this share of "could not check", the summary warns


@dataclass
class ScanContext:
    config: Config
    store: Store
    scan_id: int
    selector: Selector
    dns: DnsView
    policy: AddressPolicy
    ownership: Ownership
    writer: StoreWriter
    progress: Progress
    batches: Iterator[list[SiteRecord]]  # the websites to crawl, read lazily from the store
    is_placeholder: Callable[[Page], bool]  # the crawl prefers a real page over a placeholder
    timing: Counter = field(default_factory=Counter)
    renderer: object = None  # spiders.render.RenderThread, or None when rendering is off
    render_off: str = ""  # why it is off
    registrations: object = None  # spiders.registration.Registrations, or None when [domains] is off
    trust: object = None  # spiders.tls.TrustStore: the CAs certificates are judged against


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


def _renderer(config: Config):
    """(Renderer, "") when headless Chromium can run, else (None, why not). `render.enabled = true` makes a
    missing browser an error rather than a quiet fallback to static pages."""
    from spiders.render import Renderer, RenderThread, availability

    path, why = availability(config.render)
    if path is None:
        if config.render.enabled == "on" and config.render.max_pages > 0:
            raise ScanError(f"render.enabled = true but {why.removeprefix('rendering off: ')}")
        return None, why
    return RenderThread(Renderer(config.render, path, user_agent(config))), ""


def _domain_facts(config: Config, store: Store) -> tuple[object, object]:
    """(the RDAP lookups of domain registrations, or None when [domains] is off; the TLS trust store)."""
    from scanner.store.registration_cache import StoreRegistrationCache
    from spiders.registration import Registrations
    from spiders.tls import TrustStore

    try:
        trust = TrustStore.from_config(config)
    except ValueError as exc:
        raise ScanError(str(exc)) from None
    registrations = Registrations(config, StoreRegistrationCache(store)) if config.domains.enabled else None
    return registrations, trust


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _render_stats(context: ScanContext, browser_cpu_s: float) -> dict:
    renderer = context.renderer
    if renderer is None:
        return {"state": "off", "reason": context.render_off}
    stats = dict(renderer.stats)
    stats["state"] = "stopped" if renderer.off_reason else "on"
    if renderer.off_reason:
        stats["reason"] = renderer.off_reason
    stats["browser_cpu_s"] = round(browser_cpu_s, 3)
    return stats


def _raise_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def run_scan(config: Config, store: Store, selector: Selector, *, stream=None, on_open=None) -> ScanResult:
    from scrapy.crawler import CrawlerProcess

    from checks.placeholder import placeholder_kind
    from scanner.pipeline import STAGES
    from spiders.homepage import HomepageSpider
    from spiders.settings import crawl_settings

    started = time.monotonic()
    renderer, render_off = _renderer(config)
    registrations, trust = _domain_facts(config, store)  # a bad fetch.extra_ca fails before a scan is opened
    scan_id, resumed = open_scan(store, selector)
    if on_open is not None:
        on_open(scan_id)
    total, done = count(store, selector, scan_id)
    files = _raise_file_limit(65536)
    concurrency = max(8, min(config.fetch.concurrency, (files - 200) // 3))
    if concurrency != config.fetch.concurrency:
        from dataclasses import replace

        config = replace(config, fetch=replace(config.fetch, concurrency=concurrency))
    writer = StoreWriter(store, scan_id)
    progress = Progress(total, done, stream=stream)
    context = ScanContext(
        config=config, store=store, scan_id=scan_id, selector=selector, dns=DnsView(config),
        policy=AddressPolicy(config), ownership=Ownership(config, StoreOwnerCache(store)), writer=writer,
        progress=progress, batches=iter_batches(store, config, selector, scan_id, size=500),
        is_placeholder=lambda page: placeholder_kind(page) is not None,
    )
    context.renderer, context.render_off = renderer, render_off
    context.registrations, context.trust = registrations, trust
    children_cpu = _children_cpu()
    process = CrawlerProcess(crawl_settings(config, STAGES))
    # A certificate that does not match is evidence the observation records (site.tls_invalid), not a log line
    # per connection for the operator.
    logging.getLogger("scrapy.core.downloader.tls").setLevel(logging.ERROR)
    # Scrapy deep-copies settings, so the live objects ride on the process (the DNS resolver is built
    # from it) and on the crawler (spider and pipeline).
    process.beian_context = context
    crawler = process.create_crawler(HomepageSpider)
    crawler.beian_context = context
    failure: BaseException | None = None
    try:
        process.crawl(crawler)
        process.start()
    except KeyboardInterrupt:  # a signal before Scrapy's own handlers were in place: interrupted, resumable
        pass
    except Exception as exc:  # noqa: BLE001 - reported below as one line
        failure = exc
    finally:
        progress.stop()
        writer.close()
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    registry_counts: Counter = Counter()
    if failure is None and reason == "finished":
        from scanner.registry_checks import run_registry_checks

        registry_counts = run_registry_checks(config, store, selector, scan_id)
    state = "finished" if failure is None and reason == "finished" else "interrupted"
    elapsed = time.monotonic() - started
    timing = {k: round(v, 3) for k, v in context.timing.items()}
    timing["store"] = round(writer.cpu_s, 3)
    stats = {
        "websites": total, "observed": progress.done, "not_checked": progress.not_checked,
        "findings_by_code": dict(progress.by_code + registry_counts), "elapsed_s": round(elapsed, 2),
        "cpu_s": timing, "dns_queries": context.dns.queries, "rdap_queries": context.ownership.rdap_queries,
        "rdap_domain_queries": getattr(context.registrations, "queries", 0),
        "rdap_domain_cached": getattr(context.registrations, "cached", 0),
        "finish_reason": reason, "writer": dict(writer.counts),
        "render": _render_stats(context, _children_cpu() - children_cpu),
    }
    with store.transaction() as session:
        scan = session.get(Scan, scan_id)
        scan.state = state
        scan.stats = {**(scan.stats or {}), **stats}
        if state == "finished":
            scan.finished_at = clock.now()
    if failure is not None:
        raise ScanError(f"scan {scan_id} failed: {type(failure).__name__}: {failure}")
    result = ScanResult(scan_id, state, total, progress.not_checked, progress.by_code + registry_counts, elapsed,
                        resumed, timing, context.dns.queries, render=stats["render"])
    if state == "finished":
        _update_cases(config, store, result)
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
