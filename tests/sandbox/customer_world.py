"""The sandbox world of the customer self-service tests: the cases world (tests/sandbox/test_cases_notices.py) plus
a second website of customer A with the same unlinked filing number, so A has two open cases."""

from __future__ import annotations

import copy
import re

from tests.sandbox.test_cases_notices import CORP, OWNER1, WORLD, page

A, B = "ops@jia.example.cn", "it@bing.example.cn"
A_SITE, A_SITE2, B_SITE = "京ICP备30000001号-2", "京ICP备30000001号-3", "京ICP备30000003号-1"
SECRET = "customer-link-test-secret"


def customer_world() -> dict:
    world = copy.deepcopy(WORLD)
    world["hosts"]["shop-a.cn"] = {"a": ["127.40.0.1"], "https": {
        "page": page("甲公司商城", CORP, f"<p>© {OWNER1} 京ICP备30000001号-3</p>")}}
    world["registry"]["subjects"][0]["websites"].append(
        {"website_number": A_SITE2, "name": "甲公司商城", "domains": ["shop-a.cn"]})
    return world


def customer_link(text: str) -> str:
    """The path of the personal link in a notice's plain text."""
    found = re.search(r"https?://[^/\s]+(/customer/[^\s#]+)", text)  # a 页面截图 line adds #case-N to the same link
    assert found, text
    return found.group(1)
