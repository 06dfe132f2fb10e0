"""The [customer] section (one-line errors naming the key), the customer tables' migration, and the signed-link
helper shared with contact verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from core.config import ConfigError, parse_config
from scanner.customer_desk import snippets
from scanner.customer_links import LinkError, base_url, check, issue, secret_of
from scanner.signed_links import parse, sign
from scanner.store.db import Store
from scanner.store.models import Base

TABLES = {"customer_links", "customer_rescans"}


def test_customer_defaults_and_fallbacks():
    config = parse_config({})
    assert (config.customer.link_days, config.customer.case_interval_minutes, config.customer.per_day) == (30, 60, 10)
    assert secret_of(config) == "" and base_url(config) == "http://127.0.0.1:8700"
    shared = parse_config({"contacts": {"secret": "x" * 16, "public_url": "https://b.example.cn/"}})
    assert secret_of(shared) == "x" * 16 and base_url(shared) == "https://b.example.cn"
    own = parse_config({"contacts": {"secret": "x" * 16}, "customer": {"secret": "y" * 20, "public_url": "https://c.example.cn"}})
    assert secret_of(own) == "y" * 20 and base_url(own) == "https://c.example.cn"


@pytest.mark.parametrize(("data", "key"), [
    ({"customer": {"secret": "short"}}, "customer.secret"),
    ({"customer": {"per_day": 0}}, "customer.per_day"),
    ({"customer": {"case_interval_minutes": "soon"}}, "customer.case_interval_minutes"),
    ({"customer": {"link_days": -1}}, "customer.link_days"),
    ({"customer": {"public_url": "ftp://x"}}, "customer.public_url"),
    ({"customer": {"rate": 1}}, "customer.rate"),
])
def test_bad_customer_values_name_the_key_on_one_line(data, key):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).startswith(key) and "\n" not in str(caught.value)


def test_the_customer_tables_match_their_models_and_downgrade(tmp_path):
    from alembic import command

    from scanner.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'beian.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in TABLES)] == []
    assert TABLES <= set(inspect(engine).get_table_names())
    cfg = _alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()


def test_signed_tokens_bind_everything_they_sign():
    token = sign("k" * 16, "customer", 7, 1_800_000_000, "nonce", "a@b.cn")
    assert parse(token) == (7, 1_800_000_000, token.split(".")[2])
    assert token != sign("k" * 16, "customer", 7, 1_800_000_000, "nonce", "c@b.cn")
    assert token != sign("k" * 16, "link", 7, 1_800_000_000, "nonce", "a@b.cn")
    assert token != sign("j" * 16, "customer", 7, 1_800_000_000, "nonce", "a@b.cn")
    for bad in ("", "1.2", "a.2.x", "0.2.x", f"{2**63}.1.x", "1.2.3.4", "1." + "9" * 13 + ".x"):
        assert parse(bad) is None, bad


def test_issue_and_check_a_link(tmp_path):
    config = parse_config({"database": f"sqlite:///{tmp_path / 'x.db'}", "customer": {"secret": "s" * 16, "link_days": 2}})
    store = Store(config.database)
    now = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    with store.transaction() as session:
        url = issue(session, config, "a@b.cn", now)
        assert issue(session, config, "", now) == ""
    token = url.rsplit("/", 1)[1]
    assert check(config, store, token, now + timedelta(days=1)).recipient == "a@b.cn"
    with pytest.raises(LinkError) as expired:
        check(config, store, token, now + timedelta(days=2))
    assert expired.value.status == 410 and "过期" in str(expired.value)
    other = parse_config({"database": config.database, "customer": {"secret": "t" * 16}})
    with pytest.raises(LinkError) as foreign:
        check(other, store, token, now)  # signed with another secret
    assert foreign.value.status == 404
    store.dispose()


def test_snippets_found_anywhere_in_the_evidence():
    evidence = {"snippet": "京ICP备1号", "categories": [{"snippets": ["百家乐", "百家乐", "体育投注"]}], "x": {"snippet": "z" * 500}}
    found = snippets(evidence)
    assert found[:3] == ["京ICP备1号", "百家乐", "体育投注"] and len(found) == 3
    assert len(snippets({"snippet": "z" * 500})[0]) == 200


def test_a_case_closed_by_the_rescan_reads_resolved_before_the_queue_marks_it_finished():
    """The rescan's case run resolves the case a moment before `beian serve` marks the request finished: the page
    must show the result then, not wait for a refresh that a page with no open request no longer does."""
    from scanner.customer_desk import _request_view
    from scanner.store.models import Case, CustomerRescan, RescanRequest

    asked_at = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    request = CustomerRescan(case_id=1, recipient="a@b.cn", link_id=1, rescan_id=1, requested_at=asked_at)
    running = RescanRequest(id=1, kind="customer", state="running")
    resolved = Case(id=1, state="resolved", active_key=None, closed_at=asked_at + timedelta(minutes=1))
    assert _request_view(request, running, resolved, [])["outcome"] == "resolved"
    earlier = Case(id=1, state="resolved", active_key=None, closed_at=asked_at - timedelta(minutes=1))
    assert _request_view(request, running, earlier, [])["outcome"] == "closed"
    active = Case(id=1, state="notified", active_key="k")
    assert _request_view(request, running, active, [])["outcome"] == "pending"
    failed = RescanRequest(id=1, kind="customer", state="failed")
    assert _request_view(request, failed, active, [])["outcome"] == "failed"
    done = RescanRequest(id=1, kind="customer", state="finished", scan_id=5, finished_at=asked_at)
    assert _request_view(request, done, active, [])["outcome"] == "still_found"
