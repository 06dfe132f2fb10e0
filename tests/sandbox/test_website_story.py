"""`beian website show|search` and the grace after a registry change, end to end: the real CLI on the sandbox.

A record of 京ICP备30000001号-2 (its homepage shows the number without a link) changes between the first import
and the first scan, so its finding waits (pending, no case) while the other websites' cases open; a sweep after
the grace (the clock pinned five days on) opens it. Then the website's story shows all of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from tests.sandbox.test_cases_notices import WORLD
from tests.sandbox_helpers import import_world_registry, write_config

NOLINK = "京ICP备30000001号-2"
LATER = (datetime.now(UTC) + timedelta(days=5)).isoformat()  # 5 calendar days hold at least 2 working days


def run(config: Path, *args: str, now: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("BEIAN_NOW", None)
    if now:
        env["BEIAN_NOW"] = now
    result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=300, env=env, cwd=config.parent)
    if ok:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("story")
    with Sandbox(parse_world(json.loads(json.dumps(WORLD))), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {"notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000,
                                                          "outbox_dir": str(tmp_path / "outbox")}})
        import_world_registry(box, config, tmp_path)
        changed = json.loads(json.dumps(WORLD["registry"]))
        changed["subjects"][0]["websites"][1]["name"] = "甲公司产品中心"  # approved by the bureau, synced to us now
        path = tmp_path / "registry-changed.json"
        path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
        run(config, "registry", "import", str(path))
        scan = run(config, "scan")
        yield box, config, scan


def test_a_finding_on_a_just_changed_record_is_pending_then_opens_after_the_grace(scanned):
    _box, config, scan = scanned
    assert "pending (registry changed recently" in scan.stdout, scan.stdout[-2000:]
    listed = run(config, "cases", "--format", "jsonl").stdout
    sites = {json.loads(line)["website_number"] for line in listed.splitlines()}
    assert NOLINK not in sites and "京ICP备30000003号-1" in sites, "the others open at once; the changed one waits"
    pending = run(config, "cases", "--pending", "--format", "jsonl").stdout.splitlines()
    assert [(json.loads(p)["website_number"], json.loads(p)["check"]) for p in pending] == [(NOLINK, "filing.link_missing")]
    assert "1 pending after a registry change" in run(config, "cases").stdout

    later = LATER
    run(config, "cases", "sweep", now=later)
    assert run(config, "cases", "--pending", now=later).stdout.startswith("check")
    listed = run(config, "cases", "--format", "jsonl", now=later).stdout
    assert NOLINK in {json.loads(line)["website_number"] for line in listed.splitlines()}


def test_website_show_tells_the_whole_story(scanned):
    _box, config, _scan = scanned
    run(config, "notices", "send", now=LATER)  # its sweep opens the pending case (if the test above did not)
    out = run(config, "website", "show", NOLINK).stdout
    assert out.startswith(f"website {NOLINK}  甲公司产品中心")
    assert "nolink-a.cn" in out and "北京甲信息技术有限公司" in out and "ops@jia.example.cn" in out
    assert "website changed: name" in out, "the change history names the changed field"
    assert "fetch page 200" in out and "attempts 1" in out
    assert "dns nolink-a.cn: ok  127.40.0.1 provider" in out, out
    assert "filing.link_missing" in out and "open" in out
    assert "case " in out and "finding confirmed" in out
    assert " notice " in out and " sent " in out, "the notice and its delivery state"

    data = json.loads(run(config, "website", "show", NOLINK, "--json").stdout)
    assert data["record"]["domains"] == ["nolink-a.cn"]
    assert [c["change"] for c in data["changes"] if c["kind"] == "website"] == ["changed", "added"]
    (seen,) = data["scans"]
    assert seen["status"] == 200 and seen["dns"][0]["owners"][0]["kind"].startswith("provider")
    assert {f["check"] for f in data["findings"]} >= {"filing.link_missing"}
    (case,) = [c for c in data["cases"] if c["check"] == "filing.link_missing"]
    assert [m["kind"] for m in data["messages"]] == ["notice"] and data["messages"][0]["cases"] == [case["id"]]

    missing = run(config, "website", "show", "京ICP备99999999号-1", ok=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "beian website search" in missing.stderr


@pytest.mark.parametrize("text, expected", [
    ("nolink-a", {NOLINK}),  # a domain
    ("30000001号-1", {"京ICP备30000001号-1"}),  # a website number
    ("乙网络", {"京ICP备30000002号-1"}),  # the subject's name
    ("OPS@JIA.example.cn", {"京ICP备30000001号-1", NOLINK}),  # the customer email, any case
    ("%", set()),  # LIKE wildcards are literal
])
def test_website_search(scanned, text, expected):
    _box, config, _scan = scanned
    lines = run(config, "website", "search", text, "--json").stdout.splitlines()
    assert {json.loads(line)["website_number"] for line in lines} == expected
