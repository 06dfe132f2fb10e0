"""Builders for typed inputs of check unit tests: a filing record, an observation of a fetched page, and one
check run the way the judge runs it."""

from __future__ import annotations

from checks.framework import Outcome, get, run
from core.observation import Fetch, Observation, Page
from core.records import PreApproval, SiteRecord
from spiders.page import extract


def record(**fields) -> SiteRecord:
    base = dict(website_id=1, website_number="京ICP备10000000号-1", website_name="示例网站", status="已备案",
                domains=["example.cn"], homepage_host="example.cn", subject_number="京ICP备10000000号",
                subject_name="北京示例科技有限公司", nature="企业")
    base.update(fields)
    base["pre_approvals"] = [a if isinstance(a, PreApproval) else PreApproval(a["category"], a.get("number", ""))
                             for a in base.get("pre_approvals", [])]
    return SiteRecord(**base)


def page_observation(page: Page | str, url: str = "https://example.cn/", homepage: str = "example.cn") -> Observation:
    """What the crawl records for a homepage that answered 200 with this page (HTML is extracted as the crawl does)."""
    if isinstance(page, str):
        page = extract(page, url)
    return Observation(homepage, fetch=Fetch("page", final_url=url, status=200), page=page)


def check(code: str, obs: Observation, site: SiteRecord) -> Outcome:
    """One check's outcome on these inputs (its declared needs and order are the judge's, not applied here)."""
    return run(get(code), obs, site)
