"""The coordinator's crawl of a distributed scan (`beian scan --distributed`): fill the scan's Redis queue
lazily from the store, give expired leases back to the queue, follow the workers, and say when every
website of the selection has a result or was given up. scanner.scan.run_scan does the rest (registry checks,
cases, notices, the health gate) exactly as after a local crawl.

PostgreSQL decides what is left: the queue is filled with the selection's websites not yet observed
(scanner.targets.iter_ids), in id order, a batch at a time while the pending list runs low. Once that pass is
through and nothing is queued or leased, the store is asked again: what is still not observed (a website
whose ids Redis lost in a restart, say) is queued once more, until nothing is left but the given-up ones.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from sqlalchemy import func, select

from core.config import Config
from scanner.cluster.queue import ScanQueue, connect
from scanner.crawl import CrawlReport
from scanner.scans import ScanError
from scanner.store.db import Store, retrying, utcnow
from scanner.store.models import Finding, Observation, Scan, Website
from scanner.targets import Selector, iter_ids

log = logging.getLogger("beian.cluster")
LOW_WATER = 2000  # ids queued at least, while the store has more
BATCH = 1000
TICK_S = 0.5
HEARTBEAT_S = 5.0
REPORT_S = 10.0


def require_cluster(config: Config) -> None:
    if not config.cluster.redis_url:
        raise ScanError("cluster.redis_url is not set: `scan --distributed` needs the cluster's Redis")
    if not config.database.startswith("postgres"):
        raise ScanError("database: a distributed scan needs PostgreSQL")


class Coordinator:
    def __init__(self, config: Config, store: Store, scan_id: int, selector: Selector, progress, stream=None) -> None:
        self.config = config
        self.store = store
        self.scan_id = scan_id
        self.selector = selector
        self.progress = progress
        self.stream = stream
        self.queue = ScanQueue(connect(config), scan_id)
        self.cursor = 0  # the last website id queued in this pass
        self.exhausted = False  # this pass has queued every website not observed
        self.given_up: dict[int, str] = dict(self._given_up_before())
        self.nodes: dict[str, dict] = {}
        self.requeued = 0
        self.rebuilt = 0
        self.observed = 0
        self.stopping = threading.Event()

    def run(self) -> CrawlReport:
        started = time.monotonic()
        previous = self._trap_signals()
        reason = "shutdown"
        try:
            self._redis(lambda: self.queue.open(self.selector.as_dict()))
            self.observed = self._observed()
            beat = report = 0.0
            while not self.stopping.is_set():
                if self._redis(self._tick):
                    reason = "finished"
                    break
                now = time.monotonic()
                if now - beat >= HEARTBEAT_S:
                    self._heartbeat()
                    beat = now
                if self.stream is not None and now - report >= REPORT_S:
                    self._print_nodes()
                    report = now
                self.stopping.wait(TICK_S)
        finally:
            self._restore_signals(previous)
            try:
                self.queue.close()
            except Exception:  # noqa: BLE001 - Redis away: the workers stop on the scan's state in the store
                pass
            self._heartbeat()
        return self._report(reason, time.monotonic() - started)

    # -- one step ---------------------------------------------------------------------------------------
    def _tick(self) -> bool:
        """One round; True when the crawl is complete."""
        if not self.queue.intact():  # Redis lost the scan's keys (a restart without persistence)
            log.warning("scan %d: the queue was lost (Redis restarted?); queued again from the store", self.scan_id)
            self.queue.open(self.selector.as_dict())
            self.cursor, self.exhausted = 0, False
            self.rebuilt += 1
        requeued, given_up = self.queue.reap(self.config.cluster.max_leases)
        self.requeued += requeued
        for website_id in given_up:
            self.given_up[website_id] = (f"given up after {self.config.cluster.max_leases} leases ended without a "
                                         "result (the workers holding it died or lost their lease)")
        self._fill()
        self.nodes = self.queue.nodes()
        observed = self._observed()
        if observed > self.observed:
            self.progress.merge({"done": observed - self.observed})
            self.observed = observed
        if not self.exhausted or self.queue.pending() or any(self.queue.leased().values()):
            return False
        if not self._left():
            return True
        self.cursor, self.exhausted = 0, False  # another pass over what the store has not observed
        return False

    def _fill(self) -> None:
        while not self.exhausted and self.queue.pending() < LOW_WATER:
            batch = next(iter_ids(self.store, self.selector, self.scan_id, size=BATCH, after=self.cursor), None)
            if batch is None:
                self.exhausted = True
                break
            self.cursor = batch[-1]
            self.queue.push(i for i in batch if i not in self.given_up)

    def _left(self) -> bool:
        """Websites of the selection neither observed nor given up."""
        for batch in iter_ids(self.store, self.selector, self.scan_id, size=BATCH):
            if any(i not in self.given_up for i in batch):
                return True
        return False

    def _redis(self, work):
        """work(), tried again while Redis is away (a restart); the scan waits for it."""
        while True:
            try:
                return work()
            except Exception as exc:  # noqa: BLE001 - redis.ConnectionError and its kin
                if not _is_redis_error(exc) or self.stopping.is_set():
                    raise
                log.warning("redis: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                self.stopping.wait(1.0)

    # -- the store --------------------------------------------------------------------------------------
    def _observed(self) -> int:
        with self.store.session() as session:
            return session.scalar(select(func.count()).select_from(Observation)
                                  .where(Observation.scan_id == self.scan_id)) or 0

    def _given_up_before(self) -> dict[int, str]:
        with self.store.session() as session:
            scan = session.get(Scan, self.scan_id)
            items = ((scan.stats or {}).get("given_up") or []) if scan else []
        return {int(item["website_id"]): item["reason"] for item in items}

    def _given_up_rows(self) -> list[dict]:
        if not self.given_up:
            return []
        with self.store.session() as session:
            numbers = dict(session.execute(select(Website.id, Website.website_number)
                                           .where(Website.id.in_(list(self.given_up)))).all())
        return [{"website_id": i, "website_number": numbers.get(i), "reason": why}
                for i, why in sorted(self.given_up.items())]

    def _heartbeat(self) -> None:
        def beat() -> None:
            with self.store.transaction() as session:
                scan = session.get(Scan, self.scan_id)
                scan.stats = {**(scan.stats or {}), "heartbeat": utcnow().isoformat(), "distributed": True,
                              "nodes": self._by_node(), "given_up": self._given_up_rows()}

        try:
            retrying(beat)
        except Exception:  # noqa: BLE001 - a missed heartbeat is harmless
            pass

    def _by_node(self) -> dict[str, dict]:
        """The workers' progress summed per node (a node may run several workers)."""
        merged: dict[str, dict] = {}
        for stats in self.nodes.values():
            node = merged.setdefault(stats.get("node", "?"), {"workers": 0, "done": 0, "in_flight": 0, "failures": 0,
                                                              "findings": 0, "sites_per_s": 0.0})
            node["workers"] += 1
            for key in ("done", "in_flight", "failures", "findings"):
                node[key] += int(stats.get(key, 0))
            node["sites_per_s"] = round(node["sites_per_s"] + float(stats.get("sites_per_s", 0.0)), 2)
        return merged

    def _print_nodes(self) -> None:
        for node, stats in sorted(self._by_node().items()):
            self.stream.write(f"  node {node}: {stats['sites_per_s']:.1f} sites/s, {stats['done']} done, "
                              f"{stats['in_flight']} in flight, {stats['failures']} could not be checked, "
                              f"{stats['findings']} findings ({stats['workers']} workers)\n")
        self.stream.flush()

    def _report(self, reason: str, elapsed: float) -> CrawlReport:
        by_code: dict[str, int] = {}
        with self.store.session() as session:
            not_checked = session.scalar(select(func.count()).select_from(Observation).where(
                Observation.scan_id == self.scan_id, Observation.outcome != "checked")) or 0
            for check, n in session.execute(
                select(Finding.check, func.count()).where(Finding.last_scan_id == self.scan_id,
                                                          Finding.closed_at.is_(None)).group_by(Finding.check)
            ):
                by_code[check] = n
        self.progress.not_checked = not_checked
        writer = {"requeued": self.requeued, "queue_rebuilt": self.rebuilt, "given_up": len(self.given_up)}
        return CrawlReport(finish_reason=reason, observed=self.observed, not_checked=not_checked, by_code=by_code,
                           timing={}, dns_queries=0, rdap_queries=0, rdap_domain_queries=0, rdap_domain_cached=0,
                           writer=writer, render={"state": "distributed"})

    # -- signals ------------------------------------------------------------------------------------------
    def _trap_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {n: signal.signal(n, lambda *_: self.stopping.set()) for n in (signal.SIGINT, signal.SIGTERM)}

    def _restore_signals(self, previous: dict) -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | ConnectionError | TimeoutError | OSError)
