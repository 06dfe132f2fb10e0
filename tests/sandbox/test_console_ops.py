"""The operator's overview pages in real headless Chromium (as test_console.py): the dashboard, the website search
and a website's whole story, and a bulk waive on a filtered case list, audited per case.

The world is the cases world of test_cases_notices: one record (京ICP备30000001号-2) changes between the first
import and the first scan, so its finding is pending in the sync grace; the gambling site's case is escalated at
once and its notice is sent on the sandbox SMTP; the unreachable site's case opens at the second scan. `BEIAN_SCREENSHOTS=docs` refreshes docs/dashboard.png and
docs/website.png.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from tests.sandbox.test_cases_notices import WORLD
from tests.sandbox.test_console import shots
from tests.sandbox.test_serve import TOKEN, Server, free_port
from tests.sandbox_helpers import beian, chromium_or_skip, import_world_registry, write_config

CHROMIUM, pytestmark = chromium_or_skip()
PENDING = "京ICP备30000001号-2"
GAMBLING = "京ICP备30000003号-1"
BULK_REASON = "核实为同一集团子公司，备案信息无误（批量）"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("console-ops")
    port = free_port()
    with Sandbox(parse_world(json.loads(json.dumps(WORLD))), lifetime_s=900) as box:
        config = write_config(box, tmp_path, {
            "notices": {"sender": "beian@cloud.example.cn", "outbox_dir": str(tmp_path / "outbox"),
                        "rate_per_minute": 6000},
            "serve": {"listen": f"127.0.0.1:{port}", "token": TOKEN, "nightly_scan": "", "sweep": "",
                      "weekly_report": "", "poll_s": 0.3},
        })
        import_world_registry(box, config, tmp_path)
        changed = json.loads(json.dumps(WORLD["registry"]))
        changed["subjects"][0]["websites"][1]["name"] = "甲公司产品中心"
        path = tmp_path / "registry-changed.json"
        path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
        # two scans: an unreachable site's case needs two in a row (confirm_scans)
        for args in (("registry", "import", str(path)), ("scan",), ("scan",), ("notices", "send")):
            result = beian(config, *args)
            assert result.returncode == 0, result.stderr[-3000:]
        server = Server(config, tmp_path, port)
        server.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            try:
                page.goto(f"http://127.0.0.1:{port}/console/login")
                page.fill("#token", TOKEN)
                page.click("#login")
                page.wait_for_url(re.compile(r"/console/cases$"))
                yield page, f"http://127.0.0.1:{port}", tmp_path
            finally:
                browser.close()
                server.stop()


def number(page, selector: str) -> int:
    return int(page.inner_text(f"{selector} .n").strip())


def test_dashboard_counts_link_into_the_lists(console):
    page, base, tmp_path = console
    page.click("#nav-home")
    page.wait_for_url(re.compile(r"/console/$"))
    active = number(page, "#card-active")
    assert active >= 2
    assert number(page, "#card-escalated") >= 1, "the gambling site is escalated at once"
    assert number(page, "#card-sent") >= 1 and number(page, "#card-failed") == 0
    assert number(page, "#card-pending") == 1
    assert PENDING in page.inner_text("#pending") and "filing.link_missing" in page.inner_text("#pending")
    assert page.inner_text("#health-verdict") == "正常"
    assert page.locator("#health-trend").count() == 1 and page.locator("#trend-chart svg").count() == 1
    page.screenshot(path=str(shots(tmp_path) / "dashboard.png"), full_page=True)

    by_check = page.locator("#by-check a")
    check_total = sum(int(t) for t in page.locator("#by-check td.num").all_inner_texts())
    assert check_total == active, "every active case is counted under its check"
    page.click("#card-active")
    page.wait_for_url(re.compile(r"/console/cases\?state=active$"))
    assert page.locator("tr.case").count() == active
    assert "另有 1 项问题" in page.inner_text("#pending-note"), "the case list names what waits in the grace"

    page.goto(f"{base}/console/")
    href = by_check.first.get_attribute("href")
    code = re.search(r"check=([^&]+)", href).group(1)
    expected = int(page.locator("#by-check td.num").first.inner_text())
    by_check.first.click()
    page.wait_for_url(re.compile(r"check="))
    rows = page.locator("tr.case")
    assert rows.count() == expected
    assert {rows.nth(i).get_attribute("data-check") for i in range(rows.count())} == {code}

    page.goto(f"{base}/console/")
    page.click("#card-escalated")
    page.wait_for_url(re.compile(r"state=escalated"))
    assert page.locator("tr.case[data-state=escalated]").count() >= 1


def test_search_finds_the_website_and_its_page_tells_the_story(console):
    page, base, tmp_path = console
    page.goto(f"{base}/console/")
    page.fill("#q", "fun-c")  # a domain
    page.click("#search")
    page.wait_for_url(re.compile(r"/console/websites\?q=fun-c"))
    assert page.locator("tr.site").count() == 1
    for text, hits in (("丙数据", 1), ("IT@BING.example.cn", 1), ("30000001号", 2), ("<script>", 0)):
        page.goto(f"{base}/console/websites?q={quote(text)}")
        assert page.locator("tr.site").count() == hits, text
    assert "没有找到与“<script>”匹配的网站" in page.inner_text("#results"), "the query is shown escaped, as text"

    page.goto(f"{base}/console/websites?q=fun-c")
    page.locator("tr.site a").first.click()
    page.wait_for_url(re.compile(r"/console/websites/"))
    assert GAMBLING in page.inner_text("#website-title")
    assert "fun-c.cn" in page.inner_text("#record") and "it@bing.example.cn" in page.inner_text("#record")
    assert page.locator("#changes tr.change").count() >= 2, "added for the website and for its subject"
    observation = page.locator("#scans tr.observation")
    assert observation.count() == 2, "one summary per scan"
    seen = observation.first.inner_text()
    assert "fun-c.cn" in seen and "127.40.0.1" in seen and "HTTP 200" in seen and "尝试 1 次" in seen
    assert "content.prohibited" in page.inner_text("#findings")
    assert page.locator("#findings tr.finding[data-open='1']").count() >= 1
    cases = page.inner_text("#cases")
    assert "待取消接入" in cases and "critical finding" in cases, "the case with its audit trail"
    assert page.locator("#messages tr.message[data-state=sent]").count() >= 1, "the notice, delivered"
    assert "it@bing.example.cn" in page.inner_text("#messages")
    page.screenshot(path=str(shots(tmp_path) / "website.png"), full_page=True)

    page.goto(f"{base}/console/websites/{quote('京ICP备99999999号-1')}")
    assert "找不到页面" in page.title() or "没有备案号为" in page.inner_text("main")


def test_bulk_waive_on_a_filtered_list_is_audited_per_case(console):
    page, base, _tmp = console
    page.goto(f"{base}/console/cases?state=active")
    rows = page.locator("tr.case")
    total = rows.count()
    assert total >= 2
    ids = [rows.nth(i).locator("a").first.inner_text().lstrip("#") for i in range(total)]
    page.click("#bulk-all")
    assert page.locator("input.pick:checked").count() == total

    page.select_option("#bulk-action", "waive")
    page.click("#bulk-go")  # no reason: refused, nothing changes
    page.wait_for_selector("#flash")
    assert "请填写原因" in page.inner_text("#flash")
    assert page.locator("tr.case").count() == total

    page.click("#bulk-all")
    page.select_option("#bulk-action", "waive")
    page.fill("#bulk-reason", BULK_REASON)
    page.click("#bulk-go")
    page.wait_for_url(re.compile(r"/console/cases\?state=active&msg="))
    assert f"已按误报豁免 {total} 个案件" in page.inner_text("#flash")
    assert page.locator("tr.case").count() == 0, "the filtered list kept its filter and is now empty"

    for case_id in ids:
        page.goto(f"{base}/console/cases/{case_id}")
        assert page.inner_text("#case-state") == "已豁免（误报）", case_id
        last = page.locator("#events tr").last.inner_text()
        assert BULK_REASON in last and "console（批量）" in last, (case_id, last)

    page.goto(f"{base}/console/websites/{quote(GAMBLING)}")
    assert BULK_REASON in page.inner_text("#actions"), "the website page lists the operator's action"
