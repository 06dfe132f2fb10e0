"""One crawl: the websites of one shard of one scan, fetched with Scrapy, judged, and stored as the scan's
observations and findings. A scan runs one crawl in its own process, or one per worker process
(scanner.workers); a later distributed worker takes shards the same way.

Scrapy's reactor starts once per process, so a process runs one crawl.
"""

from __future__ import annotations

import logging
import math
import resource
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from core.config import Config, user_agent
from core.netguard import AddressPolicy
from core.observation import Page
from core.records import SiteRecord
from scanner.scans import ScanError, opened_at
from scanner.store.db import Store
from scanner.store.owner_cache import StoreOwnerCache
from scanner.targets import WHOLE, Selector, Shard, iter_batches
from scanner.writer import StoreWriter, kill_after
from spiders.ownership import Ownership
from spiders.resolve import DnsView


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
    progress: object  # site_done(item), start(), stop(): scanner.progress.Progress, or a worker's feed
    batches: Iterator[list[SiteRecord]]  # the websites to crawl, read lazily from the store
    is_placeholder: Callable[[Page], bool]  # the crawl prefers a real page over a placeholder
    timing: Counter = field(default_factory=Counter)
    renderer: object = None  # spiders.render.RenderThread, or None when rendering is off
    render_off: str = ""  # why it is off
    registrations: object = None  # spiders.registration.Registrations, or None when [domains] is off
    trust: object = None  # spiders.tls.TrustStore: the CAs certificates are judged against
    screenshots: object = None  # spiders.screenshot.Shooter, or None when screenshots are off
    feed: object = None  # scanner.cluster.worker.LeaseFeed: websites leased from a distributed scan's queue


@dataclass
class CrawlReport:
    """What one crawl did; plain data, so that a worker process can hand it to the scan's parent."""

    finish_reason: str | None
    observed: int
    not_checked: int
    by_code: dict
    timing: dict
    dns_queries: int
    rdap_queries: int
    rdap_domain_queries: int
    rdap_domain_cached: int
    writer: dict
    render: dict
    cpu_s: float = 0.0
    rss_mb: float = 0.0
    failure: str = ""  # the crawl itself failed: one line

    @property
    def finished(self) -> bool:
        return not self.failure and self.finish_reason == "finished"


def check_renderer(config: Config) -> tuple[str | None, str]:
    """(Chromium path, "") when rendering can run, else (None, why not). `render.enabled = true` makes a
    missing browser an error rather than a quiet fallback to static pages."""
    from spiders.render import availability

    path, why = availability(config.render)
    if path is None and config.render.enabled == "on" and config.render.max_pages > 0:
        raise ScanError(f"render.enabled = true but {why.removeprefix('rendering off: ')}")
    return path, why


def _renderer(config: Config):
    from spiders.render import Renderer, RenderThread

    path, why = check_renderer(config)
    if path is None:
        return None, why
    return RenderThread(Renderer(config.render, path, user_agent(config))), ""


def domain_facts(config: Config, store: Store, since=None) -> tuple[object, object]:
    """(the RDAP lookups of domain registrations, or None when [domains] is off; the TLS trust store)."""
    from scanner.store.registration_cache import StoreRegistrationCache
    from spiders.registration import Registrations
    from spiders.tls import TrustStore

    try:
        trust = TrustStore.from_config(config)
    except ValueError as exc:
        raise ScanError(str(exc)) from None
    registrations = (Registrations(config, StoreRegistrationCache(store), since=since)
                     if config.domains.enabled else None)
    return registrations, trust


def share_of(config: Config, workers: int) -> Config:
    """One worker's part of the scan's limits: the global and per-address fetch concurrency, the RDAP rates
    and the browser pages are for the whole scan, so N workers take 1/N each (at least one)."""
    if workers <= 1:
        return config

    def part(value: int) -> int:
        return max(1, value // workers)

    return replace(
        config,
        fetch=replace(config.fetch, concurrency=part(config.fetch.concurrency),
                      per_ip_concurrency=part(config.fetch.per_ip_concurrency)),
        domains=replace(config.domains, concurrency=part(config.domains.concurrency),
                        per_server_per_s=config.domains.per_server_per_s / workers),
        render=replace(config.render, pages=part(config.render.pages),
                       max_pages=math.ceil(config.render.max_pages / workers)),
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _shooter(config: Config, store: Store, scan_id: int, renderer, shard: Shard):
    """The crawl's evidence screenshots (spiders.screenshot), or None: off, capped at zero, or no browser. The
    scan's cap is split exactly between its shards (the first ones take the remainder)."""
    total = config.screenshots.max_per_scan
    cap = total // shard.count + (1 if shard.index < total % shard.count else 0)
    if renderer is None or not config.screenshots.enabled or cap == 0:
        return None
    config = replace(config, screenshots=replace(config.screenshots, max_per_scan=cap))
    from scanner.cases import in_notices
    from scanner.store import screenshots
    from spiders.screenshot import Shooter

    return Shooter(config.screenshots, config.render, renderer, lambda shot: screenshots.save(store, scan_id, shot),
                   notified=lambda code: in_notices(config, code))


def _render_stats(context: ScanContext, browser_cpu_s: float) -> dict:
    renderer = context.renderer
    if renderer is None:
        return {"state": "off", "reason": context.render_off}
    stats = dict(renderer.stats)
    if context.screenshots is not None:
        stats.update(context.screenshots.report())
    stats["state"] = "stopped" if renderer.off_reason else "on"
    if renderer.off_reason:
        stats["reason"] = renderer.off_reason
    stats["browser_cpu_s"] = round(browser_cpu_s, 3)
    return stats


def raise_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def self_usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def crawl_shard(config: Config, store: Store, scan_id: int, selector: Selector, progress, *,
                shard: Shard = WHOLE, heartbeat: bool = True, feed=None) -> CrawlReport:
    """Crawl the websites of `shard` of the scan's selection that the scan has not observed yet, storing each
    one's observation and findings for `scan_id`. `progress` counts every website done. An interruption
    (a signal: Scrapy stops gracefully) returns with finish_reason "shutdown"; what was stored stays, and the
    rest is crawled when the scan resumes.

    With `feed` (a distributed worker, scanner.cluster.worker) the websites come from the scan's lease queue
    instead of the store, the writes are idempotent per (scan, website) and each committed batch is reported
    to the feed, which acknowledges its leases."""
    from scrapy.crawler import CrawlerProcess

    from checks.placeholder import placeholder_kind
    from scanner.pipeline import STAGES
    from spiders.homepage import HomepageSpider
    from spiders.settings import crawl_settings

    renderer, render_off = _renderer(config)
    registrations, trust = domain_facts(config, store, since=opened_at(store, scan_id))
    files = raise_file_limit(65536)
    concurrency = max(8, min(config.fetch.concurrency, (files - 200) // 3))
    if concurrency != config.fetch.concurrency:
        config = replace(config, fetch=replace(config.fetch, concurrency=concurrency))
    writer = StoreWriter(store, scan_id, heartbeat=heartbeat, kill_after=kill_after(shard.index),
                         idempotent=feed is not None, on_commit=feed.committed if feed is not None else None)
    batches = iter(()) if feed is not None else iter_batches(store, config, selector, scan_id, size=500, shard=shard)
    context = ScanContext(
        config=config, store=store, scan_id=scan_id, selector=selector, dns=DnsView(config),
        policy=AddressPolicy(config), ownership=Ownership(config, StoreOwnerCache(store)), writer=writer,
        progress=progress, batches=batches, feed=feed,
        is_placeholder=lambda page: placeholder_kind(page) is not None,
    )
    context.renderer, context.render_off = renderer, render_off
    context.screenshots = _shooter(config, store, scan_id, renderer, shard)
    context.registrations, context.trust = registrations, trust
    tally = _Counting(progress)
    context.progress = tally
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
    failure = ""
    try:
        process.crawl(crawler)
        process.start()
    except KeyboardInterrupt:  # a signal before Scrapy's own handlers were in place: interrupted, resumable
        pass
    except Exception as exc:  # noqa: BLE001 - reported by the caller as one line
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        progress.stop()
        try:
            writer.close()
        except ScanError as exc:
            failure = failure or str(exc)
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    timing = {k: round(v, 3) for k, v in context.timing.items()}
    timing["store"] = round(writer.cpu_s, 3)
    cpu_s, rss_mb = self_usage()
    return CrawlReport(
        finish_reason=reason, observed=tally.done, not_checked=tally.not_checked, by_code=dict(tally.by_code),
        timing=timing, dns_queries=context.dns.queries, rdap_queries=context.ownership.rdap_queries,
        rdap_domain_queries=getattr(registrations, "queries", 0), rdap_domain_cached=getattr(registrations, "cached", 0),
        writer=dict(writer.counts), render=_render_stats(context, _children_cpu() - children_cpu),
        cpu_s=round(cpu_s, 3), rss_mb=round(rss_mb, 1), failure=failure,
    )


class _Counting:
    """The crawl's own count of what it did, passed on to the scan's progress."""

    def __init__(self, progress) -> None:
        from scanner.progress import Tally

        self.progress = progress
        self.tally = Tally()

    @property
    def done(self) -> int:
        return self.tally.done

    @property
    def not_checked(self) -> int:
        return self.tally.not_checked

    @property
    def by_code(self) -> Counter:
        return self.tally.by_code

    def site_done(self, item: dict) -> None:
        self.tally.site_done(item)
        self.progress.site_done(item)

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


def merge_timing(reports: list[CrawlReport]) -> dict:
    total: Counter = Counter()
    for report in reports:
        total.update(report.timing)
    return {k: round(v, 3) for k, v in total.items()}
