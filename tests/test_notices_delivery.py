"""Delivery of the outbox: exactly once through kill -9, SMTP outages and 4xx replies; .eml files without SMTP."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import load_config
from scanner.notices.compose import render
from scanner.notices.outbox import queue_message
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import Alert, OutboxMessage
from tests.sandbox_helpers import write_config

NOW = "2026-11-02T09:00:00+08:00"


def queue_messages(config_path: Path, count: int) -> list[str]:
    config = load_config(config_path)
    store = Store(config.database)
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    ids = []
    with store.session() as session, session.begin():
        for i in range(count):
            recipient = f"customer{i}@example.cn"
            item = {"case_id": i, "record": f"网站 测试站{i}（京ICP备3000{i:04d}号-1）", "field": "网站首页：example.cn",
                    "problem": "备案号未链接至工信部备案管理系统", "detail": "", "requirement": "请添加链接。",
                    "deadline": "2026-11-16 18:00", "critical": False}  # fmt: skip
            context = {"items": [item], "deadline": "2026-11-16 18:00", "working_days": 10, "critical_count": 0}
            rendered = render(config, "notice", recipient, context, now=now)
            session.add(queue_message(rendered, "notice", recipient, now, None, [i]))
            ids.append(rendered.message_id)
    store.dispose()
    return ids


def send(config: Path, cwd: Path, now: str = NOW, **popen) -> subprocess.Popen:
    env = {**os.environ, "BEIAN_NOW": now}
    return subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "notices", "send",
                             "--no-sweep"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)  # fmt: skip


def outbox(config: Path) -> list[OutboxMessage]:
    store = Store(load_config(config).database)
    with store.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    store.dispose()
    return rows


@pytest.fixture
def mail(tmp_path):
    with Sandbox(parse_world({"name": "mail"}), lifetime_s=600) as box:
        config = write_config(box, tmp_path, {"notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 1500,
                                                          "retry_base_s": 60, "max_attempts": 3,
                                                          "outbox_dir": str(tmp_path / "outbox")}})  # fmt: skip
        yield box, config


def test_kill_9_at_random_points_every_message_arrives_once(mail, tmp_path):
    """Each run is killed a random 0-120 ms after its first message reached the server (~40 ms per message
    at this rate), so kills land in every phase of a send: claiming, MAIL/RCPT/DATA, the final dot, marking."""
    box, config = mail
    expected = queue_messages(config, 40)
    seed = int(os.environ.get("BEIAN_TEST_SEED", time.time_ns() % 100000))
    rng = random.Random(seed)
    kills = 0
    for _ in range(80):
        before = len(box.smtp.messages)
        process = send(config, tmp_path)
        deadline = time.monotonic() + 20
        while process.poll() is None and len(box.smtp.messages) == before and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.12))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            continue
        _out, err = process.communicate()
        assert process.returncode == 0, err
        if all(row.state == "sent" for row in outbox(config)):
            break
    assert all(row.state == "sent" for row in outbox(config)), f"the outbox never drained (seed {seed})"
    assert kills >= 10, f"too few kills landed mid-run to mean anything (seed {seed}, {kills})"
    arrived = Counter(m.message()["Message-ID"] for m in box.smtp.messages)
    duplicates = {mid: n for mid, n in arrived.items() if n > 1}
    assert not duplicates, f"sent twice (seed {seed}, {kills} kills): {duplicates}"
    assert set(arrived) == set(expected), f"lost (seed {seed}): {set(expected) - set(arrived)}"


def test_smtp_down_for_a_whole_run_then_up(mail, tmp_path):
    box, config = mail
    expected = queue_messages(config, 12)
    box.set_smtp_available(False)
    process = send(config, tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3 and "cannot reach the mail server" in out
    assert all(row.state == "pending" and row.attempts == 0 for row in outbox(config))
    box.set_smtp_available(True)
    process = send(config, tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "12 sent" in out
    assert sorted(m.message()["Message-ID"] for m in box.smtp.messages) == sorted(expected)


def test_4xx_replies_are_retried_with_backoff_then_failed_with_an_alert(mail, tmp_path):
    box, config = mail
    expected = queue_messages(config, 5)
    box.smtp.fail_next = 2  # the first two messages get 451
    out, _ = send(config, tmp_path).communicate(timeout=60)
    assert "3 sent, 2 to retry later" in out
    retry = [row for row in outbox(config) if row.state == "retry"]
    assert len(retry) == 2 and all(row.attempts == 1 and "451" in row.last_error for row in retry)
    out, _ = send(config, tmp_path).communicate(timeout=60)  # same moment: not due yet
    assert "0 sent" in out
    out, _ = send(config, tmp_path, now="2026-11-02T09:05:00+08:00").communicate(timeout=60)  # after 60 s backoff
    assert "2 sent" in out
    arrived = Counter(m.message()["Message-ID"] for m in box.smtp.messages)
    assert set(arrived) == set(expected) and set(arrived.values()) == {1}

    queue_messages(config, 1)
    box.smtp.fail_next = 100
    for minute in ("10", "20", "40"):  # backoff 60 s, 120 s: three attempts, then failed
        send(config, tmp_path, now=f"2026-11-02T09:{minute}:00+08:00").communicate(timeout=60)
    (failed,) = [row for row in outbox(config) if row.state == "failed"]
    assert failed.attempts == 3
    store = Store(load_config(config).database)
    with store.session() as session:
        assert session.scalars(select(Alert).where(Alert.kind == "mail_failed")).first() is not None
    store.dispose()


def test_without_smtp_messages_become_eml_files_once(tmp_path):
    config = tmp_path / "beian.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "beian.db"}"\n[notices]\nsender = "beian@cloud.example.cn"\n'
                      f'rate_per_minute = 6000\noutbox_dir = "{tmp_path / "out"}"\n', encoding="utf-8")  # fmt: skip
    expected = queue_messages(config, 3)
    for _ in range(2):
        process = send(config, tmp_path)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 3
    import email
    import email.policy

    ids = sorted(email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Message-ID"] for f in files)
    assert ids == sorted(expected)
