"""The annual review (湖北年审, seed 000) end to end: the real CLI, the sandbox's SMTP server, a pinned clock.

One round: one SMS per website with the status from the registry history, one mail per customer with the phone
and platform numbers, a kill between two customers' mails that the next run resumes without a duplicate, a
registry change during the round (a new SMS), the bureau's completion list, a reminder, the round's end with
review.not_done cases, a late completion that resolves its case, and next year's round reading only the changes
since this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import Case, Finding, OutboxMessage, ReviewItem
from tests.sandbox_helpers import write_config

JIA, YI = "鄂ICP备20001001号", "鄂ICP备20001002号"
ROOT = Path(__file__).resolve().parents[2]  # this checkout's code, whatever the subprocess's folder


def registry(*, changed: bool = False) -> dict:
    jia_sites = [
        {"website_number": f"{JIA}-1", "name": "甲公司官网", "domains": ["jia-hb.cn"], "status": "已备案",
         "leader": {"name": "李娜", "mobile": "18612345678"}},
        {"website_number": f"{JIA}-2", "name": "甲优选商城" if changed else "甲公司商城", "domains": ["shop.jia-hb.cn"],
         "status": "已备案", "leader": {"name": "赵敏", "mobile": "18912345678"}},
        {"website_number": f"{JIA}-3", "name": "甲公司博客", "domains": ["blog.jia-hb.cn"],
         "status": "已备案" if changed else "备案中"},
    ]
    yi_sites = [{"website_number": f"{YI}-1", "name": "乙公司官网", "domains": ["yi-hb.cn"],
                 "status": "已注销" if changed else "已备案"}]
    return {"subjects": [
        {"subject_number": JIA, "name": "武汉甲信息技术有限公司", "nature": "企业", "province": "湖北省",
         "principal": {"name": "王强", "mobile": "13912345678", "email": "wang@jia.example.cn"},
         "customer_email": "ops@jia.example.cn", "websites": jia_sites},
        {"subject_number": YI, "name": "襄阳乙网络科技有限公司", "nature": "企业", "province": "湖北省",
         "principal": {"name": "陈静", "mobile": "19912345678", "email": "chen@yi.example.cn"}, "websites": yi_sites},
        {"subject_number": "京ICP备30000009号", "name": "北京丁科技有限公司", "nature": "企业", "province": "北京市",
         "principal": {"name": "周杰", "mobile": "13800138009", "email": "zhou@ding.example.cn"},
         "websites": [{"website_number": "京ICP备30000009号-1", "name": "丁公司官网", "domains": ["ding.cn"]}]},
    ]}


class Operator:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.config, self.tmp_path, self.now = config, tmp_path, "2027-01-15T09:00:00+08:00"

    def __call__(self, *args: str, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, timeout=300, cwd=self.tmp_path,
                                env={**os.environ, "BEIAN_NOW": self.now, "PYTHONPATH": str(ROOT), **(env or {})})
        if ok:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result

    def import_registry(self, data: dict, name: str) -> None:
        path = self.tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        self("registry", "import", str(path))


@pytest.fixture
def world(tmp_path):
    with Sandbox(parse_world({"name": "review", "hosts": {}, "registry": {"subjects": []}}), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {
            "provider": {"code": "002", "name": "示例云"},
            "notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000, "outbox_dir": str(tmp_path / "outbox")},
            "deadlines": {"holidays": ["2027-05-03"]},  # a table for 2027, so the calendar warning stays quiet
        })
        yield box, Operator(config, tmp_path), Store(f"sqlite:///{tmp_path / 'beian.db'}")


def review_mails(box: Sandbox, kind: str = "review") -> list:
    out = []
    for captured in box.smtp.messages:
        message = captured.message()
        if message["X-Beian-Kind"] == kind:
            out.append(message)
    return out


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def items(store: Store) -> dict[str, ReviewItem]:
    with store.session() as session:
        return {i.website_number: i for i in session.scalars(select(ReviewItem))}


def test_a_round_from_its_mails_to_its_cases(world, tmp_path):
    box, run, store = world
    run.import_registry(registry(), "registry-1.json")

    # the round opens; the run is killed right after the first customer's mail was queued
    killed = run("annual-review", "start", "--province", "鄂", "--from", "2027-01-15", "--to", "2027-04-15",
                 ok=False, env={"BEIAN_TEST_KILL_AT": "review_customer_queued:1"})
    assert killed.returncode == -9
    assert run("annual-review", "sweep").stdout.count("1 notified") == 1  # the other customer, once
    assert "0 messages queued" in run("annual-review", "sweep").stdout  # and nothing again
    run("notices", "send")
    mails = {m["To"]: m for m in review_mails(box)}
    assert sorted(mails) == ["chen@yi.example.cn", "ops@jia.example.cn"]

    jia = text_of(mails["ops@jia.example.cn"])
    assert "2 个网站" in mails["ops@jia.example.cn"]["Subject"] and "不能延期" in mails["ops@jia.example.cn"]["Subject"]
    assert f"#002#{JIA}-1#无变化#" in jia and f"#002#{JIA}-2#无变化#" in jia
    assert f"#002#{JIA}-3#" not in jia  # 备案中 waits ...
    assert f"甲公司博客（{JIA}-3）" in jia.split("正在备案中")[1]  # ... and is named as waiting
    assert "网站负责人 李娜 的手机 18612345678（中国联通）发送至 10690661740694920" in jia
    assert "网站负责人 赵敏 的手机 18912345678（中国电信）发送至 10690738140694920" in jia
    assert "主体负责人 王强 的手机 13912345678（中国移动）发送至 106509719767" in jia
    assert "2027-04-15 24:00" in jia and "不能申请延期" in jia
    assert "责令限期改正" in jia and "关闭网站并注销备案" in jia and "我司接入商编号为 002" in jia
    yi = text_of(mails["chen@yi.example.cn"])
    assert f"#002#{YI}-1#无变化#" in yi and "19912345678（中国电信）发送至 10690738140694920" in yi
    assert "京ICP备" not in jia + yi

    # during the round: -2 changes (已更新), -3 is approved, 乙 cancels its website (已注销)
    run.now = "2027-02-01T09:00:00+08:00"
    run.import_registry(registry(changed=True), "registry-2.json")
    run("annual-review", "sweep")
    run("notices", "send")
    second = {m["To"]: text_of(m) for m in review_mails(box)[2:]}
    assert sorted(second) == ["chen@yi.example.cn", "ops@jia.example.cn"]
    assert f"#002#{JIA}-2#已更新#" in second["ops@jia.example.cn"] and "【内容已更新】" in second["ops@jia.example.cn"]
    assert f"#002#{JIA}-3#无变化#" in second["ops@jia.example.cn"]  # a new filing, approved: nothing changed since
    assert f"#002#{JIA}-1#" not in second["ops@jia.example.cn"]
    assert f"#002#{YI}-1#已注销#" in second["chen@yi.example.cn"]

    # the bureau's list (XLSX) has -1 and 乙's website; an operator marks nothing else
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "网站备案号", "年审结果"])
    sheet.append([1, f"{JIA}-1", "已年审"])
    sheet.append([2, f"{YI}-1", "已年审"])
    sheet.append([3, "鄂ICP备29999999号-1", "已年审"])
    book.save(tmp_path / "done.xlsx")
    run.now = "2027-03-01T09:00:00+08:00"
    result = run("annual-review", "import", "1", str(tmp_path / "done.xlsx"))
    assert "2 done" in result.stdout and "1 numbers not in this round" in result.stdout

    # the first default reminder (30 days before the end) goes to 甲 only, for -2 and -3, once
    run.now = "2027-03-16T09:00:00+08:00"
    run("annual-review", "sweep")
    run("annual-review", "sweep")
    run("notices", "send")
    reminders = review_mails(box, "review_reminder")
    assert [m["To"] for m in reminders] == ["ops@jia.example.cn"]
    assert f"{JIA}-2#已更新#" in text_of(reminders[0]) and f"{JIA}-1#" not in text_of(reminders[0])

    # the round ends: -2 and -3 are review.not_done findings, then cases with a notice
    run.now = "2027-04-16T09:00:00+08:00"
    assert "round closed" in run("annual-review", "sweep").stdout
    run("notices", "send")
    with store.session() as session:
        open_cases = {c.website_number: c for c in session.scalars(select(Case).where(Case.check == "review.not_done"))}
    assert sorted(open_cases) == [f"{JIA}-2", f"{JIA}-3"]
    notice = [m for m in box.smtp.messages if m.message()["X-Beian-Kind"] == "notice"]
    assert any("未完成备案年度审核" in text_of(m.message()) for m in notice)

    # a later completion still counts (seed Q14): the finding closes and the next sweep resolves the case
    run.now = "2027-04-20T09:00:00+08:00"
    run("annual-review", "done", "1", f"{JIA}-2")
    run("cases", "sweep")
    with store.session() as session:
        state = {c.website_number: c.state for c in session.scalars(select(Case).where(Case.check == "review.not_done"))}
        still_open = session.scalars(select(Finding.website_number).where(
            Finding.check == "review.not_done", Finding.closed_at.is_(None))).all()
    assert state == {f"{JIA}-2": "resolved", f"{JIA}-3": "notified"} and still_open == [f"{JIA}-3"]

    # next year's round reads only the changes since this one ended: -2 is 无变化 again
    run.now = "2028-01-15T09:00:00+08:00"
    run("annual-review", "start", "--province", "鄂", "--from", "2028-01-15", "--to", "2028-04-15",
        env={"BEIAN_TEST_KILL_AT": ""})
    with store.session() as session:
        round2 = {i.website_number: i.status for i in session.scalars(select(ReviewItem).where(ReviewItem.round_id == 2))}
    assert round2 == {f"{JIA}-1": "无变化", f"{JIA}-2": "无变化", f"{JIA}-3": "无变化"}  # 乙's was cancelled last round
    with store.session() as session:
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.state == "failed")) is None


def test_a_round_needs_the_provider_code_and_a_future_end(world, tmp_path):
    box, run, _store = world
    run.config.write_text(run.config.read_text(encoding="utf-8").replace('code = "002"', 'code = ""'), encoding="utf-8")
    result = run("annual-review", "start", "--province", "鄂", "--from", "2027-01-15", "--to", "2027-04-15", ok=False)
    assert result.returncode == 2 and "provider.code" in result.stderr
    run.config.write_text(run.config.read_text(encoding="utf-8").replace('code = ""', 'code = "002"'), encoding="utf-8")
    result = run("annual-review", "start", "--province", "鄂", "--from", "2026-01-15", "--to", "2026-04-15", ok=False)
    assert result.returncode == 2 and "already be over" in result.stderr
    result = run("annual-review", "close", "1", ok=False)
    assert result.returncode == 2 and "no annual review round 1" in result.stderr
