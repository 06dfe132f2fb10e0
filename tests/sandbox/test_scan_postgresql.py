"""The scan on PostgreSQL (own schema): the sample world gives the same findings as on SQLite."""

from __future__ import annotations

from pathlib import Path

from scanner.sandbox import Sandbox, load_world
from tests.sandbox_helpers import import_world_registry, scan, triples, write_config

SAMPLE = Path(__file__).resolve().parents[2] / "scanner" / "sandbox" / "worlds" / "sample.yaml"


def test_sample_world_scan_on_postgresql(pg_url, tmp_path):
    from checks import codes as implemented

    world = load_world(SAMPLE)
    with Sandbox(world, lifetime_s=300) as box:
        config = write_config(box, tmp_path, {"database": pg_url})
        import_world_registry(box, config, tmp_path)
        _result, findings = scan(config, tmp_path)
    codes = set(implemented())
    want = {(e["check"], e.get("website_number") or e["subject_number"], e.get("domain"))
            for e in world.expected if e["check"] in codes}
    assert triples(findings) == want
