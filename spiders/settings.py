"""Scrapy settings for a broad crawl of filed homepages, built from the product config."""

from __future__ import annotations

from core.config import Config, user_agent

BOT_NAME = "beian-scanner"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Scrapy retries (fetch.retries, within the website's budget: spiders.download) only a connection that
# Twisted reports lost or closed mid-way. A reset before the answer or in the TLS handshake (Scrapy 2.13+
# wraps it as DownloadFailedError), a refused connection and a timeout are never retried: the other
# scheme, www.<apex> and the next scan's confirmation (site.unreachable needs two scans) are the retries,
# and a timeout would cost time the budget no longer has.
RETRY_ON = [
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectionLost",
]
HANDLER = "spiders.download.BudgetDownloadHandler"


def crawl_settings(config: Config, pipelines: dict[str, int]) -> dict:
    """Scrapy settings for one scan; `pipelines` are the stages that take what the spider yields."""
    fetch = config.fetch
    return {
        "BOT_NAME": BOT_NAME,
        "TWISTED_REACTOR": TWISTED_REACTOR,
        "TWISTED_DNS_RESOLVER": "spiders.resolver.GuardedResolver",
        "USER_AGENT": user_agent(config),
        "ROBOTSTXT_OBEY": False,  # the provider is obliged to check its filed sites; one GET per site
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOG_ENABLED": True,
        "CONCURRENT_REQUESTS": fetch.concurrency,
        # Download slots are keyed by the resolved IP (request meta), so this is the per-IP limit.
        "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.per_ip_concurrency,
        "CONCURRENT_ITEMS": 1,
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_DELAY_JITTER": 0,
        "DOWNLOAD_TIMEOUT": fetch.timeout_s,
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "DOWNLOAD_MAXSIZE": fetch.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_FAIL_ON_DATALOSS": False,
        "REDIRECT_ENABLED": False,  # redirects are followed by the spider, within the filed domains only
        "METAREFRESH_ENABLED": False,
        "RETRY_ENABLED": fetch.retries > 0,
        "RETRY_TIMES": fetch.retries,
        "RETRY_HTTP_CODES": [],
        "RETRY_EXCEPTIONS": RETRY_ON,
        "HTTPERROR_ALLOW_ALL": True,
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",  # every request is deliberate; keep no set
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        "REACTOR_THREADPOOL_MAXSIZE": 4,
        "DNSCACHE_ENABLED": False,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
            "Connection": "close",  # one request per site: do not keep a million idle sockets
        },
        "ITEM_PIPELINES": pipelines,
        "EXTENSIONS": {"scrapy.extensions.telnet.TelnetConsole": None, "scrapy.extensions.logstats.LogStats": None},
        "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.referer.RefererMiddleware": None},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
        },
        "MEMUSAGE_ENABLED": False,
        "STATS_DUMP": False,
    }
