"""Cases and notices end to end: real scans on the sandbox, real SMTP, a pinned clock (BEIAN_NOW)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import Case, CaseEvent, OutboxMessage
from tests.sandbox_helpers import import_world_registry, write_config

CORP = ("<p>我们是一家专注于企业信息化建设的技术公司，主要提供软件开发、系统集成、数据分析与运维服务，"
        "为制造、零售、物流等行业的客户提供稳定可靠的解决方案。</p><h2>产品与服务</h2><ul><li>企业管理软件定制开发</li>"
        "<li>数据中台建设与咨询</li></ul>")
GAMBLING = ("<h2>真人娱乐</h2><p>百家乐、龙虎斗，真人荷官在线发牌，首存送100%彩金。</p>"
            "<h2>体育投注</h2><p>足球、篮球滚球投注，赔率全网最高，24小时在线客服。</p>")


def page(title: str, body: str, footer: str) -> str:
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<main><h1>{title}</h1>{body}</main><footer>{footer}<p>京公网安备 11010802030000号</p></footer></body></html>")


def linked(number: str, owner: str) -> str:
    return f"<p>© 2024 {owner} <a href='https://beian.miit.gov.cn/'>{number}</a></p>"


def subject(n: int, name: str, websites: list[dict], email_field: dict) -> dict:
    stem = f"9111010{n}MA01ABC{n}D"
    return {"subject_number": f"京ICP备3000000{n}号", "name": name, "nature": "企业",
            "certificate_type": "统一社会信用代码", "certificate_number": stem + uscc.calc_check_digit(stem),
            "province": "北京市", "address": "北京市海淀区中关村大街1号",
            "principal": {"name": "张伟", "mobile": f"1380013800{n}", "email": email_field.get("principal", "")},
            **({"customer_email": email_field["customer"]} if "customer" in email_field else {}),
            "websites": websites}


OWNER1, OWNER2, OWNER3 = "北京甲信息技术有限公司", "北京乙网络科技有限公司", "北京丙数据服务有限公司"
WORLD = {
    "name": "cases",
    "scanner": {"provider": {"ip_ranges": ["127.40.0.0/16"]},
                "fetch": {"allow_ranges": ["127.40.0.0/16"], "timeout_s": 2, "retries": 0}},
    "hosts": {
        "good-a.cn": {"a": ["127.40.0.1"], "https": {"page": page("甲公司官网", CORP, linked("京ICP备30000001号-1", OWNER1))}},
        "nolink-a.cn": {"a": ["127.40.0.1"], "https": {"page": page("甲公司产品站", CORP, f"<p>© {OWNER1} 京ICP备30000001号-2</p>")}},
        "down-b.cn": {"a": ["127.40.0.9"]},
        "fun-c.cn": {"a": ["127.40.0.1"], "https": {"page": page("丙娱乐城", GAMBLING, linked("京ICP备30000003号-1", OWNER3))}},
    },
    "registry": {"subjects": [
        subject(1, OWNER1, [{"website_number": "京ICP备30000001号-1", "name": "甲公司官网", "domains": ["good-a.cn"]},
                            {"website_number": "京ICP备30000001号-2", "name": "甲公司产品站", "domains": ["nolink-a.cn"]}],
                {"customer": "ops@jia.example.cn", "principal": "boss@jia.example.cn"}),
        subject(2, OWNER2, [{"website_number": "京ICP备30000002号-1", "name": "乙公司官网", "domains": ["down-b.cn"]}],
                {"principal": "zhang@yi.example.cn"}),
        subject(3, OWNER3, [{"website_number": "京ICP备30000003号-1", "name": "丙公司官网", "domains": ["fun-c.cn"]}],
                {"customer": "it@bing.example.cn"}),
    ]},
}


class Operator:
    """Runs `beian` as a real process with the clock pinned."""

    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.config = config
        self.tmp_path = tmp_path
        self.now = "2026-11-02T09:00:00+08:00"

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "BEIAN_NOW": self.now}
        result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, timeout=300, env=env, cwd=self.tmp_path)
        if ok:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result


def mails(box: Sandbox) -> list[email.message.EmailMessage]:
    return [m.message() for m in box.smtp.messages]


def body_text(message) -> str:
    return message.get_body(("plain",)).get_content()


def cases(config: Path) -> list[Case]:
    store = Store(_db(config))
    with store.session() as session:
        rows = list(session.scalars(select(Case).order_by(Case.id)))
    store.dispose()
    return rows


def _db(config: Path) -> str:
    return f"sqlite:///{config.parent / 'beian.db'}"


@pytest.fixture
def world(tmp_path):
    with Sandbox(parse_world(json.loads(json.dumps(WORLD))), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {"notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000,
                                                          "retry_base_s": 60, "outbox_dir": str(tmp_path / "outbox")}})
        import_world_registry(box, config, tmp_path)
        yield box, Operator(config, tmp_path), config


def by_site(rows: list[Case]) -> dict[tuple[str, str], Case]:
    return {(c.website_number or c.subject_number, c.check): c for c in rows}


def test_notice_reminder_fix_and_confirmation(world):
    box, beian, config = world
    result = beian("scan")
    assert "cases:" in result.stdout
    opened = by_site(cases(config))
    # one scan confirms link_missing and the critical finding, not an unreachable site (needs two scans)
    assert opened[("京ICP备30000001号-2", "filing.link_missing")].state == "notified"
    assert opened[("京ICP备30000003号-1", "content.prohibited")].state == "escalated"
    assert ("京ICP备30000002号-1", "site.unreachable") not in opened
    beian("notices", "send", "--no-sweep")
    got = {m["To"]: m for m in mails(box)}
    assert set(got) == {"ops@jia.example.cn", "it@bing.example.cn"}
    notice = got["ops@jia.example.cn"]
    text = body_text(notice)
    # 2026-11-02 (Mon) + 10 working days = 2026-11-16 (Mon), at 18:00 Shanghai
    assert "请您务必于 2026-11-16 18:00" in text and "2026-11-16 18:00" in str(notice["Subject"])
    assert "京ICP备30000001号-2" in text and "备案号未链接至工信部备案管理系统" in text and "取消接入" in text
    assert "https://beian.miit.gov.cn" in text
    assert notice.get_body(("html",)).get_content().count("<td") >= 5  # the 备案信息 | 相关字段 | … table
    assert notice.get_content_type() == "multipart/alternative" and notice["Message-ID"]
    raw = box.smtp.messages[0].data
    assert b"charset=\"utf-8\"" in raw and b"=?utf-8?" in raw  # encoded Chinese subject header
    assert "立即" in body_text(got["it@bing.example.cn"])

    beian.now = "2026-11-03T02:00:00+08:00"  # second scan: the unreachable site is confirmed, notice to the principal
    beian("scan")
    beian("notices", "send")
    assert [m["To"] for m in mails(box)][2:] == ["zhang@yi.example.cn"]

    beian.now = "2026-11-11T09:00:00+08:00"  # 3 working days before 11-16: the reminder, once
    beian("notices", "send")
    beian("notices", "send")
    reminders = [m for m in mails(box) if m["X-Beian-Kind"] == "reminder"]
    assert [m["To"] for m in reminders] == ["ops@jia.example.cn"]
    assert "2026-11-16 18:00" in body_text(reminders[0])

    box.set_page("nolink-a.cn", "https", page("甲公司产品站", CORP, linked("京ICP备30000001号-2", OWNER1)))
    beian.now = "2026-11-12T02:00:00+08:00"
    beian("scan")
    beian("notices", "send")
    fixed = by_site(cases(config))[("京ICP备30000001号-2", "filing.link_missing")]
    assert fixed.state == "resolved"
    confirmations = [m for m in mails(box) if m["X-Beian-Kind"] == "resolved"]
    assert [m["To"] for m in confirmations] == ["ops@jia.example.cn"]
    assert "已整改" in str(confirmations[0]["Subject"])
    show = beian("cases", "show", str(fixed.id)).stdout
    assert "open" in show and "notified" in show and "resolved" in show and "finding gone at re-check" in show


def test_overdue_then_escalated_and_operator_actions(world):
    box, beian, config = world
    beian("scan")
    beian.now = "2026-11-03T02:00:00+08:00"
    beian("scan")
    beian("notices", "send")
    current = by_site(cases(config))
    down = current[("京ICP备30000002号-1", "site.unreachable")]
    nolink = current[("京ICP备30000001号-2", "filing.link_missing")]
    assert down.state == "notified"

    result = beian("cases", "extend", str(nolink.id), "--days", "5", "--reason", "客户申请延期，已电话确认")
    assert "2026-11-23 18:00" in result.stdout  # 11-16 + 5 working days
    bad = beian("cases", "extend", str(nolink.id), "--days", "0", "--reason", "x", ok=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1

    beian.now = "2026-11-18T09:00:00+08:00"  # past down's deadline (11-17 18:00), before nolink's (11-23)
    beian("cases", "sweep")
    now = by_site(cases(config))
    assert now[("京ICP备30000002号-1", "site.unreachable")].state == "overdue"
    assert now[("京ICP备30000001号-2", "filing.link_missing")].state == "extended"
    beian("scan")  # still failing after the deadline: escalated, on the 取消接入 worklist
    now = by_site(cases(config))
    assert now[("京ICP备30000002号-1", "site.unreachable")].state == "escalated"
    worklist = beian("cases", "--escalated", "--format", "csv").stdout.splitlines()
    assert worklist[0].startswith("id,website_number") and len(worklist) == 3  # header, unreachable, critical
    assert any("京ICP备30000002号-1" in line and "site.unreachable" in line for line in worklist)

    waived = beian("cases", "waive", str(nolink.id), "--reason", "链接在图片热区上，人工核实无误")
    assert "waived" in waived.stdout
    beian("scan")  # same page: the waived code stays quiet
    assert [c.state for c in cases(config) if c.check == "filing.link_missing"] == ["waived"]
    box.set_page("nolink-a.cn", "https", page("甲公司新品站", CORP, f"<p>© {OWNER1} 京ICP备30000001号-2</p>"))
    beian("scan")  # the page changed: the waiver lapses and a new case opens
    assert [c.state for c in cases(config) if c.check == "filing.link_missing"] == ["waived", "notified"]

    store = Store(_db(config))
    with store.session() as session:
        trail = [(e.from_state, e.to_state, e.actor) for e in
                 session.scalars(select(CaseEvent).where(CaseEvent.case_id == down.id).order_by(CaseEvent.id))]
    store.dispose()
    assert [t[1] for t in trail] == ["open", "notified", "overdue", "escalated"]
    assert trail[2][2] == "sweep" and trail[3][2].startswith("scan ")


def test_health_gate_holds_notices_when_failures_jump(world, tmp_path):
    box, beian, config = world
    # Twenty more healthy sites, so the scan is large enough to judge, then a baseline scan.
    registry = json.loads(json.dumps(WORLD["registry"]))
    for i in range(20):
        host = box.world.hosts["good-a.cn"]
        from scanner.sandbox.world import Host

        box.world.hosts[f"ok{i}-a.cn"] = Host(f"ok{i}-a.cn", host.dns, None,
                                            type(host.https)(page=page(f"甲公司子站{i}", CORP, linked(f"京ICP备30000001号-{i + 3}", OWNER1))))
        registry["subjects"][0]["websites"].append(
            {"website_number": f"京ICP备30000001号-{i + 3}", "name": f"甲公司子站{i}", "domains": [f"ok{i}-a.cn"]})
    path = tmp_path / "registry2.json"
    path.write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")
    beian("registry", "import", str(path))
    beian("scan")
    assert by_site(cases(config))[("京ICP备30000001号-2", "filing.link_missing")].state == "notified"
    beian("notices", "send")
    before = len(box.smtp.messages)

    # Our network breaks: most sites stop answering at once.
    for i in range(15):
        box.set_page(f"ok{i}-a.cn", "https", "down", status=503)
    box.set_page("nolink-a.cn", "https", page("甲公司产品站", CORP, "<p>无备案号</p>"))
    beian.now = "2026-11-03T02:00:00+08:00"
    beian("scan")
    beian.now = "2026-11-04T02:00:00+08:00"
    result = beian("scan")
    assert "HELD" in result.stdout
    beian("notices", "send")
    assert len(box.smtp.messages) == before  # nothing new reached customers
    gates = [line for line in beian("alerts").stdout.splitlines() if "health_gate" in line]
    assert len(gates) == 2 and all("暂停发送" in line for line in gates)  # both broken scans were held
    gate = gates[-1]
    held = [c for c in cases(config) if c.state == "open"]
    assert held, "cases are opened (facts), only their notices wait"
    scan_id = gate.split(" scan ")[1].split()[0]
    beian("notices", "release", "--scan", scan_id)
    beian("notices", "send")
    assert len(box.smtp.messages) > before


def test_deadline_across_spring_festival_2026(store):
    from datetime import datetime

    from core.clock import SHANGHAI
    from core.config import DeadlinesConfig
    from scanner.workdays import WorkCalendar, deadline_after

    calendar = WorkCalendar.from_config(DeadlinesConfig())
    # Notified Thu 2026-02-12. Working days: 02-13, 02-14 (Sat, 调休 workday), holiday 02-15..02-23,
    # 02-24..02-27, 02-28 (Sat, 调休), 03-02, 03-03, 03-04: the tenth is Wed 2026-03-04.
    notified = datetime(2026, 2, 12, 10, 30, tzinfo=SHANGHAI)
    deadline = deadline_after(notified, 10, DeadlinesConfig(), calendar).astimezone(SHANGHAI)
    assert deadline == datetime(2026, 3, 4, 18, 0, tzinfo=SHANGHAI)
    assert not calendar.uncovered


def test_deadline_in_an_uncovered_year_falls_back_and_says_so():
    from datetime import datetime

    from core.clock import SHANGHAI
    from core.config import DeadlinesConfig
    from scanner.workdays import WorkCalendar, deadline_after

    plain = WorkCalendar.from_config(DeadlinesConfig())
    start = datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI)  # Mon; 2027 is past chinese-calendar's data
    # 12-29, 12-30, 12-31, (01-01 元旦 fixed holiday), 01-04: the fourth working day
    assert deadline_after(start, 4, DeadlinesConfig(), plain).date().isoformat() == "2027-01-04"
    assert plain.uncovered == {2027}
    table = DeadlinesConfig(holidays=("2027-01-04",))
    with_table = WorkCalendar.from_config(table)
    assert deadline_after(start, 4, table, with_table).date().isoformat() == "2027-01-05"
    assert with_table.uncovered == set()


def test_outbox_rows_keep_their_bytes(world):
    box, beian, config = world
    beian("scan")
    store = Store(_db(config))
    with store.session() as session:
        rows = list(session.scalars(select(OutboxMessage)))
    store.dispose()
    assert rows and all(r.state == "pending" for r in rows)
    for row in rows:
        parsed = email.message_from_bytes(row.raw, policy=email.policy.default)
        assert parsed["Message-ID"] == row.message_id and parsed["To"] == row.recipient
