"""Evidence screenshots in real headless Chromium: taken only for pages with a filing.*/content.* finding, through
the crawl's guard, under 150 KB, capped per scan, shown on the console's case page, swept after retention.
"""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from tests.sandbox.test_render import Listener, page
from tests.sandbox_helpers import beian, chromium_or_skip, import_world_registry, scan, triples, write_config

_CHROMIUM, pytestmark = chromium_or_skip()

TOKEN = "screenshot-test-token-0123456789"
BODY = "<h1>星河软件</h1><p>" + "星河软件有限公司专注于企业管理软件的研发与服务，产品包括进销存与财务系统。" * 20 + "</p>"
MIIT = "https://beian.miit.gov.cn/"
LIMIT = 150 * 1024


def number(n: int) -> str:
    return f"京ICP备21000001号-{n}"


def world(trap_port: int) -> dict:
    trap = f"http://127.0.0.1:{trap_port}"
    web = "127.35.0.1"
    css = "body{font-family:sans-serif} footer{background:#234;color:#fff;padding:40px} h1{color:#a00}"
    tall = BODY * 3  # taller than the first viewport: a footer region of its own
    return {
        "name": "screenshots",
        "scanner": {"provider": {"ip_ranges": ["127.35.0.0/16"]},
                    "fetch": {"allow_ranges": ["127.35.0.0/16"], "only_ranges": ["127.0.0.0/8"], "timeout_s": 3,
                              "retries": 0},
                    "render": {"timeout_s": 8, "pages": 2}},
        "hosts": {
            # 1. the number is there, but not linked to the MIIT: filing.link_missing
            "nolink.cn": {"a": [web], "web": {
                "page": page(tall + f"<footer>©2026 星河软件 <span>{number(1)}</span></footer>",
                             head="<link rel='stylesheet' href='/css/site.css'>"),
                "paths": {"/css/site.css": {"content_type": "text/css", "page": css}}}},
            # 2. all well: no finding, no screenshot
            "good.cn": {"a": [web], "web": {"page": page(BODY + f"<footer><a href='{MIIT}'>{number(2)}</a></footer>")}},
            # 3. a finding, and a page that reaches for a disallowed address while it is photographed
            "trap.cn": {"a": [web], "web": {"page": page(
                tall + f"<footer>©2026 <span>{number(3)}</span></footer><script src='{trap}/a.js'></script>"
                f"<script>fetch('{trap}/steal').catch(() => {{}});</script>",
                head=f"<link rel='stylesheet' href='{trap}/a.css'>")}},
            # 4. another missing link (for the cap)
            "nolink2.cn": {"a": [web], "web": {"page": page(BODY + f"<footer>{number(4)}</footer>")}},
        },
        "registry": {"subjects": [{
            "subject_number": "京ICP备21000001号", "name": "北京星河软件有限公司", "nature": "企业",
            "customer_email": "admin@xinghe.example.cn",
            "websites": [site(1, "nolink.cn"), site(2, "good.cn"), site(3, "trap.cn"), site(4, "nolink2.cn")],
        }]},
    }


def site(n: int, domain: str) -> dict:
    return {"website_number": number(n), "name": "星河软件官网", "domains": [domain], "status": "已备案"}


def rows(config_path) -> list:
    from sqlalchemy import select

    from core.config import load_config
    from scanner.store.db import Store
    from scanner.store.models import Screenshot

    store = Store(load_config(config_path).database)
    with store.session() as session:
        found = list(session.scalars(select(Screenshot).order_by(Screenshot.id)))
        session.expunge_all()
    store.dispose()
    return found


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shots")
    trap = Listener()
    with Sandbox(parse_world(world(trap.port)), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {"serve": {"token": TOKEN}})
        import_world_registry(box, config, tmp_path)
        result, findings = scan(config, tmp_path)
        yield box, config, result, findings, trap, tmp_path


def test_a_missing_filing_link_gets_a_screenshot_under_150_kb(scanned):
    from PIL import Image

    _box, config, result, findings, _trap, _tmp = scanned
    assert ("filing.link_missing", number(1), "nolink.cn") in triples(findings)
    shots = {r.website_number: r for r in rows(config)}
    assert set(shots) == {number(1), number(3), number(4)}, {k: v.reason for k, v in shots.items()}
    first = shots[number(1)]
    assert first.state == "taken", first.reason
    assert "filing.link_missing" in first.codes
    for data in (first.viewport, first.footer):
        assert data is not None and 1000 < len(data) < LIMIT
        image = Image.open(io.BytesIO(data))
        image.verify()
        assert image.format == "JPEG"
    assert Image.open(io.BytesIO(first.viewport)).size == (1366, 900)
    if os.environ.get("BEIAN_SCREENSHOTS"):  # to look at them: BEIAN_SCREENSHOTS=DIR pytest …
        folder = Path(os.environ["BEIAN_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "evidence-viewport.jpg").write_bytes(first.viewport)
        (folder / "evidence-footer.jpg").write_bytes(first.footer)
    for shot in shots.values():
        assert shot.size_bytes == len(shot.viewport or b"") + len(shot.footer or b"")
        assert all(len(part) < LIMIT for part in (shot.viewport, shot.footer) if part)
    assert number(2) not in shots  # no finding, no screenshot
    assert "evidence screenshots: 3 taken" in result.stdout


def test_the_screenshot_browser_makes_no_request_outside_the_guard(scanned):
    _box, config, _result, _findings, trap, _tmp = scanned
    shot = next(r for r in rows(config) if r.website_number == number(3))
    assert shot.state == "taken", shot.reason
    blocked = " ".join(shot.detail["blocked"])
    assert "127.0.0.1" in blocked  # refused by the crawl's address guard, and recorded
    assert trap.connects == 0  # never fetched


def test_findings_are_the_same_with_screenshots_off(scanned, tmp_path):
    box, _config, _result, findings, _trap, _tmp = scanned
    config = write_config(box, tmp_path, {"screenshots": {"enabled": False}})
    import_world_registry(box, config, tmp_path)
    _off, off_findings = scan(config, tmp_path)
    assert triples(off_findings) == triples(findings)
    assert rows(config) == []


def test_the_cap_holds(scanned, tmp_path):
    box, _config, _result, _findings, _trap, _tmp = scanned
    config = write_config(box, tmp_path, {"screenshots": {"max_per_scan": 1}})
    import_world_registry(box, config, tmp_path)
    result, findings = scan(config, tmp_path)
    assert {f["website_number"] for f in findings if f["check"] == "filing.link_missing"} >= {number(1), number(4)}
    assert len(rows(config)) == 1


def _console_client(config_path):
    from fastapi.testclient import TestClient

    from core.config import load_config
    from scanner.serve.api import create_app
    from scanner.store.db import Store

    config = load_config(config_path)
    store = Store(config.database)
    client = TestClient(create_app(config, store), base_url="http://127.0.0.1")
    return client, store


def test_the_case_page_shows_the_screenshot_behind_the_console_login(scanned):
    from sqlalchemy import select

    from core import clock
    from scanner.store.models import Case

    _box, config, _result, _findings, _trap, _tmp = scanned
    client, store = _console_client(config)
    try:
        with store.transaction() as session:
            case = session.scalar(select(Case).where(Case.website_number == number(1),
                                                     Case.check == "filing.link_missing"))
            if case is None:  # not confirmed yet (cases.confirm_scans): the console shows a case either way
                case = Case(key=f"filing.link_missing|京ICP备21000001号|{number(1)}",
                            active_key=f"filing.link_missing|京ICP备21000001号|{number(1)}", check="filing.link_missing",
                            severity="high", subject_number="京ICP备21000001号", website_number=number(1), state="open",
                            opened_at=clock.now())
                session.add(case)
                session.flush()
            case_id = case.id
        shot = next(r for r in rows(config) if r.website_number == number(1))
        image_url = f"/console/screenshots/{shot.id}/viewport.jpg"
        anonymous = client.get(image_url, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
        form = client.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        login = client.post("/console/login", data={"token": TOKEN, "csrf": csrf},
                            headers={"origin": "http://127.0.0.1"}, follow_redirects=False)
        assert login.status_code == 303, login.text
        case_page = client.get(f"/console/cases/{case_id}")
        assert case_page.status_code == 200
        assert image_url in case_page.text and "页面截图" in case_page.text
        served = client.get(image_url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.content == shot.viewport
        assert client.get(f"/console/screenshots/{shot.id}/nothing.jpg").status_code == 404
    finally:
        client.close()
        store.dispose()


def test_the_retention_sweep_deletes_an_expired_screenshot(scanned, tmp_path):
    from sqlalchemy import delete, update

    from core import clock
    from core.config import load_config
    from scanner.store import screenshots
    from scanner.store.db import Store
    from scanner.store.models import Case, Screenshot

    box, _config, _result, _findings, _trap, _tmp = scanned
    config_path = write_config(box, tmp_path)
    import_world_registry(box, config_path, tmp_path)
    scan(config_path, tmp_path, "--website", number(1), "--website", number(4))
    config = load_config(config_path)
    store = Store(config.database)
    try:
        old = clock.now() - timedelta(days=config.screenshots.retention_days + 30)
        with store.transaction() as session:
            session.execute(update(Screenshot).where(Screenshot.website_number == number(1)).values(taken_at=old))
        before = {r.website_number for r in rows(config_path)}
        assert before == {number(1), number(4)}
        # an open filing case keeps its evidence however old
        with store.transaction() as session:
            session.add(Case(key="k1", active_key="k1", check="filing.link_missing", severity="high",
                             subject_number="京ICP备21000001号", website_number=number(1), state="open",
                             opened_at=old))
        assert screenshots.sweep(config, store) == 0
        # closed past the retention period: deleted; the recent one stays
        with store.transaction() as session:
            session.execute(update(Case).where(Case.website_number == number(1))
                            .values(state="resolved", active_key=None, closed_at=old))
        assert screenshots.sweep(config, store) == 1
        assert {r.website_number for r in rows(config_path)} == {number(4)}
        with store.transaction() as session:
            session.execute(delete(Case).where(Case.key == "k1"))
    finally:
        store.dispose()
    swept = beian(config_path, "cases", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert "expired screenshots deleted" in swept.stdout
