"""Scan progress: a live bar (rich) on a terminal, periodic log lines otherwise.

The counts come from the crawl's item pipeline (`site_done`, one crawl in this process) or from the crawl
workers' reports (`merge`, one bar for all of them).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

from core.statuses import FAILED


class Tally:
    """Websites done, could not be checked, and findings by code; thread-safe."""

    def __init__(self, done: int = 0) -> None:
        self.done = done
        self.not_checked = 0
        self.findings = 0
        self.by_code: Counter[str] = Counter()
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

    def merge(self, delta: dict) -> None:
        """Add counts another tally handed over (Tally.take)."""
        with self._lock:
            self.done += delta.get("done", 0)
            self.not_checked += delta.get("not_checked", 0)
            by_code = delta.get("by_code") or {}
            self.by_code.update(by_code)
            self.findings += sum(by_code.values())

    def take(self) -> dict:
        """The counts since the last take, as a plain dict (for another process), and start again from zero."""
        with self._lock:
            delta = {"done": self.done, "not_checked": self.not_checked, "by_code": dict(self.by_code)}
            self.done = self.not_checked = self.findings = 0
            self.by_code = Counter()
        return delta


class Progress(Tally):
    def __init__(self, total: int, done: int = 0, stream=None, interval_s: float | None = None) -> None:
        super().__init__(done)
        self.total = total
        self.initial = done
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval_s = interval_s or (0.5 if self.tty else 10.0)
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None

    def start(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        if self.tty:
            self._bar, self._task = self._rich_bar()
            self._bar.start()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self._bar is not None:
            self._refresh()
            self._bar.stop()
            self._bar = None

    def rate(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (self.done - self.initial) / elapsed

    def eta(self) -> str:
        rate = self.rate()
        remaining = max(self.total - self.done, 0)
        return time.strftime("%H:%M:%S", time.gmtime(remaining / rate)) if rate > 0 else "--:--:--"

    def line(self) -> str:
        return (f"{self.done}/{self.total} sites  {self.rate():.0f}/s  findings {self.findings}  "
                f"not checked {self.not_checked}  ETA {self.eta()}")

    def _rich_bar(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress

        bar = RichProgress(
            BarColumn(bar_width=24), MofNCompleteColumn(), TextColumn("sites  {task.fields[rate]:.0f}/s"),
            TextColumn("findings {task.fields[findings]}"), TextColumn("not checked {task.fields[not_checked]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=Console(file=self.stream), auto_refresh=False, transient=False,
        )
        task = bar.add_task("scan", total=self.total or None, completed=self.done, rate=0.0, findings=0,
                            not_checked=0, eta="--:--:--")
        return bar, task

    def _refresh(self) -> None:
        self._bar.update(self._task, completed=self.done, rate=self.rate(), findings=self.findings,
                         not_checked=self.not_checked, eta=self.eta())
        self._bar.refresh()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._bar is not None:
                self._refresh()
            else:
                self.stream.write(time.strftime("%H:%M:%S ") + self.line() + "\n")
                self.stream.flush()
