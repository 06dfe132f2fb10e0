"""The operator API and console in process (FastAPI's TestClient over a SQLite store, the clock injected):
the schema behind the token, ids beyond BIGINT, CSRF and Origin checks, server-side sessions instead of the
token in a cookie, the login throttle, pagination, and errors as Chinese pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.config import load_config
from scanner.serve.api import create_app
from scanner.store.db import Store
from scanner.store.models import Case, ConsoleSession, Finding

TOKEN = "s3cret-token"
BASE = "http://testserver"
HUGE = "99999999999999999999999"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def make_cases(store: Store, count: int) -> None:
    opened = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    with store.transaction() as session:
        for i in range(count):
            website = f"京ICP备4{i:07d}号-1"
            key = f"filing.link_missing|京ICP备4{i:07d}号|{website}"
            session.add(Case(key=key, active_key=key, check="filing.link_missing", severity="violation",
                             subject_number=f"京ICP备4{i:07d}号", website_number=website, state="notified",
                             recipient=f"c{i}@example.cn", opened_at=opened,
                             deadline=opened + timedelta(days=14, seconds=i)))
            session.add(Finding(key=key, check="filing.link_missing", severity="violation", subject_number=f"京ICP备4{i:07d}号",
                                website_number=website, domain=f"s{i}.example.cn", summary="备案号未链接",
                                evidence={}, first_seen=opened, last_seen=opened))


@pytest.fixture
def app(tmp_path: Path):
    config_path = tmp_path / "beian.toml"
    config_path.write_text(f'database = "sqlite:///{tmp_path / "beian.db"}"\n[serve]\ntoken = "{TOKEN}"\n',
                           encoding="utf-8")
    config = load_config(config_path)
    store = Store(config.database)
    clock = Clock()
    make_cases(store, 3)
    yield create_app(config, store, now=clock), store, clock
    store.dispose()


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found.group(1) if found else ""


def login(client: TestClient, token: str = TOKEN, headers: dict | None = None):
    csrf = form_csrf(client.get("/console/login").text)
    return client.post("/console/login", data={"token": token, "csrf": csrf}, follow_redirects=False,
                       headers=headers if headers is not None else {"Origin": BASE})


def csrf_of(client: TestClient, path: str = "/console/cases/1") -> str:
    return form_csrf(client.get(path).text)


def state_of(store: Store, case_id: int) -> str:
    with store.session() as session:
        return session.get(Case, case_id).state


def test_the_schema_needs_the_token_and_there_is_no_cdn_swagger_page(app):
    application, _store, _clock = app
    client = TestClient(application)
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/openapi.json", headers={"Authorization": "Bearer wrong"}).status_code == 401
    schema = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert schema.status_code == 200 and "/cases/{case_id}" in schema.json()["paths"]
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert response.status_code in (401, 404) and "swagger" not in response.text.lower(), path
    assert client.get("/healthz").status_code == 200


def test_ids_beyond_bigint_are_not_found(app, caplog):
    application, _store, _clock = app
    client = TestClient(application, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path, body in (("GET", f"/cases/{HUGE}", None), ("GET", f"/scans/{HUGE}", None),
                               ("GET", f"/rescans/{HUGE}", None),
                               ("POST", f"/cases/{HUGE}/extend", {"days": 3, "reason": "x"}),
                               ("POST", f"/cases/{HUGE}/waive", {"reason": "x"})):
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code == 404, (path, response.status_code, response.text)
    assert login(client).status_code == 303
    for path in (f"/console/cases/{HUGE}", f"/console/scans/{HUGE}", f"/console/rescans/{HUGE}"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "找不到" in response.text and "Traceback" not in response.text
    csrf = csrf_of(client)
    for action, data in (("waive", {"reason": "x"}), ("extend", {"days": "3", "reason": "x"}), ("rescan", {})):
        response = client.post(f"/console/cases/{HUGE}/{action}", data={**data, "csrf": csrf}, headers={"Origin": BASE},
                               follow_redirects=False)
        assert response.status_code == 404, (action, response.status_code)
    assert "OverflowError" not in caplog.text


def test_a_page_on_another_origin_cannot_post_the_console_forms(app):
    """The attack that worked: a page served by the same host on another port auto-posts the waive form;
    the browser sends the SameSite=Strict cookie (same site), so the cookie alone proves nothing."""
    application, store, _clock = app
    client = TestClient(application)
    assert login(client).status_code == 303
    csrf = csrf_of(client)
    evil = "http://testserver:8081"
    attempts = [
        ({"Origin": evil}, {"reason": "x", "csrf": csrf}),  # even with the right token: wrong origin
        ({"Referer": f"{evil}/attack.html"}, {"reason": "x", "csrf": csrf}),
        ({"Origin": "null"}, {"reason": "x", "csrf": csrf}),
        ({"Origin": BASE}, {"reason": "x"}),  # our origin, no CSRF token
        ({"Origin": BASE}, {"reason": "x", "csrf": "forged"}),
        ({}, {"reason": "x"}),  # no Origin, no Referer, no token
    ]
    for headers, data in attempts:
        response = client.post("/console/cases/1/waive", data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (headers, data, response.status_code)
        assert "已拒绝" in response.text or "校验码" in response.text
        assert state_of(store, 1) == "notified", (headers, data)
    for action, data in (("extend", {"days": "3", "reason": "x"}), ("rescan", {})):
        response = client.post(f"/console/cases/1/{action}", data=data, headers={"Origin": evil}, follow_redirects=False)
        assert response.status_code == 403, action
    response = client.post("/console/logout", data={}, headers={"Origin": BASE}, follow_redirects=False)
    assert response.status_code == 403
    # the console's own form: same origin and the session's token
    response = client.post("/console/cases/1/waive", data={"reason": "误报", "csrf": csrf},
                           headers={"Origin": BASE}, follow_redirects=False)
    assert response.status_code == 303 and state_of(store, 1) == "waived"
    response = client.post("/console/cases/2/waive", data={"reason": "误报", "csrf": csrf},
                           headers={"Referer": f"{BASE}/console/cases/2"}, follow_redirects=False)
    assert response.status_code == 303 and state_of(store, 2) == "waived"


def test_the_login_form_itself_needs_its_csrf_token_and_our_origin(app):
    application, _store, _clock = app
    client = TestClient(application)
    assert client.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 403
    assert login(client, headers={"Origin": "http://evil.example"}).status_code == 403
    assert login(client).status_code == 303


def test_the_cookie_is_a_server_side_session_not_the_token(app):
    application, store, clock = app
    client = TestClient(application)
    response = login(client)
    cookie = response.cookies.get("beian_console")
    assert cookie and TOKEN not in cookie and len(cookie) >= 40
    with store.session() as session:
        rows = session.scalars(select(ConsoleSession)).all()
        assert len(rows) == 1 and cookie not in (rows[0].id_hash, rows[0].csrf)
    assert client.get("/console/cases", follow_redirects=False).status_code == 200
    # the token itself is no longer a valid cookie
    raw = TestClient(application, cookies={"beian_console": TOKEN})
    assert raw.get("/console/cases", follow_redirects=False).status_code == 303
    # sessions expire
    clock.advance(13 * 3600)
    assert client.get("/console/cases", follow_redirects=False).status_code == 303
    # logout ends the session on the server, not only in the browser
    client = TestClient(application)
    login(client)
    stolen = client.cookies.get("beian_console")
    response = client.post("/console/logout", data={"csrf": csrf_of(client)}, headers={"Origin": BASE},
                           follow_redirects=False)
    assert response.status_code == 303
    replay = TestClient(application, cookies={"beian_console": stolen})
    assert replay.get("/console/cases", follow_redirects=False).status_code == 303


def test_failed_logins_are_throttled_per_client(app):
    application, _store, clock = app
    client = TestClient(application)
    codes = [login(client, token=f"guess-{i}").status_code for i in range(200)]
    assert codes[:5] == [401] * 5, "five free mistakes"
    assert codes[5:] == [429] * 195, "then every guess is refused unchecked until the delay has passed"
    assert login(client).status_code == 429, "even the right token waits"
    clock.advance(1)  # delay after 5 failures: 1 s
    assert login(client, token="guess").status_code == 401
    assert login(client).status_code == 429
    clock.advance(1.5)  # after 6 failures: 2 s
    assert login(client).status_code == 429
    clock.advance(0.5)
    assert login(client).status_code == 303
    assert login(client, token="typo").status_code == 401, "a success clears the address"
    other = TestClient(application, client=("10.0.0.9", 5000))
    assert login(other).status_code == 303, "another address is not locked out"


def test_lists_are_paginated_with_totals(app):
    application, store, _clock = app
    with store.transaction() as session:
        opened = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
        for i in range(3, 620):
            website, subject = f"京ICP备5{i:07d}号-1", f"京ICP备5{i:07d}号"
            key = f"filing.link_missing|{subject}|{website}"
            session.add(Case(key=key, active_key=key, check="filing.link_missing", severity="violation",
                             subject_number=subject, website_number=website, state="open", recipient="",
                             opened_at=opened))
            session.add(Finding(key=key, check="filing.link_missing", severity="violation", subject_number=subject,
                                website_number=website, domain="x.cn", summary="s", evidence={}, first_seen=opened,
                                last_seen=opened))
        total_cases = session.scalar(select(func.count()).select_from(Case))
    client = TestClient(application)
    login(client)
    seen: list[str] = []
    page = client.get("/console/cases?page=1&size=200")
    assert f'data-total="{total_cases}"' in page.text and 'data-pages="4"' in page.text
    for n in range(1, 5):
        page = client.get(f"/console/cases?page={n}&size=200")
        assert page.status_code == 200
        seen += re.findall(r'<a href="/console/cases/(\d+)">', page.text)
    assert len(seen) == total_cases == 620 and len(set(seen)) == 620, "every case on exactly one page"
    assert 'id="page-next"' not in page.text and 'id="page-prev"' in page.text
    filtered = client.get("/console/cases?check=filing.link_missing&size=50")
    assert "check=filing.link_missing&amp;page=2&amp;size=50" in filtered.text, "page links keep the filters"
    findings = client.get("/console/findings?size=500&page=2")
    assert findings.status_code == 200 and findings.text.count('<tr class="finding">') == 120
    assert client.get("/console/scans").status_code == 200
    assert client.get("/console/cases?size=100000").status_code == 422


def test_console_errors_are_chinese_pages(app):
    application, _store, _clock = app
    client = TestClient(application, raise_server_exceptions=False)
    login(client)
    for path, code in (("/console/cases/99999", 404), ("/console/nowhere", 404), ("/console/cases?state=bogus", 422),
                       ("/console/cases?deadline_before=yesterday", 422), ("/console/cases/abc", 422)):
        response = client.get(path)
        assert response.status_code == code, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert '<html lang="zh-CN">' in response.text and 'id="error-title"' in response.text, path
        assert "{\"detail\"" not in response.text and "Traceback" not in response.text, path
    response = client.post("/console/cases/1/extend", data={"days": "0", "reason": "x", "csrf": csrf_of(client)},
                           headers={"Origin": BASE})
    assert response.status_code == 422 and "days" in response.text and "<html" in response.text
    # the JSON API keeps JSON errors
    response = client.get("/cases/99999", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404 and response.json()["detail"]
