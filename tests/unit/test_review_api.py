"""The annual review through the operator API and the console, in process (TestClient over a SQLite store, the
clock pinned by BEIAN_NOW): the token, start, items, completion by API, form and the bureau's CSV list, the
end of the round, CSRF on every form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.config import load_config
from scanner.registry.importer import import_file
from scanner.serve.api import create_app
from scanner.store.db import Store
from scanner.store.models import Case, OutboxMessage, ReviewItem
from tests.unit.test_console_security import BASE, HUGE, TOKEN, Clock, form_csrf, login

AUTH = {"Authorization": f"Bearer {TOKEN}"}
REGISTRY = {"subjects": [
    {"subject_number": "鄂ICP备20001001号", "name": "武汉甲信息技术有限公司", "nature": "企业", "province": "湖北省",
     "principal": {"name": "王强", "mobile": "13912345678", "email": "wang@jia.example.cn"},
     "websites": [{"website_number": "鄂ICP备20001001号-1", "name": "甲公司官网", "domains": ["jia-hb.cn"],
                   "leader": {"name": "李娜", "mobile": "18612345678"}},
                  {"website_number": "鄂ICP备20001001号-2", "name": "甲公司商城", "domains": ["shop.jia-hb.cn"]}]},
    {"subject_number": "京ICP备30000009号", "name": "北京丁科技有限公司", "nature": "企业", "province": "北京市",
     "principal": {"name": "周杰", "mobile": "13800138009", "email": "zhou@ding.example.cn"},
     "websites": [{"website_number": "京ICP备30000009号-1", "name": "丁公司官网", "domains": ["ding.cn"]}]},
]}


@pytest.fixture
def app(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BEIAN_NOW", "2027-01-15T09:00:00+08:00")
    config_path = tmp_path / "beian.toml"
    config_path.write_text(f'database = "sqlite:///{tmp_path / "beian.db"}"\n[provider]\ncode = "002"\n'
                           f'[serve]\ntoken = "{TOKEN}"\n[notices]\noutbox_dir = "{tmp_path / "outbox"}"\n'
                           '[deadlines]\nholidays = ["2027-05-03"]\n', encoding="utf-8")
    config = load_config(config_path)
    store = Store(config.database)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(REGISTRY, ensure_ascii=False), encoding="utf-8")
    import_file(store, registry)
    yield create_app(config, store, now=Clock()), store
    store.dispose()


def states(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {i.website_number: i.state for i in session.scalars(select(ReviewItem))}


def test_the_api_runs_a_round(app, monkeypatch):
    application, store = app
    client = TestClient(application)
    body = {"province": "鄂", "from": "2027-01-15", "to": "2027-04-15"}
    assert client.post("/reviews", json=body).status_code == 401
    started = client.post("/reviews", json=body, headers=AUTH)
    assert started.status_code == 201, started.text
    assert started.json()["items_by_state"]["notified"] == 2 and started.json()["reminders"] == ["2027-03-16", "2027-04-08"]
    assert client.post("/reviews", json=body, headers=AUTH).status_code == 409  # one open round per province
    assert client.post("/reviews", json={**body, "to": "2027-4-15"}, headers=AUTH).status_code == 422
    assert client.post("/reviews", json={**body, "province": "X"}, headers=AUTH).status_code == 400
    items = client.get("/reviews/1/items", headers=AUTH).json()
    assert [i["sms_text"] for i in items] == ["#002#鄂ICP备20001001号-1#无变化#", "#002#鄂ICP备20001001号-2#无变化#"]
    assert items[0]["phones"][0]["platform"] == "10690661740694920"  # 186: 联通
    assert items[1]["phones"][0] == {"role": "principal", "role_label": "主体负责人", "name": "王强",
                                     "mobile": "13912345678", "carrier": "中国移动", "platform": "106509719767"}
    with store.session() as session:
        assert [m.kind for m in session.scalars(select(OutboxMessage))] == ["review"]  # one mail for the customer
    done = client.post("/reviews/1/done", json={"websites": ["鄂ICP备20001001号-1", "鄂ICP备2999号-1"]}, headers=AUTH)
    assert done.json() == {"done": 1, "already_done": 0, "unknown": ["鄂ICP备2999号-1"]}
    assert [i["website_number"] for i in client.get("/reviews/1/items?state=notified", headers=AUTH).json()] == [
        "鄂ICP备20001001号-2"]
    assert client.post("/reviews/1/close", headers=AUTH).status_code == 409  # not before its last day
    for path in (f"/reviews/{HUGE}", f"/reviews/{HUGE}/items", "/reviews/7"):
        assert client.get(path, headers=AUTH).status_code == 404, path
    monkeypatch.setenv("BEIAN_NOW", "2027-04-16T09:00:00+08:00")
    closed = client.post("/reviews/1/close", headers=AUTH)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert closed.json()["report"]["not_done"] == ["鄂ICP备20001001号-2"]
    with store.session() as session:
        assert [(c.website_number, c.check) for c in session.scalars(select(Case))] == [
            ("鄂ICP备20001001号-2", "review.not_done")]


def test_the_console_runs_a_round(app, tmp_path):
    application, store = app
    client = TestClient(application)
    assert client.get("/console/reviews", follow_redirects=False).status_code == 303  # login first
    assert login(client).status_code == 303
    csrf = form_csrf(client.get("/console/reviews").text)
    refused = client.post("/console/reviews", data={"province": "鄂", "starts_on": "2027-01-15", "ends_on": "2027-04-15"},
                          headers={"Origin": BASE}, follow_redirects=False)
    assert refused.status_code == 403 and states(store) == {}
    started = client.post("/console/reviews", data={"province": "鄂", "starts_on": "2027-01-15", "ends_on": "2027-04-15",
                                                    "remind": "2027-04-01", "csrf": csrf},
                          headers={"Origin": BASE})
    assert started.status_code == 200 and "已开启年审轮次" in started.text
    page = client.get("/console/reviews/1").text
    assert "#002#鄂ICP备20001001号-2#无变化#" in page and "106509719767" in page and "2027-04-01" in page
    evil = client.post("/console/reviews/1/done", data={"websites": "鄂ICP备20001001号-1", "csrf": csrf},
                       headers={"Origin": "http://testserver:8081"}, follow_redirects=False)
    assert evil.status_code == 403 and states(store)["鄂ICP备20001001号-1"] == "notified"
    marked = client.post("/console/reviews/1/done", data={"websites": "鄂ICP备20001001号-1\n", "csrf": csrf},
                         headers={"Origin": BASE})
    assert "已标记完成 1 个网站" in marked.text
    listing = "序号,网站备案号\n1,鄂ICP备20001001号-2\n2,鄂ICP备20001001号-1\n".encode("gb18030")
    no_csrf = client.post("/console/reviews/1/import", files={"file": ("名单.csv", listing, "text/csv")},
                          headers={"Origin": BASE}, follow_redirects=False)
    assert no_csrf.status_code == 403
    imported = client.post("/console/reviews/1/import", data={"csrf": csrf},
                           files={"file": ("名单.csv", listing, "text/csv")}, headers={"Origin": BASE})
    assert "已标记完成 1 个网站，1 个此前已完成" in imported.text
    assert states(store) == {"鄂ICP备20001001号-1": "done", "鄂ICP备20001001号-2": "done"}
    early = client.post("/console/reviews/1/close", data={"csrf": csrf}, headers={"Origin": BASE})
    assert "未能结束" in early.text
    assert client.get(f"/console/reviews/{HUGE}").status_code == 404
    assert client.get("/console/reviews/1?state=nonsense").status_code == 422


def test_the_console_and_api_send_contact_verifications(app, tmp_path):
    application, store = app
    client = TestClient(application)
    assert client.post("/contacts/verify", json={}, headers=AUTH).status_code == 400  # no contacts.secret yet
    assert login(client).status_code == 303
    page = client.get("/console/contacts")
    assert page.status_code == 200 and "contacts.secret" in page.text
    config_path = tmp_path / "beian.toml"
    config_path.write_text(config_path.read_text(encoding="utf-8") + '[contacts]\nsecret = "0123456789abcdef0123"\n',
                           encoding="utf-8")
    client = TestClient(create_app(load_config(config_path), store, now=Clock()))
    assert login(client).status_code == 303
    csrf = form_csrf(client.get("/console/contacts").text)
    assert client.post("/console/contacts/verify", data={"subject": ""}, headers={"Origin": BASE},
                       follow_redirects=False).status_code == 403
    sent = client.post("/console/contacts/verify", data={"subject": "鄂ICP备20001001号", "csrf": csrf},
                       headers={"Origin": BASE})
    assert "已发送 1 份核验" in sent.text  # the principal by email; the leader has a mobile, but no SMS gateway
    listed = client.get("/contacts/verifications?state=sent", headers=AUTH).json()
    assert [(v["role"], v["name"], v["email_state"], v["sms_state"]) for v in listed] == [
        ("principal", "王强", "queued", "")]
    assert client.get("/contacts/verifications?state=nonsense", headers=AUTH).status_code == 422
    assert client.post("/contacts/verify", json={"subjects": ["鄂ICP备20001001号"]}, headers=AUTH).json()["skipped"] == 1
    with store.session() as session:
        assert [m.kind for m in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "verify"))] == ["verify"]


def test_a_round_opened_ahead_of_its_first_day_mails_on_that_day(app, monkeypatch):
    from core.config import Config, ProviderConfig
    from scanner.workflows.annual_review import AnnualReview

    _application, store = app
    config = Config(provider=ProviderConfig(code="002"))
    round_, report = AnnualReview(config, store).start("鄂", "2027-02-01", "2027-04-15")
    assert report.messages == 0 and set(states(store).values()) == {"due"}
    assert AnnualReview(config, store).sweep()[0][1].messages == 0  # still before the first day
    monkeypatch.setenv("BEIAN_NOW", "2027-02-01T08:30:00+08:00")
    assert AnnualReview(config, store).sweep()[0][1].messages == 1
    assert set(states(store).values()) == {"notified"}
    with store.session() as session:
        assert [m.kind for m in session.scalars(select(OutboxMessage))] == ["review"]
