"""Findings upsert/close rules, and an interrupted scan resuming without losing or repeating work."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from checks.framework import Finding as Found
from checks.framework import Outcome
from core.statuses import FAILED, NOT_CHECKED, PASSED
from scanner import findings
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.models import Finding
from tests.sandbox_helpers import beian, import_world_registry, write_config

SUBJECT, SITE = "京ICP备10206937号", "京ICP备10206937号-1"


def verdict(*outcomes: Outcome) -> findings.Verdicts:
    return findings.Verdicts(SUBJECT, SITE, list(outcomes))


def unreachable() -> Outcome:
    return Outcome("site.unreachable", FAILED, [Found(summary="网站首页无法访问", evidence={"x": 1}, domain="example.cn", code="site.unreachable")])


def rows(store) -> list[Finding]:
    with store.session() as session:
        return list(session.scalars(select(Finding).order_by(Finding.id)))


def test_seen_again_updates_passed_closes_suppressed_leaves_open(store):
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    for scan_id in (1, 2):
        with store.session() as session, session.begin():
            findings.apply(session, scan_id, t0 + timedelta(days=scan_id), [verdict(unreachable())])
    (row,) = rows(store)
    assert row.seen_count == 2 and row.first_scan_id == 1 and row.last_scan_id == 2 and row.closed_at is None
    with store.session() as session, session.begin():  # not evaluated (root cause elsewhere): stays open
        findings.apply(session, 3, t0 + timedelta(days=3), [verdict(Outcome("site.unreachable", NOT_CHECKED, reason="x"))])
    assert rows(store)[0].closed_at is None
    with store.session() as session, session.begin():
        counts = findings.apply(session, 4, t0 + timedelta(days=4), [verdict(Outcome("site.unreachable", PASSED))])
    assert counts["closed"] == 1 and rows(store)[0].closed_at is not None
    with store.session() as session, session.begin():  # it comes back: a new finding, history kept
        findings.apply(session, 5, t0 + timedelta(days=5), [verdict(unreachable())])
    assert [r.closed_at is None for r in rows(store)] == [False, True]


def test_one_domain_fixed_closes_only_that_domain(store):
    def foreign(*domains):
        return Outcome("access.foreign_ip", FAILED, [Found(summary="x", domain=d, code="access.foreign_ip") for d in domains])

    with store.session() as session, session.begin():
        findings.apply(session, 1, datetime.now(UTC), [verdict(foreign("a.cn", "b.cn"))])
    with store.session() as session, session.begin():
        findings.apply(session, 2, datetime.now(UTC), [verdict(foreign("b.cn"))])
    state = {r.domain: r.closed_at is None for r in rows(store)}
    assert state == {"a.cn": False, "b.cn": True}


PAGE = "<html><body><h1>测试</h1><p>" + "内容" * 200 + "</p><a href='https://beian.miit.gov.cn/'>京ICP备30000001号</a></body></html>"


def resume_world() -> dict:
    hosts, sites = {}, []
    for i in range(40):
        name = f"site{i}.cn"
        slow = i % 4 == 0
        hosts[name] = {"a": ["127.40.0.1"], "https": {"behaviour": "hang"} if slow else {"page": PAGE}}
        sites.append({"website_number": f"京ICP备30000001号-{i + 1}", "name": f"测试网站第{i}号", "domains": [name]})
    return {
        "hosts": hosts,
        "scanner": {"provider": {"ip_ranges": ["127.40.0.0/16"]},
                    "fetch": {"allow_ranges": ["127.40.0.0/16"], "timeout_s": 4, "per_ip_concurrency": 4}},
        "registry": {"subjects": [{"subject_number": "京ICP备30000001号", "name": "北京续扫测试有限公司",
                                   "nature": "企业", "websites": sites}]},
    }


def test_interrupted_scan_resumes_without_loss_or_duplicates(tmp_path):
    with Sandbox(parse_world(resume_world()), lifetime_s=300) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        database = tmp_path / "beian.db"
        process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "scan"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 180  # generous: the default --workers starts a process per core first
        observed = 0
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                observed = sqlite3.connect(database).execute("select count(*) from observations").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if observed >= 5:
                break
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert 5 <= observed < 40, "the scan must be cut off midway"
        result = beian(config, "scan")
        assert result.returncode == 0, result.stderr
        assert "resumed" in result.stdout
        connection = sqlite3.connect(database)
        per_site = connection.execute("select website_id, count(*) from observations group by website_id").fetchall()
        assert len(per_site) == 40 and all(n == 1 for _, n in per_site)
        assert connection.execute("select count(distinct scan_id) from observations").fetchone()[0] == 1
        unreachable_count = connection.execute(
            "select count(*) from findings where \"check\" = 'site.unreachable'").fetchone()[0]
        assert unreachable_count == 10
