"""The operator console in real headless Chromium (Debian's chromium driven by playwright): log in with the
token, filter cases, open one, extend it, press rescan and see the scan appear with its report.

Screenshots of the console and of a report page go to $BEIAN_SCREENSHOTS (default: the test's tmp dir);
`BEIAN_SCREENSHOTS=docs pytest tests/sandbox/test_console.py` refreshes docs/console.png (docs/report.png is the demo's
report: `beian report` after `make demo`, opened in the same browser).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from tests.sandbox.test_cases_notices import WORLD
from tests.sandbox.test_serve import TOKEN, Server, free_port
from tests.sandbox_helpers import beian, chromium_or_skip, import_world_registry, write_config

CHROMIUM, pytestmark = chromium_or_skip()


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("console")
    port = free_port()
    with Sandbox(parse_world(json.loads(json.dumps(WORLD))), lifetime_s=900) as box:
        config = write_config(box, tmp_path, {
            "notices": {"sender": "beian@cloud.example.cn", "outbox_dir": str(tmp_path / "outbox")},
            "serve": {"listen": f"127.0.0.1:{port}", "token": TOKEN, "nightly_scan": "", "sweep": "",
                      "weekly_report": "", "poll_s": 0.3},
        })
        import_world_registry(box, config, tmp_path)
        first = beian(config, "scan")
        assert first.returncode == 0, first.stderr
        server = Server(config, tmp_path, port)
        server.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1366, "height": 860}, locale="zh-CN")
            try:
                yield page, f"http://127.0.0.1:{port}", server, tmp_path
            finally:
                browser.close()
                server.stop()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BEIAN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_console_login_filter_case_extend_rescan(console):
    page, base, server, tmp_path = console
    page.goto(f"{base}/console/cases")
    assert page.url.endswith("/console/login"), "without the token the console asks for it"
    page.fill("#token", "wrong")
    page.click("#login")
    assert "令牌不正确" in page.inner_text("#login-error")
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_url(re.compile(r"/console/cases$"))
    all_cases = page.locator("tr.case").count()
    assert all_cases >= 2

    page.select_option("#f-check", "filing.link_missing")
    page.click("#apply")
    page.wait_for_url(re.compile(r"check=filing.link_missing"))
    rows = page.locator("tr.case")
    assert 1 <= rows.count() < all_cases
    assert {rows.nth(i).get_attribute("data-check") for i in range(rows.count())} == {"filing.link_missing"}
    page.screenshot(path=str(shots(tmp_path) / "console.png"))

    rows.first.locator("a").click()
    page.wait_for_url(re.compile(r"/console/cases/\d+$"))
    assert "filing.link_missing" in page.inner_text("main")
    assert page.locator("#events tr").count() >= 2, "the audit trail shows how the case was opened"
    assert page.locator("pre.evidence").count() >= 1
    before = page.inner_text("#deadline")

    page.fill("#extend-reason", "客户申请延期，正在更换网站模板")
    page.click("#extend")
    page.wait_for_selector("#flash")
    assert "已延期" in page.inner_text("#flash")
    assert page.inner_text("#deadline") != before
    assert "客户申请延期" in page.inner_text("#events")

    page.click("#rescan")
    page.wait_for_url(re.compile(r"/console/rescans/\d+"))
    page.wait_for_selector("#scan-link", timeout=120_000)  # the page refreshes itself while queued/running
    page.wait_for_function("document.querySelector('#rescan-state').innerText.includes('已完成')", timeout=120_000)
    scan_href = page.get_attribute("#scan-link", "href")
    page.click("#scan-link")
    page.wait_for_selector("#findings")
    assert page.locator("#trend-chart svg").count() == 1
    page.screenshot(path=str(shots(tmp_path) / "console-report.png"))

    page.goto(f"{base}/console/scans")
    scan_id = scan_href.rsplit("/", 1)[1]
    assert page.locator("tr.scan", has_text=f"#{scan_id}").count() == 1
    assert page.locator("#trend-chart svg").count() == 1


def test_console_pages_need_the_token(console):
    _page, base, _server, _tmp = console
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for path in ("/console/cases", "/console/cases/1", "/console/scans", "/console/findings"):
        try:
            opener.open(f"{base}{path}", timeout=10)
            raise AssertionError(f"{path} answered without the token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 303 and exc.headers["location"] == "/console/login", path
    request = urllib.request.Request(f"{base}/console/cases/1/waive", data=b"reason=x", method="POST")
    try:
        opener.open(request, timeout=10)
        raise AssertionError("a form post without the token was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303


def test_a_page_on_another_port_of_the_same_host_cannot_post_the_forms(console):
    """SameSite=Strict does not help here (another port is the same site): the CSRF token and the Origin
    check do. The logged-in browser opens a page that auto-posts the waive form; the case stays as it was."""
    import http.server
    import threading

    page, base, _server, _tmp = console
    page.goto(f"{base}/console/cases")
    if page.url.endswith("/console/login"):
        page.fill("#token", TOKEN)
        page.click("#login")
        page.wait_for_url(re.compile(r"/console/cases$"))
    href = page.locator("tr.case a").first.get_attribute("href")
    page.goto(f"{base}{href}")
    before = page.inner_text("#case-state")
    evil = (f'<html><body><form id="f" method="post" action="{base}{href}/waive"><input name="reason" value="x">'
            '</form><script>document.getElementById("f").submit()</script></body></html>').encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Evil)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/attack.html")
        page.wait_for_url(re.compile(r"/console/"))  # the form posted itself to the console
        landed, refusal = page.url, page.inner_text("main")
    finally:
        other.shutdown()
    page.goto(f"{base}{href}")
    after = page.inner_text("#case-state")
    assert after == before != "已豁免（误报）", f"the forged post changed the case: {before} -> {after} ({landed})"
    assert landed.endswith("/waive") and "已拒绝" in refusal, (landed, refusal)
