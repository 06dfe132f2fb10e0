"""`beian scan --distributed` with `beian worker` nodes on a real Redis (its own redis-server) and PostgreSQL
(a schema of the test's own): three workers scan the sample world and find exactly what a local scan finds."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from scanner.sandbox import Sandbox, load_world
from tests.cluster_helpers import Nodes, cluster_config, distributed_scan, redis_server  # noqa: F401 - fixture
from tests.sandbox.test_scan_workers import detailed, scan
from tests.sandbox_helpers import import_world_registry, triples, write_config

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
