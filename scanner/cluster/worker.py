"""`beian worker`: crawls the websites of distributed scans, leased from their Redis queue, until stopped.

The worker process watches the set of active scans; for each it starts one crawl process (multiprocessing,
spawn: Scrapy's reactor starts once per process), which runs scanner.crawl.crawl_shard fed by a LeaseFeed:
the spider asks the feed for its next batch, the feed leases ids from the queue (LMOVE into this worker's
processing list), builds their records with the store query of a local scan (scanner.targets.records_for:
a website already observed is acknowledged, not crawled) and hands them over. The store writer calls
`committed` after each transaction; only then are the batch's ids acknowledged. A thread keeps the lease
alive (cluster.lease_s) and reports the worker's progress. A crawl process dies with its worker.

`BEIAN_TEST_KILL_NODE=NODE:POINT:K` (tests only, read only when set) makes the worker whose cluster.node_name
is NODE SIGKILL itself and its crawl process at a named point: POINT `leased` right after it leased its K-th
batch (before crawling it), `committed` right after the transaction storing its K-th observation (before the
leases are acknowledged), `acked` right after acknowledging the K-th observation.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque

from core.config import Config, database_url
from scanner.cluster.queue import ScanQueue, active_scans, connect
from scanner.progress import Tally
from scanner.scans import ScanError
from scanner.store.db import Store
from scanner.store.models import Scan
from scanner.targets import Selector, records_for

log = logging.getLogger("beian.worker")
KILL_HOOK = "BEIAN_TEST_KILL_NODE"
POLL_S = 0.5  # how often an idle worker looks for work
REPORT_S = 1.0  # how often a worker reports its progress
REDIS_RETRY_S = 1.0
RESTART_AFTER_S = 5.0  # a crawl process that failed is started again after this


def node_name(config: Config) -> str:
    return config.cluster.node_name or socket.gethostname()


def kill_point(config: Config) -> tuple[str, int] | None:
    wanted = os.environ.get(KILL_HOOK)
    if not wanted:
        return None
    node, point, nth = wanted.split(":")
    return (point, int(nth)) if node == node_name(config) else None


def _die_now() -> None:
    """The test hook's kill -9: this worker and its crawl process, at once."""
    parent = os.getppid()
    if parent > 1:
        os.kill(parent, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


class LeaseFeed:
    """The spider's source of websites in a distributed scan; also the crawl's progress (Tally)."""

    def __init__(self, config: Config, store: Store, scan_id: int, selector: Selector, worker: str) -> None:
        self.config = config
        self.store = store
        self.scan_id = scan_id
        self.selector = selector
        self.worker = worker
        self.node = node_name(config)
        # A worker holds at most fetch.concurrency websites (each machine has its own network and limits), leased
        # a few at a time, so that the queue's websites spread over the nodes and a dead node leaves little.
        self.cap = config.fetch.concurrency
        self.batch = max(4, min(50, self.cap // 4))
        self.queue = ScanQueue(connect(config), scan_id)
        self.tally = Tally()
        self.failures = 0
        self.leases = 0
        self.acked = 0
        self.stored = 0  # observations this crawl committed (the kill hook counts these)
        self.kill = kill_point(config)
        self._recent: deque[tuple[float, int]] = deque(maxlen=30)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._lock = threading.Lock()

    # -- the spider's side (in the reactor's loop) ------------------------------------------------------
    async def next_batch(self):
        """The next leased websites as SiteRecords; None once the scan's crawl is over (or it was stopped)."""
        while True:
            while self._in_flight >= self.cap and not self._stop.is_set():
                await asyncio.sleep(0.05)
            try:
                if await asyncio.to_thread(self._over):
                    return None
                wanted = min(self.batch, self.cap - self._in_flight)
                ids = await asyncio.to_thread(self.queue.lease, self.worker, max(1, wanted), self.config.cluster.lease_s)
            except Exception as exc:  # noqa: BLE001 - Redis away (a restart): wait for it
                log.warning("redis: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                await asyncio.sleep(REDIS_RETRY_S)
                continue
            if not ids:
                await asyncio.sleep(POLL_S)
                continue
            self.leases += 1
            if self.kill == ("leased", self.leases):
                _die_now()
            records = await asyncio.to_thread(records_for, self.store, self.config, self.selector, self.scan_id, ids)
            wanted = {r.website_id for r in records}
            skipped = [i for i in ids if i not in wanted]  # stored already, or no longer selected
            if skipped:
                await asyncio.to_thread(self._ack, skipped)
            if records:
                with self._lock:
                    self._in_flight += len(records)
                return records

    def _over(self) -> bool:
        if self._stop.is_set() or self.queue.closed():
            return True
        with self.store.session() as session:
            scan = session.get(Scan, self.scan_id)
            return scan is None or scan.state != "running"

    # -- the store writer's side (its thread) ---------------------------------------------------------
    def committed(self, ids: list[int]) -> None:
        """A batch's transaction committed: count it, then acknowledge its leases."""
        before = self.stored
        self.stored += len(ids)
        if self.kill is not None and self.kill[0] == "committed" and before < self.kill[1] <= self.stored:
            _die_now()
        self._ack(ids)
        with self._lock:
            self._in_flight = max(0, self._in_flight - len(ids))
        if self.kill is not None and self.kill[0] == "acked" and before < self.kill[1] <= self.stored:
            _die_now()

    def _ack(self, ids: list[int]) -> None:
        for attempt in range(30):
            try:
                self.queue.ack(self.worker, ids, self._stats())
                break
            except Exception:  # noqa: BLE001 - Redis away: the lease expires and the stored sites are skipped
                if attempt == 29:
                    log.warning("redis: could not acknowledge %d websites; their leases will expire", len(ids))
                time.sleep(REDIS_RETRY_S)
        self.acked += len(ids)

    # -- the crawl's progress (scanner.crawl._Counting) -----------------------------------------------
    def site_done(self, item: dict) -> None:
        self.tally.site_done(item)
        if item.get("outcome") == "not_checked":
            self.failures += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._report()

    def _loop(self) -> None:
        hold_every = max(0.2, min(REPORT_S, self.config.cluster.lease_s / 3))
        while not self._stop.wait(hold_every):
            self._report()

    def _stats(self) -> dict:
        rate = 0.0
        if self._recent:
            (first_t, first_done), (last_t, last_done) = self._recent[0], self._recent[-1]
            rate = (last_done - first_done) / (last_t - first_t) if last_t > first_t else 0.0
        return {"node": self.node, "pid": os.getpid(), "done": self.tally.done, "not_checked": self.tally.not_checked,
                "findings": self.tally.findings, "in_flight": self._in_flight, "failures": self.failures,
                "sites_per_s": round(rate, 2), "at": time.time()}

    def _report(self) -> None:
        self._recent.append((time.monotonic(), self.tally.done))
        stats = self._stats()
        try:
            if not self._stop.is_set():
                self.queue.hold(self.worker, self.config.cluster.lease_s)
            self.queue.report(self.worker, stats)
        except Exception:  # noqa: BLE001 - Redis away: reported again in a moment
            pass


def _crawl(spec: dict) -> None:
    """A crawl process: lease and crawl the websites of one distributed scan until its crawl is over."""
    from scanner.crawl import crawl_shard
    from scanner.workers import _die_with_parent

    _die_with_parent(spec["parent_pid"])
    config: Config = spec["config"]
    store = Store(database_url(config), migrate=False)
    try:
        with store.session() as session:
            scan = session.get(Scan, spec["scan_id"])
            selector = Selector.from_dict(scan.selector if scan else {})
        worker = f"{node_name(config)}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        feed = LeaseFeed(config, store, spec["scan_id"], selector, worker)
        report = crawl_shard(config, store, spec["scan_id"], selector, feed, heartbeat=False, feed=feed)
        if report.failure:
            log.error("scan %d: %s", spec["scan_id"], report.failure)
        else:  # everything stored is acknowledged (the writer closed): what is left was never crawled
            try:
                released = feed.queue.release(worker)
            except Exception:  # noqa: BLE001 - Redis away: the lease expires instead
                released = 0
            if released:
                log.info("scan %d: %d websites given back to the queue", spec["scan_id"], released)
    finally:
        store.dispose()


class Worker:
    """The long-running worker: one crawl process per active distributed scan."""

    def __init__(self, config: Config) -> None:
        if not config.cluster.redis_url:
            raise ScanError("cluster.redis_url is not set: a worker needs the cluster's Redis")
        self.config = config
        self.redis = connect(config)
        self.crawls: dict[int, multiprocessing.Process] = {}
        self.retry_at: dict[int, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        context = multiprocessing.get_context("spawn")
        previous = {n: signal.signal(n, self._stop) for n in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self.stopping.is_set():
                for scan_id, process in list(self.crawls.items()):
                    if not process.is_alive():
                        process.join()
                        del self.crawls[scan_id]
                        if process.exitcode:  # a crawl that failed is started again, not in a tight loop
                            log.warning("scan %d: crawl process ended with %s", scan_id, process.exitcode)
                            self.retry_at[scan_id] = time.monotonic() + RESTART_AFTER_S
                try:
                    scans = active_scans(self.redis)
                except Exception as exc:  # noqa: BLE001 - Redis away: wait for it
                    log.warning("redis: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                    scans = []
                for scan_id in scans:
                    if (scan_id not in self.crawls and not self.stopping.is_set()
                            and time.monotonic() >= self.retry_at.get(scan_id, 0.0)):
                        spec = {"parent_pid": os.getpid(), "config": self.config, "scan_id": scan_id}
                        process = context.Process(target=_crawl, args=(spec,), name=f"beian-worker-{scan_id}",
                                                  daemon=True)
                        process.start()
                        self.crawls[scan_id] = process
                        log.info("scan %d: crawl process %d", scan_id, process.pid)
                self.stopping.wait(POLL_S)
        finally:
            for process in self.crawls.values():
                process.join()
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _stop(self, number, _frame) -> None:
        """SIGINT/SIGTERM: the crawls finish what they hold (Scrapy's graceful stop), then the worker ends."""
        self.stopping.set()
        for process in self.crawls.values():
            if process.is_alive():
                try:
                    os.kill(process.pid, number)
                except ProcessLookupError:
                    pass
