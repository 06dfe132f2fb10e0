"""The dashboard, the website page and the bulk case actions in process (TestClient over SQLite, the clock
injected): bulk forms need the session's CSRF token and our origin, each case is audited, customer-controlled
text (page titles, domains, subject names) is escaped, and a bad number is a Chinese 404 page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.observation import Attempt, DnsRecord, Fetch, Owner, Page
from core.observation import Observation as Seen
from scanner.store.models import Case, CaseEvent, Domain, Observation, RescanRequest, Scan, Subject, Website
from scanner.store.observations import encode
from tests.unit.test_console_security import BASE, app, csrf_of, login, state_of  # noqa: F401 - the fixture

EVIL = "<script>alert(1)</script>"
AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def site(app):  # noqa: F811 - pytest's fixture injection
    application, store, clock = app
    with store.transaction() as session:
        subject = Subject(subject_number="京ICP备40000000号", name=f"北京{EVIL}科技有限公司", province="北京市",
                          customer_email="c0@example.cn", fingerprint="s", created_at=AT, updated_at=AT)
        session.add(subject)
        session.flush()
        website = Website(subject_id=subject.id, website_number="京ICP备40000000号-1", name="示例站", fingerprint="w",
                          created_at=AT, updated_at=AT)
        session.add(website)
        session.flush()
        session.add(Domain(website_id=website.id, name="s0.example.cn", position=0))
        scan = Scan(started_at=AT, finished_at=AT, state="finished", selector={}, stats={"observed": 1})
        session.add(scan)
        session.flush()
        seen = Seen("s0.example.cn",
                    dns={"s0.example.cn": DnsRecord(chain=["edge.cdn.example"], addresses=["203.0.113.5"],
                                                    owners=[Owner("203.0.113.5", "provider", owner="示例云")])},
                    fetch=Fetch("page", attempts=[Attempt("https://s0.example.cn/", status=200, address="203.0.113.5")],
                                final_url="https://s0.example.cn/", status=200),
                    page=Page(title=EVIL))
        session.add(Observation(scan_id=scan.id, website_id=website.id, observed_at=AT, outcome="checked",
                                data=encode(seen)))
    client = TestClient(application)
    assert login(client).status_code == 303
    return client, store


def test_website_page_shows_the_observation_and_escapes_customer_text(site):
    client, _store = site
    page = client.get("/console/websites/京ICP备40000000号-1")
    assert page.status_code == 200
    assert EVIL not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "s0.example.cn → edge.cdn.example" in page.text and "203.0.113.5 · provider · 示例云" in page.text
    assert "尝试 1 次" in page.text and "HTTP 200" in page.text
    assert "filing.link_missing" in page.text, "the case of the fixture, with its finding"
    missing = client.get("/console/websites/京ICP备49999999号-1")
    assert missing.status_code == 404 and "没有备案号为" in missing.text and "Traceback" not in missing.text
    found = client.get("/console/websites", params={"q": "S0.EXAMPLE"})
    assert found.status_code == 200 and found.text.count('class="site"') == 1
    assert EVIL not in client.get("/console/websites", params={"q": EVIL}).text


def test_dashboard_renders_with_counts_and_links(site):
    client, _store = site
    page = client.get("/console/")
    assert page.status_code == 200
    assert 'href="/console/cases?state=notified"' in page.text
    assert 'href="/console/cases?state=active&amp;check=filing.link_missing"' in page.text
    assert 'id="card-active"><div class="n">3</div>' in page.text


def test_bulk_extend_and_rescan_are_audited_per_case(site):
    client, store = site
    csrf = csrf_of(client, "/console/cases")
    response = client.post("/console/cases/bulk", headers={"Origin": BASE}, follow_redirects=False,
                           data={"action": "extend", "ids": ["1", "2"], "days": "3", "reason": "客户申请", "csrf": csrf,
                                 "back": "state=active&check=filing.link_missing&msg=old"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/cases?state=active&check=filing.link_missing&msg=")
    assert [state_of(store, i) for i in (1, 2, 3)] == ["extended", "extended", "notified"]
    response = client.post("/console/cases/bulk", headers={"Origin": BASE}, follow_redirects=False,
                           data={"action": "rescan", "ids": ["1", "3"], "csrf": csrf})
    assert response.status_code == 303
    with store.session() as session:
        (rescan,) = session.scalars(select(RescanRequest)).all()
        events = {(e.case_id, e.reason, e.actor) for e in session.scalars(select(CaseEvent))}
    assert rescan.request["websites"] == ["京ICP备40000000号-1", "京ICP备40000002号-1"]
    assert {(1, "客户申请", "console（批量）"), (2, "客户申请", "console（批量）"), (1, "rescan queued", "console（批量）"),
            (3, "rescan queued", "console（批量）")} <= events
    assert (2, "rescan queued", "console（批量）") not in events


def test_bulk_forms_need_the_csrf_token_and_our_origin(site):
    client, store = site
    csrf = csrf_of(client, "/console/cases")
    for headers, data in (({"Origin": BASE}, {}), ({"Origin": "http://testserver:8081"}, {"csrf": csrf}),
                          ({"Origin": BASE}, {"csrf": "forged"})):
        response = client.post("/console/cases/bulk", headers=headers, follow_redirects=False,
                               data={"action": "waive", "ids": ["1", "2"], "reason": "x", **data})
        assert response.status_code == 403, (headers, data)
    assert [state_of(store, i) for i in (1, 2)] == ["notified", "notified"]
    anonymous = TestClient(client.app)
    response = anonymous.post("/console/cases/bulk", data={"action": "waive", "ids": ["1"], "reason": "x"},
                              follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    with store.session() as session:
        assert session.get(Case, 1).state == "notified"
