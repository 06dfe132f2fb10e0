"""A scan's life in the store: opened (or an interrupted one of the same selection resumed), marked
interrupted when its process is gone. An interrupted scan resumes when the same selection runs again."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select

from core import clock
from scanner.store.db import Store, as_utc, retrying, utcnow
from scanner.store.models import Scan
from scanner.targets import Selector

STALE_AFTER_S = 120  # a running scan whose heartbeat is older than this is taken as dead
HEARTBEAT_S = 30.0  # how often a live scan's process beats, well inside STALE_AFTER_S


class ScanError(Exception):
    """The scan itself could not run; one line."""


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_scan(store: Store, selector: Selector) -> tuple[int, bool]:
    """(scan id, resumed): an interrupted scan of the same selection is resumed, else a new one begins."""
    wanted = selector.as_dict()
    with store.transaction() as session:
        candidates = session.scalars(
            select(Scan).where(Scan.state.in_(("running", "interrupted"))).order_by(Scan.id.desc())
        ).all()
        for scan in candidates:
            if scan.selector != wanted:
                continue
            stats = scan.stats or {}
            beat = stats.get("heartbeat")
            fresh = beat and (utcnow() - as_utc(datetime.fromisoformat(beat))).total_seconds() < STALE_AFTER_S
            if scan.state == "running" and _pid_alive(stats.get("pid")) and fresh:
                raise ScanError(f"scan {scan.id} of the same selection is still running (pid {stats.get('pid')})")
            scan.state = "running"
            scan.stats = {**stats, "pid": os.getpid(), "heartbeat": utcnow().isoformat(),
                          "resumed": stats.get("resumed", 0) + 1}
            return scan.id, True
        scan = Scan(started_at=clock.now(), state="running", selector=wanted,
                    stats={"pid": os.getpid(), "heartbeat": utcnow().isoformat(), "opened_at": utcnow().isoformat()})
        session.add(scan)
        session.flush()
        return scan.id, False


def opened_at(store: Store, scan_id: int) -> datetime | None:
    """When the scan was first opened (the clock of the store's own timestamps, not core.clock)."""
    with store.session() as session:
        scan = session.get(Scan, scan_id)
        moment = (scan.stats or {}).get("opened_at") if scan else None
    return as_utc(datetime.fromisoformat(moment)) if moment else None


def mark_interrupted(store: Store, pid: int) -> int:
    """Scans a dead process left `running` become `interrupted` (they resume with the same selection)."""
    with store.transaction() as session:
        stale = [scan for scan in session.scalars(select(Scan).where(Scan.state == "running"))
                 if (scan.stats or {}).get("pid") == pid]
        for scan in stale:
            scan.state = "interrupted"
        return len(stale)


def heartbeat(store: Store, scan_id: int) -> None:
    """Tell a later run that this process still owns the scan; a missed beat is harmless."""
    def beat() -> None:
        with store.transaction() as session:
            scan = session.get(Scan, scan_id)
            scan.stats = {**(scan.stats or {}), "heartbeat": utcnow().isoformat(), "pid": os.getpid()}

    try:
        retrying(beat)
    except Exception:  # noqa: BLE001 - the next beat may get through
        pass


@contextmanager
def kept_alive(store: Store, scan_id: int, every_s: float = HEARTBEAT_S) -> Iterator[None]:
    """Beat for the scan from a thread while the body runs: the registry checks of a million websites take
    longer than STALE_AFTER_S, and a scan without a beat would be taken over by the next run."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            heartbeat(store, scan_id)

    thread = threading.Thread(target=loop, name="scan-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
