"""The scan's item pipeline, after the crawl: judge each website's observation, then store it.

Scrapy hands every item the spider yields ({"record", "obs"}) through these in order (ITEM_PIPELINES, built
by `scanner.scan`): the judge runs the declared checks (checks.judge) and says whether the website could be
checked at all; the screenshot stage, after the judge, schedules an evidence screenshot in the background for
a page with a filing.* or content.* finding (spiders.screenshot; it never holds the item); the store hands the
result to the scan's writer thread and counts progress.
"""

from __future__ import annotations

import time

import checks


class _Stage:
    """A pipeline stage built the Scrapy way, from the crawler, with the scan's context."""

    @classmethod
    def from_crawler(cls, crawler):
        stage = cls()
        stage.ctx = crawler.beian_context
        return stage


class JudgePipeline(_Stage):
    def process_item(self, item):
        started = time.process_time()
        record, obs = item["record"], item["obs"]
        item["outcomes"] = checks.evaluate(obs, record)
        reason = checks.not_checked_reason(obs, record)
        item["outcome"] = "checked" if reason is None else "not_checked"
        item["reason"] = reason or ""
        self.ctx.timing["checks"] += time.process_time() - started
        return item


class ScreenshotPipeline(_Stage):
    def process_item(self, item):
        page = item.pop("screenshot_page", None)  # only there when the scan takes screenshots
        shooter = self.ctx.screenshots
        if shooter is not None and page is not None:
            shooter.offer(item["record"].website_number, item["outcomes"], page)
        return item


class StorePipeline(_Stage):
    def process_item(self, item):
        # counted before it is handed to the writer thread, so that no count ever trails a commit (a distributed
        # worker reports its count with each acknowledgement)
        self.ctx.progress.site_done(item)
        self.ctx.writer.put(item)
        return None

    def close_spider(self):
        self.ctx.progress.stop()


STAGES = {f"{__name__}.JudgePipeline": 100, f"{__name__}.ScreenshotPipeline": 150, f"{__name__}.StorePipeline": 200}
