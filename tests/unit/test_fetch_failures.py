"""How a failed download is named (with the exception classes Scrapy and Twisted really raise) and which
failures Scrapy may retry within a website's budget."""

from __future__ import annotations

import pytest
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.settings import Settings
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from core.config import Config
from spiders.download import Budget
from spiders.homepage import _classify_failure
from spiders.settings import crawl_settings


def failure_of(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:  # noqa: BLE001 - a Failure captures the exception being handled
        return Failure()


def test_a_refused_connection_is_refused_not_reset():
    # what Scrapy 2.13+ raises for ECONNREFUSED (wrap_twisted_exceptions), and the Twisted original
    refused = DownloadConnectionRefusedError("Connection was refused by other side: 111: Connection refused.")
    assert _classify_failure(failure_of(refused))[:2] == ("refused", False)
    assert _classify_failure(failure_of(tx_error.ConnectionRefusedError()))[:2] == ("refused", False)


def test_timeouts_dns_resets_and_the_size_cap():
    assert _classify_failure(failure_of(DownloadTimeoutError("Getting https://a.cn/ took longer than 2.0 seconds.")))[0] == "timeout"
    assert _classify_failure(failure_of(tx_error.TCPTimedOutError()))[0] == "timeout"
    assert _classify_failure(failure_of(tx_error.TimeoutError()))[0] == "timeout"
    assert _classify_failure(failure_of(CannotResolveHostError("DNS lookup failed: a.cn")))[:2] == ("dns", False)
    lost = DownloadFailedError(str([Failure(tx_error.ConnectionLost("Connection to the other side was lost"))]))
    assert _classify_failure(failure_of(lost))[0] == "reset"
    never = ResponseNeverReceived([Failure(tx_error.ConnectionDone())])
    assert _classify_failure(failure_of(never))[0] == "reset"
    assert _classify_failure(failure_of(DownloadCancelledError("")))[:2] == ("too_large", True)


def test_a_dns_failure_from_the_address_guard_names_the_policy():
    guarded = CannotResolveHostError("DNS lookup failed: no results for hostname lookup: inner.cn.")
    kind, ours, detail = _classify_failure(failure_of(guarded), "127.31.0.1: private")
    assert (kind, ours) == ("private", False) and "127.31.0.1" in detail
    assert _classify_failure(failure_of(guarded), "192.0.2.1: outside only_ranges")[:2] == ("blocked", True)


@pytest.fixture
def retry() -> RetryMiddleware:
    return RetryMiddleware(Settings(crawl_settings(Config(), {})))


@pytest.mark.parametrize("exc", [
    DownloadConnectionRefusedError("refused"), tx_error.ConnectionRefusedError(), DownloadTimeoutError("slow"),
    tx_error.TimeoutError(), tx_error.TCPTimedOutError(), CannotResolveHostError("nxdomain"),
    DownloadCancelledError("too big"), DownloadFailedError("reset before the answer"),
])
def test_refused_timed_out_and_reset_attempts_are_never_retried(retry, exc):
    assert not isinstance(exc, retry.exceptions_to_retry), type(exc)


@pytest.mark.parametrize("exc", [tx_error.ConnectionLost(), tx_error.ConnectionDone()])
def test_a_connection_lost_mid_way_is_retried(retry, exc):
    assert isinstance(exc, retry.exceptions_to_retry), type(exc)
    assert retry.max_retry_times == Config().fetch.retries


def test_one_budget_of_download_time():
    class Request:
        def __init__(self):
            self.meta: dict = {}

    started: list = []
    budget = Budget(10.0, on_start=started.append)
    assert budget.remaining() == 10.0
    first, second = Request(), Request()
    left = budget.begin(first)
    assert left == 10.0 and "started" in first.meta
    assert budget.begin(second) <= left  # side by side: the second gets what the first left
    budget.end()
    budget.end()
    idle = budget.remaining()
    assert 0 < idle <= 10.0 and budget.remaining() == idle  # nothing downloading: the clock stands still
    assert started == [first, second]
    budget.spent = 10.0
    assert budget.remaining() <= 0
