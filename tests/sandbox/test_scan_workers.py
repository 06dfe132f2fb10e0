"""`beian scan --workers N`: N crawl processes over disjoint shards, one scan. The sample world scanned by two
workers finds exactly what one process finds; a worker SIGKILLed at a named point (right after it stored its
k-th observation) leaves an interrupted scan that the same command resumes, with every website observed
exactly once and the same findings as a clean scan."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.sandbox import Sandbox, load_world
from scanner.sandbox.world import parse_world
from tests.sandbox.test_findings_store import resume_world
from tests.sandbox_helpers import import_world_registry, triples, write_config

SAMPLE = Path(__file__).resolve().parents[2] / "scanner" / "sandbox" / "worlds" / "sample.yaml"
KILL_AFTER = 3  # observations the killed worker stores before it dies


def beian(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def scan(config: Path, workers: int, env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[dict]]:
    output = config.parent / "findings.jsonl"
    output.unlink(missing_ok=True)
    result = beian(config, "scan", "--workers", str(workers), "--output", str(output), env=env)
    findings = []
    if output.exists():
        findings = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    return result, findings


# Evidence that differs between any two runs: timings, and what follows the sandbox's RDAP dates, which are
# relative to the moment it answered (days_left of an answer a resumed scan reads back from the cache).
VOLATILE = ("elapsed_ms", "observed_at", "days_left")
MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")  # the sandbox's RDAP dates follow the clock


def steady(value):
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [steady(v) for v in value]
    return MOMENT.sub("<moment>", value) if isinstance(value, str) else value


def detailed(findings: list[dict]) -> set[tuple]:
    """Everything a finding says but its dates and timings: the evidence too (also whether an RDAP answer came
    from the store's cache: an answer another worker of the same scan stored is not "cached")."""
    return {(f["check"], f["subject_number"], f["website_number"], f["domain"], f["severity"], f["summary"],
             json.dumps(steady(f["evidence"]), ensure_ascii=False, sort_keys=True)) for f in findings}


def summary(stdout: str) -> list[str]:
    """The summary's lines without the figures that vary from run to run (time, rate, browser CPU)."""
    return [re.sub(r" \(browser CPU.*", "", line) for line in stdout.splitlines()
            if not line.startswith(("scan ", "wrote "))]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with Sandbox(load_world(SAMPLE), lifetime_s=900) as box:
        def fresh(name: str) -> Path:
            folder = tmp_path_factory.mktemp(name)
            # A generous DNS timeout: on a machine busy with other work a late answer would make a website
            # "could not check" in one run and not the other, and the comparison would say nothing.
            config = write_config(box, folder, {"dns": {"timeout_s": 10}})
            import_world_registry(box, config, folder)
            return config

        yield fresh


@pytest.fixture(scope="module")
def one_process(world):
    config = world("one")
    result, findings = scan(config, 1)
    assert result.returncode == 0, result.stderr[-3000:]
    _all_checked(config)
    return config, result, findings


def _all_checked(config: Path) -> None:
    """A comparison of findings needs every website checked: a DNS answer later than dns.timeout_s (a machine
    far too busy for the sandbox) makes a website "could not check" and its findings go missing."""
    with sqlite3.connect(config.parent / "beian.db") as db:
        failed = db.execute("select count(*) from observations where outcome != 'checked'").fetchone()[0]
    assert failed == 0, f"{failed} websites could not be checked (the sandbox's DNS too slow?)"


def observations(config: Path) -> list[tuple[int, int, int]]:
    """(scan id, website id, count) per observed website."""
    with sqlite3.connect(config.parent / "beian.db") as db:
        return db.execute("select scan_id, website_id, count(*) from observations group by scan_id, website_id").fetchall()


def live_website_ids(config: Path) -> list[int]:
    with sqlite3.connect(config.parent / "beian.db") as db:
        return [row[0] for row in db.execute(
            "select id from websites where removed_at is null and status != '已注销' order by id")]


def test_two_workers_find_what_one_process_finds(world, one_process):
    _config, single, want = one_process
    config = world("two")
    result, got = scan(config, 2)
    assert result.returncode == 0, result.stderr[-3000:]
    _all_checked(config)
    assert "2 workers" in result.stdout and "2 workers" not in single.stdout
    assert want, "the sample world has findings"
    assert triples(got) == triples(want)
    assert detailed(got) == detailed(want)
    assert summary(result.stdout) == summary(single.stdout), "the same summary"
    seen = observations(config)
    assert sorted(w for _s, w, _n in seen) == live_website_ids(config)
    assert {s for s, _w, _n in seen} == {1} and all(n == 1 for *_k, n in seen)
    with sqlite3.connect(config.parent / "beian.db") as db:
        stats = json.loads(db.execute("select stats from scans where id = 1").fetchone()[0])
    assert stats["workers"] == 2 and len(stats["processes"]["workers"]) == 2
    assert sum(w["observed"] for w in stats["processes"]["workers"]) == len(seen)
    assert all(w["observed"] > 0 for w in stats["processes"]["workers"]), "both shards crawled"


def test_a_killed_worker_loses_nothing_and_the_rerun_resumes(world, one_process):
    _config, _single, want = one_process
    config = world("killed")
    ids = live_website_ids(config)
    shard_1 = [i for i in ids if i % 2 == 1]
    assert len(shard_1) > KILL_AFTER + 1, "the killed worker's shard outlasts the kill point"
    result, _ = scan(config, 2, env={"BEIAN_TEST_KILL_WORKER": f"1:{KILL_AFTER}"})
    assert result.returncode == 3, result.stderr[-3000:]
    assert "worker 2 of 2 ended by SIGKILL" in result.stderr
    assert "run the same command to resume" in result.stderr
    seen = observations(config)
    # The other worker finished its shard; the killed one stored exactly KILL_AFTER websites of its own.
    observed = sorted(w for _s, w, _n in seen)
    assert [i for i in observed if i % 2 == 0] == [i for i in ids if i % 2 == 0]
    assert len([i for i in observed if i % 2 == 1]) == KILL_AFTER
    with sqlite3.connect(config.parent / "beian.db") as db:
        assert db.execute("select state from scans where id = 1").fetchone()[0] == "interrupted"

    result, got = scan(config, 2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed" in result.stdout
    seen = observations(config)
    assert sorted(w for _s, w, _n in seen) == ids, "every website observed"
    assert all(n == 1 for *_k, n in seen), "none observed twice"
    assert {s for s, _w, _n in seen} == {1}, "one scan"
    assert triples(got) == triples(want)
    assert detailed(got) == detailed(want)
    with sqlite3.connect(config.parent / "beian.db") as db:
        assert db.execute("select state from scans where id = 1").fetchone()[0] == "finished"
        assert db.execute("select count(*) from scans").fetchone()[0] == 1


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_die_with_their_parent(tmp_path):
    # A quarter of the sites hang for the whole fetch timeout (60 s), so the scan is still crawling when its
    # parent is killed, however slow the machine; the rerun uses a short timeout.
    world = resume_world()
    world["scanner"]["fetch"]["timeout_s"] = 60
    with Sandbox(parse_world(world), lifetime_s=600) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "scan",
                                    "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and process.poll() is None:
            workers = [pid for pid in _children(process.pid) if _running(pid)]
            stored = 0
            try:
                with sqlite3.connect(tmp_path / "beian.db") as db:
                    stored = db.execute("select count(*) from observations").fetchone()[0]
            except sqlite3.OperationalError:
                pass
            if len(workers) == 2 and stored >= 5:
                break
            time.sleep(0.2)
        assert process.poll() is None and len(workers) == 2, "two workers crawling"
        process.kill()
        process.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_running(pid) for pid in workers):
            time.sleep(0.2)
        assert not any(_running(pid) for pid in workers), "the workers died with their parent"
        short = write_config(box, tmp_path, {"fetch": {"timeout_s": 4}})
        result = beian(short, "scan", "--workers", "2")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "resumed" in result.stdout
        seen = observations(short)
        assert sorted(w for _s, w, _n in seen) == live_website_ids(short)
        assert all(n == 1 for *_k, n in seen) and {s for s, _w, _n in seen} == {1}
