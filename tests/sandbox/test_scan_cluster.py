"""`beian scan --distributed` with `beian worker` nodes on a real Redis (its own redis-server) and PostgreSQL
(a schema of the test's own): three workers scan the sample world and find exactly what a local scan finds;
on a generated world (BEIAN_TEST_CLUSTER_SITES, default 2,000) a node killed with SIGKILL at named points
(5 rounds) and a Redis restarted mid-scan lose nothing and record nothing twice, with the findings of a
local scan; an interrupted coordinator resumes with the same command.

The nodes are processes on this machine's loopback, not network namespaces of their own."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scanner.sandbox import Sandbox, load_world
from scanner.sandbox.generate import generate
from scanner.sandbox.world import parse_world
from tests.cluster_helpers import Nodes, cluster_config, distributed_scan, redis_server  # noqa: F401 - fixture
from tests.sandbox.test_scan_workers import detailed, scan
from tests.sandbox_helpers import import_world_registry, triples, warm_certificates, write_config

SAMPLE = Path(__file__).resolve().parents[2] / "scanner" / "sandbox" / "worlds" / "sample.yaml"


def pg_rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def live_ids(url: str) -> list[int]:
    return [r[0] for r in pg_rows(url, "select id from websites where removed_at is null and status != '已注销' order by id")]


def per_website(url: str, scan_id: int) -> dict[int, int]:
    return dict(pg_rows(url, f"select website_id, count(*) from observations where scan_id = {scan_id} group by website_id"))


def test_three_workers_find_what_a_local_scan_finds(tmp_path, pg_url, redis_server):  # noqa: F811
    with Sandbox(load_world(SAMPLE), lifetime_s=900) as box:
        (tmp_path / "local").mkdir()
        local = write_config(box, tmp_path / "local", {"dns": {"timeout_s": 10}})
        import_world_registry(box, local, local.parent)
        result, want = scan(local, 1)
        assert result.returncode == 0, result.stderr[-3000:]
        assert want, "the sample world has findings"

        config = cluster_config(box, tmp_path / "coordinator", pg_url, redis_server.url)
        import_world_registry(box, config, config.parent)
        nodes = Nodes(box, tmp_path / "nodes", pg_url, redis_server.url)
        try:
            for name in ("node-a", "node-b", "node-c"):
                nodes.start(name)
            process, stdout, stderr, got = distributed_scan(config)
        finally:
            nodes.stop()
        assert process.returncode == 0, stderr[-3000:] + nodes.logs()
        assert "finished" in stdout
        assert triples(got) == triples(want)
        assert detailed(got) == detailed(want)
        seen = per_website(pg_url, 1)
        assert sorted(seen) == live_ids(pg_url) and set(seen.values()) == {1}, "each website observed once"
        stats = json.loads(pg_rows(pg_url, "select stats::text from scans where id = 1")[0][0])
        assert stats["distributed"] and set(stats["nodes"]) <= {"node-a", "node-b", "node-c"}
        assert sum(n["done"] for n in stats["nodes"].values()) >= len(seen)
        state = pg_rows(pg_url, "select state from scans where id = 1")[0][0]
        assert state == "finished"
        assert not redis_server.client().smembers("beian:scans"), "the scan left the active set"


def test_distributed_needs_postgresql_and_redis(tmp_path, redis_server):  # noqa: F811
    from tests.sandbox_helpers import beian

    with Sandbox(load_world(SAMPLE), lifetime_s=300) as box:
        config = cluster_config(box, tmp_path / "sqlite", f"sqlite:///{tmp_path / 'x.db'}", redis_server.url)
        result = beian(config, "scan", "--distributed")
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0 and "cluster.redis_url" in result.stderr
        assert "PostgreSQL" in result.stderr
        plain = write_config(box, tmp_path)
        result = beian(plain, "scan", "--distributed")
        assert result.returncode == 2 and "cluster.redis_url is not set" in result.stderr, result.stderr


# -- a node killed with kill -9, Redis restarted: the generated world ---------------------------------------

SITES = int(os.environ.get("BEIAN_TEST_CLUSTER_SITES", "2000"))
# Where node-a kills itself (and its crawl process) in each round: right after leasing its K-th batch, right
# after the transaction storing its K-th observation committed (before the leases are acknowledged), right
# after acknowledging its K-th observation.
KILL_POINTS = ["leased:3", "committed:40", "acked:80", "committed:1", "leased:1"]
# RDAP answers are not reused between scans, so every round's evidence is that of a fresh scan.
NO_CACHE = {"dns": {"timeout_s": 10}, "domains": {"cache_ttl_days": 0}, "ownership": {"cache_ttl_days": 0}}
# Each node holds at most this many websites at once (fetch.concurrency), so the queue spreads over the nodes.
NODE = {**NO_CACHE, "fetch": {"concurrency": 64}}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """The generated world in a sandbox, and the findings of a local scan of it."""
    with Sandbox(parse_world(generate(SITES, seed=19)), lifetime_s=3600) as box:
        warm_certificates(box)
        folder = tmp_path_factory.mktemp("local")
        local = write_config(box, folder, NO_CACHE)
        import_world_registry(box, local, folder)
        started = time.monotonic()
        result, want = scan(local, 2)
        assert result.returncode == 0, result.stderr[-3000:]
        print(f"local scan of {SITES} sites with 2 workers: {time.monotonic() - started:.1f} s")
        yield box, want


def _wait_for(condition, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_node_killed_at_named_points_loses_nothing(tmp_path, pg_url, redis_server, big):  # noqa: F811
    box, want = big
    config = cluster_config(box, tmp_path / "coordinator", pg_url, redis_server.url, extra=NO_CACHE)
    import_world_registry(box, config, config.parent)
    ids = live_ids(pg_url)
    nodes = Nodes(box, tmp_path / "nodes", pg_url, redis_server.url, extra=NODE)
    try:
        nodes.start("node-b")
        nodes.start("node-c")
        for scan_id, point in enumerate(KILL_POINTS, start=1):
            victim = nodes.start("node-a", env={"BEIAN_TEST_KILL_NODE": f"node-a:{point}"})
            started = time.monotonic()
            process, stdout, stderr, got = distributed_scan(config)
            assert process.returncode == 0, stderr[-3000:] + nodes.logs()
            print(f"round {scan_id} (kill at {point}): {time.monotonic() - started:.1f} s")
            _wait_for(lambda v=victim: v.poll() is not None, "node-a to be killed", timeout=60)
            assert victim.returncode == -signal.SIGKILL, f"node-a was killed at {point}"
            seen = per_website(pg_url, scan_id)
            assert sorted(seen) == ids, f"round {scan_id}: every website observed"
            assert set(seen.values()) == {1}, f"round {scan_id}: none observed twice"
            assert triples(got) == triples(want), f"round {scan_id}"
            assert detailed(got) == detailed(want), f"round {scan_id}"
            stats = json.loads(pg_rows(pg_url, f"select stats::text from scans where id = {scan_id}")[0][0])
            assert not stats["given_up"]
            if point.startswith("leased") or point.startswith("committed"):
                assert stats["writer"]["requeued"] > 0, f"round {scan_id}: the dead node's leases went back"
    finally:
        nodes.stop()
    assert pg_rows(pg_url, "select count(*), min(state), max(state) from scans")[0] == (5, "finished", "finished")


def test_redis_restarted_mid_scan_loses_nothing(tmp_path, pg_url, redis_server, big):  # noqa: F811
    box, want = big
    config = cluster_config(box, tmp_path / "coordinator", pg_url, redis_server.url, extra=NO_CACHE)
    import_world_registry(box, config, config.parent)
    ids = live_ids(pg_url)
    nodes = Nodes(box, tmp_path / "nodes", pg_url, redis_server.url, extra=NODE)

    def restart_mid_scan(process) -> None:
        _wait_for(lambda: len(per_website(pg_url, 1)) >= len(ids) // 5 or process.poll() is not None,
                  "a fifth of the websites observed")
        assert process.poll() is None, "the scan still running when Redis goes"
        redis_server.stop()
        redis_server.start()  # empty: no persistence, the queue and leases are gone

    try:
        for name in ("node-a", "node-b", "node-c"):
            nodes.start(name)
        process, stdout, stderr, got = distributed_scan(config, wait=restart_mid_scan)
    finally:
        nodes.stop()
    assert process.returncode == 0, stderr[-3000:] + nodes.logs()
    seen = per_website(pg_url, 1)
    assert sorted(seen) == ids and set(seen.values()) == {1}
    assert triples(got) == triples(want)
    assert detailed(got) == detailed(want)
    stats = json.loads(pg_rows(pg_url, "select stats::text from scans where id = 1")[0][0])
    assert stats["writer"]["queue_rebuilt"] >= 1, "the coordinator found the queue lost and rebuilt it"
    assert all(p.returncode == 0 for p in nodes.processes.values()), "the workers outlived the restart"


def test_an_interrupted_coordinator_resumes_with_the_same_command(tmp_path, pg_url, redis_server):  # noqa: F811
    from tests.sandbox.test_findings_store import resume_world

    world = resume_world()
    world["scanner"]["fetch"]["timeout_s"] = 15  # a quarter of the sites hang that long: the scan is still running
    with Sandbox(parse_world(world), lifetime_s=600) as box:
        config = cluster_config(box, tmp_path / "coordinator", pg_url, redis_server.url)
        import_world_registry(box, config, config.parent)
        ids = live_ids(pg_url)
        nodes = Nodes(box, tmp_path / "nodes", pg_url, redis_server.url)

        def interrupt(process) -> None:
            _wait_for(lambda: per_website(pg_url, 1) or process.poll() is not None, "a first observation")
            assert process.poll() is None, "the scan still running"
            assert len(per_website(pg_url, 1)) < len(ids), "websites left for the resumed scan"
            process.send_signal(signal.SIGINT)

        try:
            nodes.start("node-a")
            nodes.start("node-b")
            first, _out, stderr, _ = distributed_scan(config, wait=interrupt)
            assert first.returncode == 3, stderr[-3000:]
            assert "run the same command to resume" in stderr
            assert pg_rows(pg_url, "select state from scans where id = 1")[0][0] == "interrupted"
            second, stdout, stderr, _ = distributed_scan(config)
        finally:
            nodes.stop()
        assert second.returncode == 0, stderr[-3000:] + nodes.logs()
        assert "resumed" in stdout
        seen = per_website(pg_url, 1)
        assert sorted(seen) == ids and set(seen.values()) == {1}, "every website once, in the one scan"
        assert pg_rows(pg_url, "select count(*), max(state) from scans")[0] == (1, "finished")


def test_a_website_whose_leases_keep_dying_is_given_up_with_a_reason(tmp_path, pg_url, redis_server):  # noqa: F811
    from tests.sandbox.test_findings_store import resume_world

    extra = {"cluster": {"max_leases": 1}, "fetch": {"concurrency": 8}}  # one lease each; a node holds 8 sites
    with Sandbox(parse_world(resume_world()), lifetime_s=600) as box:
        config = cluster_config(box, tmp_path / "coordinator", pg_url, redis_server.url, extra=extra)
        import_world_registry(box, config, config.parent)
        ids = live_ids(pg_url)
        nodes = Nodes(box, tmp_path / "nodes", pg_url, redis_server.url, extra=extra)

        def kill_then_rescue(process) -> None:
            victim = nodes.start("node-a", env={"BEIAN_TEST_KILL_NODE": "node-a:leased:1"})
            _wait_for(lambda: victim.poll() is not None or process.poll() is not None, "node-a to die")
            assert victim.returncode == -signal.SIGKILL, "node-a killed right after its first lease"
            nodes.start("node-b")

        try:
            process, stdout, stderr, _ = distributed_scan(config, wait=kill_then_rescue)
        finally:
            nodes.stop()
        assert process.returncode == 0, stderr[-3000:] + nodes.logs()
        stats = json.loads(pg_rows(pg_url, "select stats::text from scans where id = 1")[0][0])
        given_up = {item["website_id"] for item in stats["given_up"]}
        assert len(given_up) == 4, "node-a's first batch (fetch.concurrency // 4 websites)"
        assert all("given up after 1 leases" in item["reason"] and item["website_number"] for item in stats["given_up"])
        assert "4 websites were given up" in stderr
        seen = per_website(pg_url, 1)
        assert sorted(seen) == sorted(set(ids) - given_up) and set(seen.values()) == {1}
