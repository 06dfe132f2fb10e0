"""A scan's process keeps beating while the post-crawl work runs, so the next run does not take it over."""

from __future__ import annotations

import threading
import time

import pytest

from scanner.scans import ScanError, kept_alive, open_scan
from scanner.store.models import Scan
from scanner.targets import Selector


def _beat(store, scan_id: int) -> str:
    with store.session() as session:
        return session.get(Scan, scan_id).stats["heartbeat"]


def _age(store, scan_id: int, seconds: int) -> None:
    """Backdate the heartbeat, as if the process had been silent for `seconds`."""
    from datetime import timedelta

    from scanner.store.db import utcnow

    with store.transaction() as session:
        scan = session.get(Scan, scan_id)
        scan.stats = {**scan.stats, "heartbeat": (utcnow() - timedelta(seconds=seconds)).isoformat()}


def test_a_silent_scan_is_taken_over_but_a_kept_alive_one_is_not(store):
    selector = Selector()
    scan_id, _ = open_scan(store, selector)
    _age(store, scan_id, 600)
    taken, resumed = open_scan(store, selector)  # same pid, stale beat: taken over (resumed)
    assert (taken, resumed) == (scan_id, True)

    _age(store, scan_id, 600)
    stale = _beat(store, scan_id)
    with kept_alive(store, scan_id, every_s=0.05):
        deadline = time.monotonic() + 30
        while _beat(store, scan_id) == stale and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _beat(store, scan_id) != stale, "no heartbeat within 30 s"
        with pytest.raises(ScanError, match="still running"):
            open_scan(store, selector)
    assert not [t for t in threading.enumerate() if t.name == "scan-heartbeat"]
