"""The MIIT cross-check (seeds 003/004) end to end: the real CLI against the sandbox's filing query service.

A matching record passes; a differing one is filing.registry_stale; an explicit "no record" becomes
filing.unknown_at_miit only on a second day; empty, rate-limited, captcha and error answers are could not check
and never a finding; a record found again closes the finding. Off unless lookup.url is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import Case, FilingLookupAnswer, Finding
from tests.sandbox_helpers import write_config

ROOT = Path(__file__).resolve().parents[2]
NAMES = {1: "北京甲信息技术有限公司", 2: "北京乙网络科技有限公司", 3: "北京丙数据服务有限公司", 4: "北京丁科技有限公司",
         5: "北京戊科技有限公司", 6: "北京己科技有限公司", 7: "北京庚科技有限公司"}


def number(n: int) -> str:
    return f"京ICP备3000000{n}号-1"


REGISTRY = {"subjects": [
    {"subject_number": f"京ICP备3000000{n}号", "name": name, "nature": "企业", "province": "北京市",
     "principal": {"name": "张伟", "mobile": f"1380013800{n}", "email": f"p{n}@example.cn"},
     "websites": [{"website_number": number(n), "name": f"站点{n}", "domains": [f"site{n}.cn"]}]}
    for n, name in NAMES.items()]}


class Operator:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.config, self.tmp_path, self.now = config, tmp_path, "2027-03-01T10:00:00+08:00"

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, timeout=300, cwd=self.tmp_path,
                                env={**os.environ, "BEIAN_NOW": self.now, "PYTHONPATH": str(ROOT)})
        if ok:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result


@pytest.fixture
def world(tmp_path):
    with Sandbox(parse_world({"name": "miit", "hosts": {}, "registry": {"subjects": []}}), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {
            "notices": {"outbox_dir": str(tmp_path / "outbox")}, "deadlines": {"holidays": ["2027-05-03"]},
            "lookup": {"url": box.lookup_url, "token": box.lookup.token, "rate_per_s": 1000}})
        run = Operator(config, tmp_path)
        registry = tmp_path / "registry.json"
        registry.write_text(json.dumps(REGISTRY, ensure_ascii=False), encoding="utf-8")
        run("registry", "import", str(registry))
        yield box, run, Store(f"sqlite:///{tmp_path / 'beian.db'}")


def record(n: int, **changes) -> dict:
    return {"website_number": number(n), "subject_number": f"京ICP备3000000{n}号", "subject_name": NAMES[n],
            "domains": [f"site{n}.cn"], "status": "已备案", **changes}


def open_findings(store: Store) -> set[tuple[str, str]]:
    with store.session() as session:
        return {(f.check, f.website_number) for f in session.scalars(select(Finding).where(
            Finding.check.in_(("filing.unknown_at_miit", "filing.registry_stale")), Finding.closed_at.is_(None)))}


def test_the_cross_check_needs_two_days_for_no_record_and_never_reads_a_failure_as_one(world):
    box, run, store = world
    box.lookup.records[number(1)] = record(1)
    box.lookup.records[number(2)] = record(2, subject_name="北京乙网络技术有限公司", domains=["site2.cn", "other2.cn"])
    box.lookup.behaviour.update({number(3): "not_found", number(4): "empty", number(5): "rate_limited",
                                 number(6): "captcha", number(7): "error"})
    first = run("miit", "check")
    assert "1 not_found" in first.stdout and "4 unknown" in first.stdout and "2 found" in first.stdout
    assert open_findings(store) == {("filing.registry_stale", number(2))}
    run("miit", "check")  # the same day again: still one day of "no record"
    assert ("filing.unknown_at_miit", number(3)) not in open_findings(store)

    run.now = "2027-03-02T10:00:00+08:00"
    run("miit", "check")
    assert open_findings(store) == {("filing.registry_stale", number(2)), ("filing.unknown_at_miit", number(3))}
    with store.session() as session:
        stale = session.scalar(select(Finding).where(Finding.check == "filing.registry_stale"))
        cases = {(c.check, c.website_number) for c in session.scalars(select(Case))}
        answers = {a.answer for a in session.scalars(select(FilingLookupAnswer).where(
            FilingLookupAnswer.website_number.in_([number(n) for n in (4, 5, 6, 7)])))}
    assert {d["field"] for d in stale.evidence["differences"]} == {"主办单位名称", "网站域名"}
    assert ("filing.unknown_at_miit", number(3)) in cases and ("filing.registry_stale", number(2)) in cases
    assert answers == {"unknown"}  # empty, 429, captcha and 500 are never "no record"

    # MIIT has the record again: the finding closes; an unknown answer in between changes nothing
    box.lookup.behaviour[number(3)] = "empty"
    run.now = "2027-03-03T10:00:00+08:00"
    run("miit", "check", "--website", number(3))
    assert ("filing.unknown_at_miit", number(3)) in open_findings(store)
    del box.lookup.behaviour[number(3)]
    box.lookup.records[number(3)] = record(3)
    run("miit", "check", "--website", number(3))
    assert ("filing.unknown_at_miit", number(3)) not in open_findings(store)
    assert all(kind == "website" for kind, _value in box.lookup.queries)


def test_the_cross_check_is_off_unless_configured(world):
    box, run, _store = world
    run.config.write_text(run.config.read_text(encoding="utf-8").replace(f'url = "{box.lookup_url}"', 'url = ""'),
                          encoding="utf-8")
    result = run("miit", "check", ok=False)
    assert result.returncode == 2 and "lookup.url is not set" in result.stderr and box.lookup.queries == []


def test_the_api_and_console_ask_the_service(world, monkeypatch):
    import re

    from fastapi.testclient import TestClient

    from core.config import load_config
    from scanner.serve.api import create_app

    box, run, store = world
    box.lookup.records[number(1)] = record(1)
    box.lookup.behaviour[number(2)] = "captcha"
    monkeypatch.setenv("BEIAN_NOW", run.now)
    client = TestClient(create_app(load_config(run.config), store))
    asked = client.post("/miit/checks", json={"websites": [number(1), number(2)]})
    assert asked.status_code == 200 and asked.json()["answers"] == {"found": 1, "unknown": 1}
    answers = client.get("/miit/answers", params={"website": number(2)}).json()
    assert [(a["answer"], a["reason"]) for a in answers] == [("unknown", "captcha")]
    page = client.get("/console/miit")
    assert page.status_code == 200 and "无法检查" in page.text and "有记录" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post("/console/miit/check", data={"website": number(1), "csrf": csrf},
                       headers={"Origin": "http://testserver"})
    assert done.status_code == 200 and "已查询" in done.text
    assert len(box.lookup.queries) == 3
