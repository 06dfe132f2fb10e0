"""The bare baseline for bench/scan.py: Scrapy fetching the same homepages (https, then http) through
the same guarded dnspython resolver and settings, with no observation, checks or storage."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import scrapy
from scrapy.crawler import CrawlerProcess

from core.config import load_config
from core.netguard import AddressPolicy
from spiders.resolve import DnsView
from spiders.settings import crawl_settings


@dataclass
class Context:
    dns: DnsView
    policy: AddressPolicy
    resolver: object = None


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, domains: list[str], **kwargs):
        super().__init__(**kwargs)
        self.domains = domains
        self.done = 0
        self.failed = 0  # no allowed address, or both schemes failed (timeouts included)
        self.unresolved = 0  # of those: no allowed address (DNS answered nothing usable, or timed out)

    async def start(self):
        ctx = self.crawler.beian_context
        window = 500
        for start in range(0, len(self.domains), window):
            names = self.domains[start : start + window]
            answers = await asyncio.gather(*(ctx.dns.resolve(n) for n in names))
            for name, answer in zip(names, answers, strict=True):
                while self.crawler.engine.needs_backout():
                    await asyncio.sleep(0.02)
                allowed = [a for a in answer.addresses if ctx.policy.verdict(a).allowed]
                if not allowed:
                    self.done += 1
                    self.failed += 1
                    self.unresolved += 1
                    continue
                yield scrapy.Request(f"https://{name}/", callback=self.parse, errback=self.retry_http, dont_filter=True,
                                     meta={"download_slot": allowed[0], "name": name, "dont_redirect": True,
                                           "handle_httpstatus_all": True})

    def parse(self, response):
        self.done += 1
        return []

    def summary(self) -> dict:
        return {"done": self.done, "failed": self.failed, "unresolved": self.unresolved}

    def retry_http(self, failure):
        request = failure.request
        if request.url.startswith("https://"):
            return [request.replace(url=request.url.replace("https://", "http://", 1), errback=self.count_failure)]
        self.done += 1
        return []

    def count_failure(self, failure):
        self.done += 1
        self.failed += 1
        return []


def crawl(config_path: str, domains_path: str, spider_cls: type[BareSpider] = BareSpider) -> dict:
    config = load_config(config_path)
    domains = [d for d in open(domains_path, encoding="utf-8").read().split() if d]
    context = Context(DnsView(config), AddressPolicy(config))
    settings = crawl_settings(config, context)
    settings["ITEM_PIPELINES"] = {}
    process = CrawlerProcess(settings)
    process.beian_context = context
    crawler = process.create_crawler(spider_cls)
    crawler.beian_context = context
    started = time.monotonic()
    process.crawl(crawler, domains=domains)
    process.start()
    return {"sites": len(domains), "elapsed": time.monotonic() - started, **crawler.spider.summary()}
