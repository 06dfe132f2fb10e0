"""Delivery of the outbox: at least once with one Message-ID through kill -9 at each protocol point, SMTP
outages, dropped connections and 4xx replies; .eml files without SMTP."""

from __future__ import annotations

import os
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
                    "deadline": "2026-11-16 18:00", "critical": False}
            context = {"items": [item], "deadline": "2026-11-16 18:00", "working_days": 10, "critical_count": 0}
            rendered = render(config, "notice", recipient, context, now=now)
            session.add(queue_message(rendered, "notice", recipient, now, None, [i]))
            ids.append(rendered.message_id)
    store.dispose()
    return ids


def send(config: Path, cwd: Path, now: str = NOW, kill_at: str = "", **popen) -> subprocess.Popen:
    env = {**os.environ, "BEIAN_NOW": now}
    env.pop("BEIAN_TEST_KILL_AT", None)
    if kill_at:
        env["BEIAN_TEST_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "notices", "send",
                             "--no-sweep"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


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
                                                          "outbox_dir": str(tmp_path / "outbox")}})
        yield box, config


def wait_until(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# Where the sender SIGKILLs itself (BEIAN_TEST_KILL_AT, on the second message of the run), and what the
# guarantee (at least once, one Message-ID) says the second message's arrivals must be after a clean rerun:
# 1 = exactly once; 2 = it was in doubt (the server may have it) and was sent again with the same Message-ID.
KILLS = [
    ("before_mail", 1),    # claimed, connected, nothing of it sent
    ("after_data", 1),     # 354 received, no content yet: the server drops the transaction
    ("after_dot", 2),      # the whole message is with the server, its reply not read: in doubt, re-sent
    ("after_250", 2),      # accepted, but the kill came before the journal knew: still in doubt, re-sent
    ("after_journal", 1),  # accepted and journaled, not yet marked sent in the database: reconciled, not re-sent
]


@pytest.mark.parametrize(("point", "arrivals"), KILLS, ids=[k[0] for k in KILLS])
def test_kill_9_at_each_protocol_point_never_loses_a_message(mail, tmp_path, point, arrivals):
    box, config = mail
    expected = queue_messages(config, 3)
    killed = send(config, tmp_path, kill_at=f"{point}:2")
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL, f"the sender did not reach {point}"
    if point in ("after_dot", "after_250"):  # the server has the whole message: let it finish with it
        wait_until(lambda: box.smtp.answered >= 2, "the server's reply to the second message")
    process = send(config, tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert all(row.state == "sent" for row in outbox(config)), out
    arrived = Counter(m.message()["Message-ID"] for m in box.smtp.messages)
    assert arrived == {expected[0]: 1, expected[1]: arrivals, expected[2]: 1}, (point, out)
    if arrivals == 2:
        assert "re-sent with the same Message-ID" in out
    if point == "after_journal":
        assert "confirmed from the delivery journal" in out


def test_kill_9_while_the_server_decides_does_not_count_a_refusal_as_sent(mail, tmp_path):
    """The server answers 451 to the whole message; the sender died before reading that. The message is
    in doubt, not sent: the next run sends it again and this time it is accepted."""
    box, config = mail
    (expected,) = queue_messages(config, 1)
    box.smtp.fail_next = 1
    killed = send(config, tmp_path, kill_at="after_dot")
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    wait_until(lambda: box.smtp.answered >= 1, "the server's 451")
    assert box.smtp.fail_next == 0 and not box.smtp.messages
    out, err = send(config, tmp_path).communicate(timeout=60)
    assert [m.message()["Message-ID"] for m in box.smtp.messages] == [expected], out
    assert [row.state for row in outbox(config)] == ["sent"]


def test_no_reply_after_the_message_is_in_doubt_and_resent(mail, tmp_path):
    """The connection drops after the final dot, before any reply: that message is retried, not counted sent."""
    box, config = mail
    (expected,) = queue_messages(config, 1)
    box.smtp.drop_next = 1
    process = send(config, tmp_path)
    out, _err = process.communicate(timeout=60)
    assert process.returncode == 0, out
    (row,) = outbox(config)
    assert row.state == "retry" and "in doubt" in row.last_error, (row.state, row.last_error)
    assert not box.smtp.messages
    out, _err = send(config, tmp_path, now="2026-11-02T09:05:00+08:00").communicate(timeout=60)
    assert [m.message()["Message-ID"] for m in box.smtp.messages] == [expected], out


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
                      f'rate_per_minute = 6000\noutbox_dir = "{tmp_path / "out"}"\n', encoding="utf-8")
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
