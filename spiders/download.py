"""The homepage download handler: Scrapy's HTTP/1.1 handler, with one time budget per website.

Every request of one website's homepage (https and http, their redirects, www.<apex>, Scrapy's retries)
carries the website's `Budget` in `request.meta["budget"]`. The budget's clock runs while at least one of
them is downloading (not while they wait for their address's download slot); each request gets what is
left as its `download_timeout`, so requests running side by side end by the same moment. A request that
reaches the handler when the budget is spent is not sent: it fails as a timeout. When the spider has its
answer it closes the budget, and downloads still running are cancelled (`Abandoned`).
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

from spiders.tls_context import SharedContextFactory


class Abandoned(Exception):
    """The website's answer was settled while this download was still running; it was cancelled."""


class Budget:
    """One website's fetch time, `seconds`, shared by all its requests. The clock runs while at least one of
    them is downloading, not while they wait for their address's download slot (a hundred dead sites on
    one address queue there): requests running side by side spend the same seconds once."""

    def __init__(self, seconds: float, on_start: Callable[[Request], None] | None = None) -> None:
        self.seconds = seconds
        self.spent = 0.0  # seconds with at least one request downloading, up to `since`
        self.active = 0
        self.since = 0.0
        self.closed = False
        self.on_start = on_start
        self._running: set[asyncio.Task] = set()

    def _tick(self, now: float) -> None:
        if self.active:
            self.spent += now - self.since
        self.since = now

    def remaining(self) -> float:
        """Seconds left."""
        now = time.monotonic()
        return self.seconds - self.spent - (now - self.since if self.active else 0.0)

    def begin(self, request: Request) -> float:
        """A request starts downloading; what is left of the budget (its timeout)."""
        now = time.monotonic()
        self._tick(now)
        self.active += 1
        request.meta["started"] = now
        if self.on_start is not None:
            self.on_start(request)
        return self.seconds - self.spent

    def end(self) -> None:
        self._tick(time.monotonic())
        self.active -= 1

    def close(self) -> None:
        """The answer is settled: cancel the downloads still running."""
        self.closed = True
        for task in list(self._running):
            task.cancel()


class BudgetDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        # one TLS context for every connection (spiders.tls_context); DOWNLOADER_CLIENTCONTEXTFACTORY, the
        # setting for this, is deprecated in Scrapy 2.19
        self._contextFactory = SharedContextFactory.from_crawler(crawler)

    async def download_request(self, request: Request) -> Response:
        budget: Budget | None = request.meta.get("budget")
        if budget is None:
            return await super().download_request(request)
        if budget.closed:
            raise Abandoned(f"{request.url}: not sent, the website's answer was already settled")
        remaining = budget.begin(request)
        try:
            if remaining <= 0:
                raise DownloadTimeoutError(f"Getting {request.url} was not started: the site's budget of "
                                           f"{budget.seconds:g} seconds was spent")
            request.meta["download_timeout"] = round(remaining, 3)
            task = asyncio.ensure_future(super().download_request(request))
            budget._running.add(task)
            try:
                return await task
            except DownloadTimeoutError:
                # Scrapy's message names the remaining seconds this request was given (4.968 here, 3.934 there):
                # the evidence names the website's budget instead, the same on every run
                raise DownloadTimeoutError(f"Getting {request.url} took longer than the site's budget of "
                                           f"{budget.seconds:g} seconds") from None
            except asyncio.CancelledError:
                if task.cancelled() and budget.closed:
                    raise Abandoned(f"{request.url}: cancelled, the website's answer was settled") from None
                raise
            finally:
                budget._running.discard(task)
        finally:
            budget.end()
