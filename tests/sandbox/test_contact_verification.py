"""Contact self-verification (seed 002) end to end: the real CLI, the sandbox's SMTP server (one mailbox refused)
and SMS gateway (one number rejected), the public /verify page of the operator app, a pinned clock.

Each contact gets one mail with a link and a code and the same code by SMS; a wrong code counts, the right one
verifies once; a rerun sends nothing twice; a contact whose every channel failed is bounced; at the deadline the
unverified contacts become contact.unverified cases, and a rejected SMS is evidence for registry.phone_invalid.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.config import load_config
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.serve.api import create_app
from scanner.store.db import Store
from scanner.store.models import Case, ContactVerification, Finding
from tests.sandbox_helpers import write_config

ROOT = Path(__file__).resolve().parents[2]
JIA, YI = "鄂ICP备20001001号", "京ICP备30000002号"
REGISTRY = {"subjects": [
    {"subject_number": JIA, "name": "武汉甲信息技术有限公司", "nature": "企业", "province": "湖北省",
     "principal": {"name": "王强", "mobile": "13912345678", "email": "wang@jia.example.cn"},
     "customer_email": "ops@jia.example.cn",
     "websites": [
         {"website_number": f"{JIA}-1", "name": "甲公司官网", "domains": ["jia-hb.cn"],
          "leader": {"name": "李娜", "mobile": "18612345678", "email": "li@jia.example.cn"}},
         {"website_number": f"{JIA}-2", "name": "甲公司商城", "domains": ["shop.jia-hb.cn"],
          "leader": {"name": "赵敏", "mobile": "18912340000", "email": "gone@jia.example.cn"}}]},
    {"subject_number": YI, "name": "北京乙网络科技有限公司", "nature": "企业", "province": "北京市",
     "principal": {"name": "陈静", "mobile": "19912345678"},  # no email: the SMS alone
     "customer_email": "it@yi.example.cn",
     "websites": [{"website_number": f"{YI}-1", "name": "乙公司官网", "domains": ["yi.cn"]}]},
]}


class Operator:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.config, self.tmp_path, self.now = config, tmp_path, "2027-03-01T09:00:00+08:00"

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, timeout=300, cwd=self.tmp_path,
                                env={**os.environ, "BEIAN_NOW": self.now, "PYTHONPATH": str(ROOT)})
        if ok:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result


@pytest.fixture
def world(tmp_path):
    with Sandbox(parse_world({"name": "contacts", "hosts": {}, "registry": {"subjects": []}}), lifetime_s=600) as box:
        box.smtp.reject_rcpt.add("gone@jia.example.cn")
        box.sms.reject.add("18912340000")
        config = write_config(box, tmp_path, {
            "provider": {"code": "002", "name": "示例云"},
            "notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000, "max_attempts": 1,
                        "outbox_dir": str(tmp_path / "outbox")},
            "deadlines": {"holidays": ["2027-05-03"]},
            "contacts": {"secret": "a-long-enough-test-secret", "public_url": "https://beian.cloud.example.cn",
                         "sms_webhook_url": box.sms_url, "sms_token": box.sms.token, "working_days": 5},
        })
        run = Operator(config, tmp_path)
        registry = tmp_path / "registry.json"
        registry.write_text(json.dumps(REGISTRY, ensure_ascii=False), encoding="utf-8")
        run("registry", "import", str(registry))
        yield box, run, Store(f"sqlite:///{tmp_path / 'beian.db'}")


def verify_mails(box: Sandbox) -> dict[str, str]:
    out = {}
    for captured in box.smtp.messages:
        message = captured.message()
        if message["X-Beian-Kind"] == "verify":
            out[message["To"]] = message.get_body(("plain",)).get_content()
    return out


def test_contacts_verify_by_mail_and_sms_and_the_rest_become_cases(world, monkeypatch):
    box, run, store = world
    sent = run("contacts", "verify")
    assert "4 verifications sent" in sent.stdout and "3 SMS sent" in sent.stdout and "1 SMS rejected" in sent.stdout
    run("notices", "send")
    mails = verify_mails(box)
    assert sorted(mails) == ["li@jia.example.cn", "wang@jia.example.cn"]  # gone@ refused, 陈静 has no email
    li = mails["li@jia.example.cn"]
    link = re.search(r"https://beian\.cloud\.example\.cn(/verify/\S+)", li).group(1)
    code = re.search(r"验证码：(\d{6})", li).group(1)
    assert "网站负责人" in li and f"{JIA}-1" in li and "2027-03-08 18:00" in li and "取消接入" in li
    sms = {m["to"]: m["text"] for m in box.sms.messages}
    assert sorted(sms) == ["13912345678", "18612345678", "19912345678"]
    assert code in sms["18612345678"] and "http" not in sms["18612345678"]  # the code alone, no link
    assert "https://beian.cloud.example.cn/verify/" in sms["19912345678"]  # no email on record: the link by SMS
    assert box.sms.refused == [{"to": "18912340000", "text": box.sms.refused[0]["text"]}]

    # nothing is sent twice
    again = run("contacts", "verify")
    assert "4 already open or verified" in again.stdout and len(box.sms.messages) == 3
    run("notices", "send")
    assert len(verify_mails(box)) == 2

    # the public page: no operator token; a wrong code counts, the right one verifies once; a forged link is unknown
    monkeypatch.setenv("BEIAN_NOW", run.now)
    config = load_config(run.config)
    client = TestClient(create_app(config, store))
    page = client.get(link)
    assert page.status_code == 200 and "李娜" in page.text and "验证码" in page.text
    wrong = client.post(link, data={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "还可尝试 4 次" in wrong.text
    ok = client.post(link, data={"code": code})
    assert ok.status_code == 200 and "核验成功" in ok.text
    reused = client.post(link, data={"code": code})
    assert reused.status_code == 410 and "已完成核验" in reused.text
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 404
    wang_link = re.search(r"(/verify/\S+)", mails["wang@jia.example.cn"]).group(1)
    wang_code = re.search(r"验证码：(\d{6})", mails["wang@jia.example.cn"]).group(1)
    assert client.post(wang_link, data={"code": wang_code}).status_code == 200
    assert wang_code in sms["13912345678"]

    # the daily run: 赵敏's mail was refused and the SMS rejected: bounced
    swept = run("contacts", "sweep")
    assert "1 bounced" in swept.stdout
    with store.session() as session:
        states = {(r.website_number or r.subject_number, r.role): r.state for r in session.scalars(select(ContactVerification))}
    assert states == {(JIA, "principal"): "verified", (f"{JIA}-1", "leader"): "verified",
                      (f"{JIA}-2", "leader"): "bounced", (YI, "principal"): "sent"}

    # the deadline (5 working days) passes: the two unverified contacts become cases
    run.now = "2027-03-09T09:00:00+08:00"
    assert "2 expired" in run("contacts", "sweep").stdout
    with store.session() as session:
        cases = {c.website_number or c.subject_number: c.state for c in session.scalars(
            select(Case).where(Case.check == "contact.unverified"))}
        finding = session.scalar(select(Finding).where(Finding.check == "contact.unverified",
                                                       Finding.website_number == f"{JIA}-2"))
    assert cases == {f"{JIA}-2": "notified", YI: "notified"}
    assert "核验邮件被退回" in finding.summary and "核验短信被拒收" in finding.summary
    assert finding.evidence["sms_state"] == "rejected"

    # the rejected SMS is evidence for registry.phone_invalid at the next registry check
    run("scan", "--subject", JIA, "--output", str(run.tmp_path / "f.jsonl"))
    with store.session() as session:
        phone = session.scalar(select(Finding).where(Finding.check == "registry.phone_invalid",
                                                     Finding.subject_number == JIA, Finding.closed_at.is_(None)))
    assert phone is not None and "18912340000" in json.dumps(phone.evidence, ensure_ascii=False)
    assert client.get(link).status_code == 410  # a verified link stays spent


def test_contacts_verify_needs_a_secret(world):
    _box, run, _store = world
    run.config.write_text(run.config.read_text(encoding="utf-8").replace('secret = "a-long-enough-test-secret"',
                                                                          'secret = ""'), encoding="utf-8")
    result = run("contacts", "verify", ok=False)
    assert result.returncode == 2 and "contacts.secret" in result.stderr
