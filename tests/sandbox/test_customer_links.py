"""Customer self-service links (issue 23) against real scans of the sandbox and its SMTP server, through the operator
app in-process: each notice carries a personal link; a link shows its recipient's cases and nobody else's; a
tampered, foreign or expired link gets a Chinese 4xx page; 申请复查 queues a rescan within the rate limits and
the result (still found, with the new scan's evidence) appears on the page; operators see it in the audit trail."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.config import load_config
from scanner.rescans import FINISHED, finish
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.serve.api import create_app
from scanner.store.db import Store, as_utc
from scanner.store.models import Case, CaseEvent, CustomerRescan, RescanRequest
from tests.sandbox.customer_world import A_SITE, A_SITE2, B_SITE, SECRET, A, B, customer_link, customer_world
from tests.sandbox.test_cases_notices import body_text, mails
from tests.sandbox_helpers import beian, import_world_registry, write_config


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("customer")
    with Sandbox(parse_world(customer_world()), lifetime_s=900) as box:
        config_path = write_config(box, tmp_path, {
            "notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000,
                        "outbox_dir": str(tmp_path / "outbox")},
            "customer": {"secret": SECRET, "public_url": "https://beian.cloud.example.cn"},
        })
        import_world_registry(box, config_path, tmp_path)
        for args in (("scan",), ("notices", "send", "--no-sweep")):
            result = beian(config_path, *args)
            assert result.returncode == 0, result.stderr[-3000:]
        notices = {m["To"]: m for m in mails(box) if m["X-Beian-Kind"] == "notice"}
        store = Store(f"sqlite:///{tmp_path / 'beian.db'}")
        with store.session() as session:
            ids = {c.website_number: c.id for c in session.scalars(select(Case))}
        yield box, config_path, load_config(config_path), store, notices, ids
        store.dispose()


def client_for(config, store, moment: datetime | None = None) -> TestClient:
    return TestClient(create_app(config, store, now=(lambda: moment) if moment else None), follow_redirects=False)


def test_each_notice_carries_its_own_link(desk):
    _box, _path, _config, _store, notices, _ids = desk
    assert set(notices) >= {A, B}
    a_link, b_link = customer_link(body_text(notices[A])), customer_link(body_text(notices[B]))
    assert a_link != b_link
    assert "申请复查" in body_text(notices[A])
    html = notices[A].get_body(("html",)).get_content()
    assert f'href="https://beian.cloud.example.cn{a_link}"' in html


def test_a_link_shows_its_customers_cases_and_nobody_elses(desk):
    _box, _path, config, store, notices, ids = desk
    client = client_for(config, store)
    a = client.get(customer_link(body_text(notices[A])))
    assert a.status_code == 200 and a.headers["content-type"].startswith("text/html")
    assert a.headers["cache-control"] == "no-store" and a.headers["referrer-policy"] == "no-referrer"
    assert f'id="case-{ids[A_SITE]}"' in a.text and f'id="case-{ids[A_SITE2]}"' in a.text
    assert "备案号未链接至工信部备案管理系统" in a.text and "整改要求" in a.text and "整改期限" in a.text
    assert "<blockquote>" in a.text and "京ICP备30000001号-2" in a.text  # the evidence snippet
    assert "申请复查" in a.text
    b = client.get(customer_link(body_text(notices[B])))
    assert b.status_code == 200 and f'id="case-{ids[B_SITE]}"' in b.text
    for other in (B, B_SITE, "fun-c.cn", "丙", f'id="case-{ids[B_SITE]}"'):
        assert other not in a.text, other
    for other in (A, A_SITE, A_SITE2, "nolink-a.cn", "甲公司", f'id="case-{ids[A_SITE]}"'):
        assert other not in b.text, other


def _tampered(link: str) -> list[str]:
    prefix, row_id, expiry, signature = link.rsplit("/", 1)[0], *link.rsplit("/", 1)[1].split(".")
    flip = ("A" if signature[-1] != "A" else "B")
    return [f"{prefix}/{row_id}.{expiry}.{signature[:-1]}{flip}",  # signature changed
            f"{prefix}/{row_id}.{int(expiry) + 86400}.{signature}",  # expiry pushed out
            f"{prefix}/{int(row_id) + 1}.{expiry}.{signature}",  # another link's row
            f"{prefix}/{row_id}.{expiry}", f"{prefix}/garbage", f"{prefix}/{'9' * 30}.1.x", f"{prefix}/{'x' * 500}",
            f"{prefix}/{row_id}.{expiry}.{signature}/nothing-here"]


def test_tampered_and_unknown_links_get_a_chinese_404(desk):
    _box, _path, config, store, notices, _ids = desk
    client = client_for(config, store)
    for bad in _tampered(customer_link(body_text(notices[A]))):
        answer = client.get(bad)
        assert answer.status_code == 404, bad
        assert answer.headers["content-type"].startswith("text/html"), bad
        assert "链接" in answer.text and "Traceback" not in answer.text and A not in answer.text, bad


def test_an_expired_link_gets_a_chinese_410(desk):
    _box, _path, config, store, notices, _ids = desk
    link = customer_link(body_text(notices[A]))
    later = datetime.now(UTC) + timedelta(days=config.customer.link_days, minutes=1)
    answer = client_for(config, store, later).get(link)
    assert answer.status_code == 410 and "过期" in answer.text and A not in answer.text
    assert client_for(config, store, later).post(f"{link}/cases/1/rescan").status_code == 410
    # the same link a day before its expiry still opens
    assert client_for(config, store, later - timedelta(days=1)).get(link).status_code == 200


def test_a_link_cannot_request_a_rescan_of_another_customers_case(desk):
    _box, _path, config, store, notices, ids = desk
    client = client_for(config, store)
    link = customer_link(body_text(notices[A]))
    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(RescanRequest))
    for case_id in (ids[B_SITE], 999999, "abc", "9" * 40):
        answer = client.post(f"{link}/cases/{case_id}/rescan")
        assert answer.status_code == 404 and "没有找到这个案件" in answer.text and "Traceback" not in answer.text
        assert B_SITE not in answer.text
    for bad in _tampered(link)[:3]:
        assert client.post(f"{bad}/cases/{ids[A_SITE]}/rescan").status_code == 404
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(RescanRequest)) == before
        assert session.scalar(select(func.count()).select_from(CustomerRescan)) == 0


def test_rescan_still_found_shows_the_new_scans_evidence_and_the_audit_trail(desk):
    _box, config_path, config, store, notices, ids = desk
    client = client_for(config, store)
    link = customer_link(body_text(notices[B]))
    asked = client.post(f"{link}/cases/{ids[B_SITE]}/rescan")
    assert asked.status_code == 303 and asked.headers["location"] == f"{link}?asked={ids[B_SITE]}"
    with store.session() as session:
        row = session.scalars(select(CustomerRescan)).one()
        rescan = session.get(RescanRequest, row.rescan_id)
        assert rescan.kind == "customer" and rescan.selector["websites"] == [B_SITE]
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == ids[B_SITE]).order_by(CaseEvent.id.desc())).first()
    assert event.actor == f"customer {B}" and "申请复查" in event.reason and event.detail["rescan_id"] == rescan.id
    page = client.get(f"{link}?asked={ids[B_SITE]}")
    assert 'data-outcome="pending"' in page.text and 'http-equiv="refresh"' in page.text and 'id="asked"' in page.text
    assert "disabled" in page.text

    # what `beian serve` does with the request: the scan, then the request marked finished
    result = beian(config_path, "scan", "--request", str(rescan.id), "--website", B_SITE)
    assert result.returncode == 0, result.stderr[-3000:]
    finish(store, rescan.id, FINISHED)
    page = client.get(link)
    assert 'data-outcome="still_found"' in page.text and "问题仍然存在" in page.text
    assert "百家乐" in page.text  # the new scan's evidence snippet
    assert 'http-equiv="refresh"' not in page.text
    assert 'id="asked"' not in client.get(f"{link}?asked={ids[B_SITE]}").text  # done: no "being re-checked" banner
    show = beian(config_path, "cases", "show", str(ids[B_SITE]))
    assert "申请复查" in show.stdout and B in show.stdout


def test_rate_limits_per_case_and_per_customer(desk):
    _box, _path, config, store, notices, ids = desk
    limited = dataclasses.replace(config, customer=dataclasses.replace(config.customer, per_day=2,
                                                                       case_interval_minutes=60))
    link = customer_link(body_text(notices[A]))
    start = datetime.now(UTC)
    client = client_for(limited, store, start)
    assert client.post(f"{link}/cases/{ids[A_SITE]}/rescan").status_code == 303
    busy = client.post(f"{link}/cases/{ids[A_SITE]}/rescan")
    assert busy.status_code == 429 and "正在进行中" in busy.text
    with store.session() as session:
        first = session.scalars(select(CustomerRescan).where(CustomerRescan.recipient == A)).one()
    finish(store, first.rescan_id, FINISHED)
    soon = client_for(limited, store, start + timedelta(minutes=59)).post(f"{link}/cases/{ids[A_SITE]}/rescan")
    assert soon.status_code == 429 and "每 60 分钟" in soon.text
    later = client_for(limited, store, start + timedelta(minutes=61))
    assert later.post(f"{link}/cases/{ids[A_SITE2]}/rescan").status_code == 303  # the second of the day
    with store.session() as session:
        second = session.scalars(select(CustomerRescan).where(CustomerRescan.recipient == A)
                                 .order_by(CustomerRescan.id.desc())).first()
    finish(store, second.rescan_id, FINISHED)
    over = later.post(f"{link}/cases/{ids[A_SITE]}/rescan")
    assert over.status_code == 429 and "已达上限（2 次）" in over.text
    next_day = client_for(limited, store, start + timedelta(days=1, minutes=1))
    assert next_day.post(f"{link}/cases/{ids[A_SITE]}/rescan").status_code == 303
    # every accepted request is one row; refused ones left none
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(CustomerRescan).where(CustomerRescan.recipient == A)) == 3


def test_no_secret_no_link(tmp_path):
    """Without customer.secret or contacts.secret, notices carry no link and the page opens nothing."""
    from core.config import parse_config

    config = parse_config({"database": f"sqlite:///{tmp_path / 'x.db'}"})
    store = Store(config.database)
    answer = client_for(config, store).get("/customer/1.99999999999.abc")
    assert answer.status_code == 404 and "链接无效" in answer.text
    store.dispose()


def test_the_reminder_carries_a_new_link_of_its_own(desk):
    box, config_path, config, store, notices, ids = desk
    with store.session() as session:
        deadline = session.get(Case, ids[A_SITE]).deadline
    moment = (as_utc(deadline) - timedelta(hours=1)).isoformat()  # past the reminder day, before the deadline
    result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(config_path), "notices", "send"],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "BEIAN_NOW": moment})
    assert result.returncode == 0, result.stderr[-3000:]
    reminders = [m for m in mails(box) if m["X-Beian-Kind"] == "reminder" and m["To"] == A]
    assert len(reminders) == 1
    link = customer_link(body_text(reminders[0]))
    assert link != customer_link(body_text(notices[A]))
    page = client_for(config, store).get(link)
    assert page.status_code == 200 and f'id="case-{ids[A_SITE2]}"' in page.text and B not in page.text


def test_links_and_requests_on_postgresql(pg_url):
    """Migration 0009 on PostgreSQL, and the timestamp comparisons the expiry and the limits make."""
    from core.config import parse_config
    from scanner.customer_links import check, issue

    config = parse_config({"database": pg_url, "customer": {"secret": SECRET, "link_days": 1}})
    store = Store(pg_url)
    now = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    with store.transaction() as session:
        token = issue(session, config, A, now).rsplit("/", 1)[1]
    assert check(config, store, token, now + timedelta(hours=23)).recipient == A
    answer = client_for(config, store, now + timedelta(days=1)).get(f"/customer/{token}")
    assert answer.status_code == 410
    page = client_for(config, store, now).get(f"/customer/{token}")
    assert page.status_code == 200 and 'id="no-open"' in page.text
    store.dispose()


def test_two_requests_at_once_cannot_both_pass_the_daily_limit(desk, monkeypatch):
    """The limits are checked and the request counted in one transaction: of two clicks at the same moment on
    two cases with one request left for the day, one is queued and the other refused. The patched enqueue holds
    the first request until the second has been decided (or 5 s), so without that transaction both would pass."""
    import threading

    from scanner import customer_desk
    from scanner.customer_desk import DeskError, request_rescan
    from scanner.customer_links import check

    _box, _path, config, store, notices, ids = desk
    with store.session() as session:
        for row in session.scalars(select(CustomerRescan).where(CustomerRescan.recipient == A)):
            finish(store, row.rescan_id, FINISHED)  # nothing of A's still running from the tests before
    limited = dataclasses.replace(config, customer=dataclasses.replace(config.customer, per_day=1))
    link = check(limited, store, customer_link(body_text(notices[A])).rsplit("/", 1)[1], datetime.now(UTC))
    moment = datetime.now(UTC) + timedelta(days=30)  # no earlier request counts that day
    both = threading.Barrier(2)
    real_enqueue = customer_desk.enqueue

    def held_enqueue(*args, **kwargs):
        try:
            both.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(customer_desk, "enqueue", held_enqueue)
    outcomes: dict[str, object] = {}

    def click(site: str) -> None:
        try:
            outcomes[site] = request_rescan(limited, store, link, ids[site], moment)
        except DeskError as exc:
            outcomes[site] = exc
            both.abort()  # refused: the other click need not wait for it

    threads = [threading.Thread(target=click, args=(site,)) for site in (A_SITE, A_SITE2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    refused = [o for o in outcomes.values() if isinstance(o, DeskError)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert refused[0].status == 429 and "已达上限（1 次）" in str(refused[0])
    with store.session() as session:
        rows = session.scalars(select(CustomerRescan).where(CustomerRescan.recipient == A,
                                                            CustomerRescan.requested_at == moment)).all()
        assert len(rows) == 1 and rows[0].rescan_id > 0
