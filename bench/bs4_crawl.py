"""The Scrapy + BeautifulSoup footer script a provider writes for a one-off check, as a contender for
bench/throughput.py: the same crawl as bench/bare_crawl.py (same DNS, settings, https then http), then per
homepage `BeautifulSoup(html, "html.parser")`, the ICP number found in the page's text, and whether one
<a> whose href points at beian.miit.gov.cn carries it. No storage: counts only."""

from __future__ import annotations

import re
import unicodedata

from bs4 import BeautifulSoup

from bench.bare_crawl import BareSpider, crawl

ICP = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川蜀宁琼]ICP[备证]\d+号(?:-\d+)?")


def footer_facts(html: str) -> tuple[str | None, bool]:
    """(the first ICP number shown, whether a link to beian.miit.gov.cn carries it)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    footer = soup.find("footer") or soup
    text = unicodedata.normalize("NFKC", footer.get_text(""))
    found = ICP.search(text) or ICP.search(unicodedata.normalize("NFKC", soup.get_text("")))
    if found is None:
        return None, False
    number = found.group(0)
    for link in soup.find_all("a", href=True):
        if "beian.miit.gov.cn" in link["href"] and number in unicodedata.normalize("NFKC", link.get_text("")):
            return number, True
    return number, False


class FooterSpider(BareSpider):
    name = "bs4-footer"

    def __init__(self, domains: list[str], **kwargs):
        super().__init__(domains, **kwargs)
        self.numbers = self.linked = 0

    def parse(self, response):
        self.done += 1
        if not hasattr(response, "text"):
            return []
        number, linked = footer_facts(response.text)
        self.numbers += number is not None
        self.linked += linked
        return []

    def summary(self) -> dict:
        return {"done": self.done, "failed": self.failed, "unresolved": self.unresolved, "numbers": self.numbers, "linked": self.linked}


def crawl_footers(config_path: str, domains_path: str) -> dict:
    return crawl(config_path, domains_path, FooterSpider)
