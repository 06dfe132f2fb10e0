"""Hands each website's observation and check outcomes to the scan's store writer (a thread)."""

from __future__ import annotations


class StorePipeline:
    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls()
        pipeline.ctx = crawler.beian_context
        return pipeline

    def process_item(self, item):
        self.ctx.writer.put(item)
        self.ctx.progress.site_done(item)
        return None

    def close_spider(self):
        self.ctx.progress.stop()
