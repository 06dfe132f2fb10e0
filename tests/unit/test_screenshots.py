"""Evidence screenshots without a browser: config errors, the quality ladder, which findings are evidence,
the cap split between workers, the retention rule and the shooter's bookkeeping."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from checks.framework import Finding, Outcome
from core.config import ConfigError, parse_config
from spiders.render import Fetched, Rendered
from spiders.screenshot import Shooter, evidence_codes, qualities


@pytest.mark.parametrize(("section", "message"), [
    ({"max_kb": 151}, "screenshots.max_kb: between 20 and 150"),
    ({"max_kb": "big"}, "screenshots.max_kb: expected a whole number"),
    ({"quality": 100}, "screenshots.quality: a JPEG quality between 10 and 95"),
    ({"max_per_scan": -1}, "screenshots.max_per_scan: must be zero or more"),
    ({"concurrency": 0}, "screenshots.concurrency: must be positive"),
    ({"enabled": "yes"}, "screenshots.enabled: expected true or false"),
    ({"folder": "/tmp"}, "screenshots.folder: unknown key"),
])
def test_config_errors_are_one_line_and_name_the_key(section, message):
    with pytest.raises(ConfigError) as caught:
        parse_config({"screenshots": section})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_defaults_keep_images_under_150_kb():
    config = parse_config({}).screenshots
    assert config.enabled and config.max_kb <= 150 and config.max_per_scan == 500 and config.retention_days == 90


def test_the_quality_ladder_goes_down_to_ten():
    assert qualities(50) == [50, 40, 38, 25, 15, 10]
    assert qualities(10) == [10]


def outcome(code: str, state: str = "failed") -> Outcome:
    finding = Finding("seen", code=code) if state == "failed" else None
    return Outcome(code, state, [finding] if finding else [])


def test_only_filing_and_content_findings_that_open_cases_are_evidence():
    outcomes = [outcome("filing.link_missing"), outcome("content.prohibited"), outcome("site.unreachable"),
                outcome("filing.psb_missing"), outcome("filing.number_missing", "passed")]
    assert evidence_codes(outcomes, lambda code: code != "filing.psb_missing") == ["content.prohibited",
                                                                                   "filing.link_missing"]


def test_the_cap_is_split_exactly_between_workers():
    from scanner.crawl import _shooter
    from scanner.targets import Shard

    config = parse_config({"screenshots": {"max_per_scan": 5}})
    caps = [_shooter(config, None, 1, object(), Shard(i, 3)).config.max_per_scan for i in range(3)]
    assert caps == [2, 2, 1]
    assert _shooter(parse_config({"screenshots": {"max_per_scan": 1}}), None, 1, object(), Shard(1, 2)) is None
    assert _shooter(config, None, 1, None, Shard(0, 1)) is None  # no browser, no screenshots


class FakeRenderer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.visits = 0

    async def visit(self, make_session) -> Rendered:
        self.visits += 1
        make_session()
        if self.fail:
            raise RuntimeError("browser gone")
        return Rendered("rendered", images={"viewport": b"\xff\xd8jpeg"}, blocked=["http://10.0.0.1/x: 不抓取"])


def test_the_shooter_caps_saves_and_survives_failures():
    saved, done = [], []
    config = parse_config({"screenshots": {"max_per_scan": 2}})

    async def run(renderer) -> Shooter:
        shooter = Shooter(config.screenshots, config.render, renderer, saved.append)
        page = ("https://a.cn/", Fetched(200, {}, b"<html></html>"), None, lambda: done.append(1))
        findings = [outcome("filing.link_missing")]
        assert not shooter.offer("W-0", [outcome("site.unreachable")], page)  # nothing to show
        assert shooter.offer("W-1", findings, page) and shooter.offer("W-2", findings, page)
        assert not shooter.offer("W-3", findings, page)  # over the cap
        await shooter.drain(5)
        return shooter

    shooter = asyncio.run(run(FakeRenderer()))
    assert [s.website_number for s in saved] == ["W-1", "W-2"] and saved[0].state == "taken"
    assert shooter.stats["capped"] == 1 and len(done) == 4 and shooter.pending == 0
    saved.clear()
    shooter = asyncio.run(run(FakeRenderer(fail=True)))
    assert [s.state for s in saved] == ["failed", "failed"] and "browser gone" in saved[0].reason


def test_retention_keeps_evidence_of_open_and_recently_closed_cases(tmp_path):
    from core.config import Config
    from scanner.store import screenshots
    from scanner.store.db import Store
    from scanner.store.models import Case, Scan, Screenshot

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old, recent = now - timedelta(days=200), now - timedelta(days=10)
    with store.transaction() as session:
        session.add(Scan(id=1, started_at=old))
        for n, taken in ((1, old), (2, old), (3, old), (4, recent)):
            session.add(Screenshot(scan_id=1, website_number=f"W-{n}", url="", taken_at=taken, state="taken", reason="",
                                   codes=["filing.link_missing"], viewport=b"x", size_bytes=1, detail={}))
        for n, closed, check in ((2, None, "filing.link_missing"), (3, old, "filing.link_missing"),
                                 (1, recent, "site.unreachable")):
            session.add(Case(key=f"k{n}", active_key=None if closed else f"k{n}", check=check, severity="high",
                             subject_number="S", website_number=f"W-{n}", state="resolved" if closed else "open",
                             opened_at=old, closed_at=closed))
    assert screenshots.sweep(Config(), store, now) == 2  # W-1 (only an unrelated case) and W-3 (closed long ago)
    with store.session() as session:
        assert sorted(session.scalars(select(Screenshot.website_number))) == ["W-2", "W-4"]
    store.dispose()


def test_migration_0010_matches_the_model_and_downgrades(tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, inspect

    from scanner.store.db import Store, _alembic_config
    from scanner.store.models import Base

    url = f"sqlite:///{tmp_path / 'beian.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "screenshots" in repr(d)] == []
    cfg = _alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert "screenshots" not in inspect(engine).get_table_names()
    engine.dispose()


def test_a_notice_links_the_latest_screenshot_of_a_filing_case(tmp_path):
    from core.config import parse_config
    from scanner.notices.compose import render
    from scanner.notices.items import build_items
    from scanner.store.db import Store
    from scanner.store.models import Case, Scan, Screenshot

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with store.transaction() as session:
        session.add(Scan(id=1, started_at=now))
        for n, state in ((1, "taken"), (2, "taken"), (3, "failed")):
            session.add(Screenshot(id=n, scan_id=1, website_number="W-1", url="", taken_at=now, state=state, reason="",
                                   codes=["filing.link_missing"], viewport=b"x" if state == "taken" else None,
                                   size_bytes=1, detail={}))
        for n, check in ((1, "filing.link_missing"), (2, "site.unreachable")):
            session.add(Case(id=n, key=f"{check}|S|W-1", active_key=f"{check}|S|W-1", check=check, severity="high",
                             subject_number="S", website_number="W-1", state="open", opened_at=now))
    with store.session() as session:
        items = build_items(session, session.scalars(select(Case).order_by(Case.id)).all())
    assert [i["screenshot_id"] for i in items] == [2, 0]  # the latest taken one, and only for a filing.* case
    config = parse_config({"contacts": {"public_url": "https://beian.cloud.example.cn"}})
    link = "https://beian.cloud.example.cn/customer/7.1797415200.abc"
    context = {"items": items, "deadline": "2026-12-15 18:00", "working_days": 10, "critical_count": 0}
    mail = render(config, "notice", "admin@example.cn", {**context, "link": link}, now=now)
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # the customer is sent to the case on their own page, never to the operator console's login
    assert f"页面截图：{link}#case-1" in text and f'href="{link}#case-1"' in html
    assert text.count("页面截图") == 1 and "/console/" not in text + html
    unlinked = render(config, "notice", "admin@example.cn", context, now=now)  # no customer secret: no link
    assert "页面截图" not in email.message_from_bytes(unlinked.raw, policy=email.policy.default).get_body(
        ("plain",)).get_content()
    store.dispose()


def test_the_customer_page_serves_a_screenshot_to_its_recipient_only(tmp_path):
    from fastapi.testclient import TestClient

    from core.config import parse_config
    from scanner.customer_links import issue
    from scanner.serve.api import create_app
    from scanner.store.db import Store
    from scanner.store.models import Case, Scan, Screenshot

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    config = parse_config({"database": url, "customer": {"secret": "s" * 32, "public_url": "https://b.example.cn"}})
    store = Store(url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with store.transaction() as session:
        session.add(Scan(id=1, started_at=now))
        for n, number in ((1, "W-A"), (2, "W-B")):
            session.add(Screenshot(id=n, scan_id=1, website_number=number, url="", taken_at=now, state="taken",
                                   reason="", codes=["filing.link_missing"], viewport=b"\xff\xd8jpeg-" + number.encode(),
                                   size_bytes=9, detail={"sizes": {"viewport": 9}}))
        for n, (number, recipient) in enumerate((("W-A", "a@example.cn"), ("W-B", "b@example.cn")), start=1):
            key = f"filing.link_missing|S{n}|{number}"
            session.add(Case(id=n, key=key, active_key=key, check="filing.link_missing", severity="high",
                             subject_number=f"S{n}", website_number=number, state="notified", opened_at=now,
                             recipient=recipient))
        token = issue(session, config, "a@example.cn", now).rsplit("/", 1)[1]
    client = TestClient(create_app(config, store, now=lambda: now), follow_redirects=False)
    own = client.get(f"/customer/{token}/screenshots/1/viewport.jpg")
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg" and own.content.endswith(b"W-A")
    assert own.headers["cache-control"] == "no-store"
    for path in ("2/viewport.jpg", "1/footer.jpg", "1/other.jpg", "99/viewport.jpg", "x/viewport.jpg"):
        answer = client.get(f"/customer/{token}/screenshots/{path}")
        assert answer.status_code == 404 and "jpeg" not in answer.headers["content-type"], path
    assert client.get(f"/customer/{token[:-2]}xx/screenshots/1/viewport.jpg").status_code == 404
    page = client.get(f"/customer/{token}")
    assert page.status_code == 200 and f"/customer/{token}/screenshots/1/viewport.jpg" in page.text
    assert "screenshots/2/" not in page.text
    store.dispose()
