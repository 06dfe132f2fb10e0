"""The homepage download handler: Scrapy's HTTP/1.1 handler, with one time budget per website.

Every request of one website's homepage (https and http, their redirects, www.<apex>, Scrapy's retries)
carries the website's `Budget` in `request.meta["budget"]`. The clock starts when the first of them
actually starts downloading (not while it waits for its address's download slot); each request then gets
what is left as its `download_timeout`, so all of them end by the same deadline. A request that reaches
the handler after the deadline is not sent: it fails as a timeout ("the site's budget ran out"). When the
spider has its answer it closes the budget, and downloads still running are cancelled (`Abandoned`).
Requests without a budget (a rendered page's subresources) download as usual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Response


class Abandoned(Exception):
    """The website's answer was settled while this download was still running; it was cancelled."""


class Budget:
    """One website's fetch time: `seconds` from the first download's start, shared by all its requests."""

    def __init__(self, seconds: float, on_start: Callable[[Request], None] | None = None) -> None:
        self.seconds = seconds
        self.deadline: float | None = None
        self.closed = False
        self.on_start = on_start
        self._running: set[asyncio.Task] = set()

    def remaining(self) -> float:
        """Seconds left (the whole budget before the first download starts)."""
        return self.seconds if self.deadline is None else self.deadline - time.monotonic()

    def begin(self, request: Request) -> float:
        """A request starts downloading: start the clock if it is the first; what is left."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        request.meta["started"] = now
        if self.on_start is not None:
            self.on_start(request)
        return self.deadline - now

    def close(self) -> None:
        """The answer is settled: cancel the downloads still running."""
        self.closed = True
        for task in list(self._running):
            task.cancel()


class BudgetDownloadHandler(HTTP11DownloadHandler):
    async def download_request(self, request: Request) -> Response:
        budget: Budget | None = request.meta.get("budget")
        if budget is None:
            return await super().download_request(request)
        if budget.closed:
            raise Abandoned(f"{request.url}: not sent, the website's answer was already settled")
        remaining = budget.begin(request)
        if remaining <= 0:
            raise DownloadTimeoutError(f"Getting {request.url} was not started: the site's budget of "
                                       f"{budget.seconds:g} seconds ran out while it waited")
        request.meta["download_timeout"] = round(remaining, 3)
        task = asyncio.ensure_future(super().download_request(request))
        budget._running.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled() and budget.closed:
                raise Abandoned(f"{request.url}: cancelled, the website's answer was settled") from None
            raise
        finally:
            budget._running.discard(task)
