"""Crawl workers: one scan crawled by N processes on this machine, each over its own shard of the websites.

The parent opened the scan; it starts N processes (multiprocessing, spawn: Scrapy's reactor starts once per
process), each running `crawl_shard` over shard i of N with its share of the scan's limits and its own
connection to the database, writing observations and findings for the scan's id. Each worker reports its
counts to the parent through its own pipe (a worker killed mid-message cannot block the others), so the
parent shows one progress bar; at the end each worker hands over its CrawlReport.

A worker dies with its parent (PR_SET_PDEATHSIG on Linux, else a watchdog on the parent's pid): a worker
left crawling by a dead parent could race the resumed scan for the same websites. A worker runs in its own
process group so that a Ctrl-C on the terminal reaches the parent only, which passes every SIGINT/SIGTERM on
to the workers (Scrapy: the first stops gracefully, the second at once).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict
from multiprocessing.connection import Connection, wait

from core.config import Config
from scanner.crawl import CrawlReport, crawl_shard, share_of
from scanner.progress import Tally
from scanner.scans import HEARTBEAT_S, ScanError, heartbeat
from scanner.store.db import Store
from scanner.targets import Selector, Shard

FEED_INTERVAL_S = 0.25  # how often a worker reports its counts
PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# -- the worker side ---------------------------------------------------------------------------------------

class _Feed:
    """A worker's progress: counts sent to the parent every FEED_INTERVAL_S, the rest at stop()."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def site_done(self, item: dict) -> None:
        self.tally.site_done(item)

    def start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._loop, name="progress-feed", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._send()

    def _send(self) -> None:
        delta = self.tally.take()
        if delta["done"]:
            _send(self.conn, ("progress", delta))

    def _loop(self) -> None:
        while not self._stop.wait(FEED_INTERVAL_S):
            self._send()


def _send(conn: Connection, message: tuple) -> None:
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError):  # the parent is gone: so is the scan
        os.kill(os.getpid(), signal.SIGKILL)


def _die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)

    if os.getppid() != parent_pid:  # died before the death signal was armed
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker(spec: dict, conn: Connection) -> None:
    """A worker process: crawl one shard of the scan, then hand the report over."""
    _die_with_parent(spec["parent_pid"])
    try:
        os.setpgrp()
    except OSError:
        pass
    store = None
    try:
        store = Store(spec["database"], migrate=False)
        report = crawl_shard(spec["config"], store, spec["scan_id"], Selector.from_dict(spec["selector"]),
                             _Feed(conn), shard=Shard(spec["index"], spec["count"]), heartbeat=False)
        _send(conn, ("report", asdict(report)))
    except ScanError as exc:
        _send(conn, ("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - the parent reports it as one line
        _send(conn, ("error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
    finally:
        if store is not None:
            store.dispose()
        conn.close()


# -- the parent side ---------------------------------------------------------------------------------------

class _Child:
    def __init__(self, index: int, process, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn: Connection | None = conn
        self.report: CrawlReport | None = None
        self.error = ""

    def lost(self) -> str:
        """Why this worker left no report, in a few words ("" when it did)."""
        if self.report is not None:
            return ""
        if self.error:
            return self.error
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"ended by {signal.Signals(-code).name}"
        return f"exited with code {code}"


class WorkerRun:
    """The N workers of one scan, from the parent: start, merge their progress, collect their reports."""

    def __init__(self, config: Config, store: Store, scan_id: int, selector: Selector, workers: int,
                 progress) -> None:
        self.config = config
        self.store = store
        self.scan_id = scan_id
        self.selector = selector
        self.workers = workers
        self.progress = progress
        self.children: list[_Child] = []
        self._signals = 0

    def run(self) -> list[_Child]:
        context = multiprocessing.get_context("spawn")
        share = share_of(self.config, self.workers)
        previous = self._trap_signals()
        try:
            for index in range(self.workers):
                reader, writer = context.Pipe(duplex=False)
                spec = {"parent_pid": os.getpid(), "database": self.store.url, "config": share,
                        "scan_id": self.scan_id, "selector": self.selector.as_dict(), "index": index,
                        "count": self.workers}
                process = context.Process(target=_worker, args=(spec, writer), name=f"beian-scan-{index}",
                                          daemon=True)
                process.start()
                writer.close()
                self.children.append(_Child(index, process, reader))
            self._collect()
        finally:
            for child in self.children:
                if child.process.is_alive():  # only when the parent itself fails here
                    child.process.kill()
                child.process.join()
            self._restore_signals(previous)
        return self.children

    def _collect(self) -> None:
        beat = time.monotonic()
        while any(child.conn is not None for child in self.children):
            readers = [child.conn for child in self.children if child.conn is not None]
            for conn in wait(readers, timeout=1.0):
                child = next(c for c in self.children if c.conn is conn)
                try:
                    kind, body = conn.recv()
                except (EOFError, OSError):  # the worker is gone (its report, if any, came before)
                    conn.close()
                    child.conn = None
                    continue
                if kind == "progress":
                    self.progress.merge(body)
                elif kind == "report":
                    child.report = CrawlReport(**body)
                else:
                    child.error = body
            if time.monotonic() - beat >= HEARTBEAT_S:
                self._heartbeat()
                beat = time.monotonic()

    def _heartbeat(self) -> None:
        heartbeat(self.store, self.scan_id)

    def _trap_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, self._pass_on)
        return previous

    def _restore_signals(self, previous: dict) -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    def _pass_on(self, number, _frame) -> None:
        """SIGINT/SIGTERM to the scan: each one goes on to every worker (the first stops them gracefully)."""
        self._signals += 1
        for child in self.children:
            if child.process.is_alive():
                try:
                    os.kill(child.process.pid, number)
                except ProcessLookupError:
                    pass
