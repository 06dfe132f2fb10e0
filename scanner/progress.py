"""Scan progress: a live bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

from core.statuses import FAILED


class Progress:
    def __init__(self, total: int, done: int = 0, stream=None, interval_s: float | None = None) -> None:
        self.total = total
        self.done = done
        self.initial = done
        self.findings = 0
        self.by_code: Counter[str] = Counter()
        self.not_checked = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval_s = interval_s or (0.5 if self.tty else 10.0)
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def site_done(self, item: dict) -> None:
        with self._lock:
            self.done += 1
            if item.get("outcome") == "not_checked":
                self.not_checked += 1
            for outcome in item.get("outcomes", []):
                if outcome.state == FAILED:
                    self.findings += len(outcome.findings)
                    self.by_code[outcome.code] += len(outcome.findings)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self.tty:
            self.stream.write("\r" + self.line() + "\n")
            self.stream.flush()

    def rate(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (self.done - self.initial) / elapsed

    def line(self) -> str:
        rate = self.rate()
        remaining = max(self.total - self.done, 0)
        eta = time.strftime("%H:%M:%S", time.gmtime(remaining / rate)) if rate > 0 else "--:--:--"
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        return (f"[{bar}] {self.done}/{self.total} sites  {rate:.0f}/s  findings {self.findings}  "
                f"not checked {self.not_checked}  ETA {eta}")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.tty:
                self.stream.write("\r" + self.line())
            else:
                self.stream.write(time.strftime("%H:%M:%S ") + self.line() + "\n")
            self.stream.flush()
