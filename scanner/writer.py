"""The scan's store writer: observations and findings written from a thread, in batches, one transaction
per batch, with a heartbeat that tells a later run whether the scan's process is still alive.

Several crawl workers of one scan may each run a writer on the same database: a batch takes the write lock
up front (Store.transaction) and is tried again when the lock stays contended past SQLite's busy timeout.
The workers' writers leave the scan's row alone (heartbeat=False): the parent process that opened the scan
keeps its heartbeat.

`BEIAN_TEST_KILL_WORKER=SHARD:K` (tests only, read only when set) makes the crawl of shard SHARD SIGKILL its
own process right after the transaction that stored its K-th observation: a kill at a named point, not at
a moment that depends on timing.

A distributed worker (scanner.cluster) may be handed a website whose result another worker already stored
(a lease that expired while its worker was only slow, a queue rebuilt after a Redis restart): with
`idempotent=True` (PostgreSQL) an observation already stored for (scan, website) is left as it is
(`ON CONFLICT DO NOTHING`) and its findings are not applied a second time. `on_commit` is called with the
website ids of each batch once its transaction has committed (the worker acknowledges its leases there).
"""

from __future__ import annotations

import functools
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from core import clock
from scanner import findings as findings_store
from scanner.scans import ScanError
from scanner.store.db import Store, retrying, utcnow
from scanner.store.models import Observation, Scan
from scanner.store.observations import encode

KILL_HOOK = "BEIAN_TEST_KILL_WORKER"


def kill_after(shard_index: int) -> int | None:
    """The test hook: after how many stored observations the crawl of this shard kills itself, or None."""
    wanted = os.environ.get(KILL_HOOK)
    if not wanted:
        return None
    shard, _, nth = wanted.partition(":")
    return int(nth or 1) if int(shard) == shard_index else None


class StoreWriter:
    """Writes observations and findings from a thread, in batches, one transaction per batch."""

    def __init__(self, store: Store, scan_id: int, batch: int = 200, *, heartbeat: bool = True,
                 kill_after: int | None = None, idempotent: bool = False,
                 on_commit: Callable[[list[int]], None] | None = None) -> None:
        if idempotent and store.engine.dialect.name != "postgresql":
            raise ScanError("idempotent writes need PostgreSQL")
        self.store = store
        self.idempotent = idempotent
        self.on_commit = on_commit
        self.scan_id = scan_id
        self.batch = batch
        self.heartbeat = heartbeat
        self.kill_after = kill_after
        self.queue: queue.Queue = queue.Queue(maxsize=5000)
        self.error: BaseException | None = None
        self.cpu_s = 0.0
        self.counts: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def put(self, item: dict) -> None:
        if self.error is not None:
            raise ScanError(f"cannot store results: {self.error}")
        self.queue.put(item)

    def close(self) -> None:
        self.queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise ScanError(f"cannot store results: {str(self.error).splitlines()[0]}")

    def _limit(self) -> int:
        if self.kill_after is None:
            return self.batch
        return max(1, min(self.batch, self.kill_after - self.counts["observations"]))

    def _run(self) -> None:
        done = False
        while not done:
            items = []
            try:
                item = self.queue.get(timeout=1.0)
            except queue.Empty:
                self._heartbeat()
                continue
            deadline = time.monotonic() + 0.5
            limit = self._limit()
            while item is not None:
                items.append(item)
                if len(items) >= limit:
                    break
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            else:
                done = True
            if items and self.error is None:
                started = time.thread_time()
                try:
                    retrying(functools.partial(self._write, items))
                except Exception as exc:  # noqa: BLE001 - reported by close()
                    self.error = exc
                self.cpu_s += time.thread_time() - started
                if self.on_commit is not None and self.error is None:
                    try:
                        self.on_commit([item["record"].website_id for item in items])
                    except Exception as exc:  # noqa: BLE001 - reported by close()
                        self.error = exc
                if self.kill_after is not None and self.counts["observations"] >= self.kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)

    def _heartbeat(self) -> None:
        if not self.heartbeat:
            return
        try:
            with self.store.transaction() as session:
                scan = session.get(Scan, self.scan_id)
                scan.stats = {**(scan.stats or {}), "heartbeat": utcnow().isoformat(), "pid": os.getpid()}
        except Exception:  # noqa: BLE001 - a missed heartbeat is harmless
            pass

    def _write(self, items: list[dict]) -> None:
        now = clock.now()
        rows, verdicts = [], []
        for item in items:
            record = item["record"]
            rows.append({"scan_id": self.scan_id, "website_id": record.website_id, "observed_at": now,
                         "outcome": item["outcome"], "reason": item.get("reason", "")[:500],
                         "data": encode(item["obs"])})
            verdicts.append(findings_store.Verdicts(record.subject_number, record.website_number, item["outcomes"]))
        with self.store.transaction() as session:
            if self.idempotent:
                # The findings' lock first (findings.apply takes it again; it is re-entrant): two workers
                # storing the same website wait for each other instead of deadlocking on each other's rows.
                session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
                stored = set(session.scalars(
                    pg_insert(Observation).values(rows)
                    .on_conflict_do_nothing(index_elements=["scan_id", "website_id"])
                    .returning(Observation.website_id)
                ))
                fresh = []
                for verdict, row in zip(verdicts, rows, strict=True):
                    if row["website_id"] in stored:
                        stored.discard(row["website_id"])  # once, should a batch hold a website twice
                        fresh.append(verdict)
                self.counts["duplicates"] += len(rows) - len(fresh)
                verdicts = fresh
            else:
                session.execute(insert(Observation), rows)
            counts = findings_store.apply(session, self.scan_id, now, verdicts)
            if self.heartbeat:
                scan = session.get(Scan, self.scan_id)
                scan.stats = {**(scan.stats or {}), "heartbeat": utcnow().isoformat(), "pid": os.getpid()}
        self.counts.update(counts)
        self.counts["observations"] += len(rows)
