"""`beian … | head`: a reader that closes our stdout early ends the command quietly, as with Unix tools.

The command runs as a real subprocess writing into a real pipe. The parent reads one line and closes its
end while the child still has far more to write than a pipe holds (output well over 1 MiB, a Linux pipe
holds 64 KiB), so the child's next write is certain to meet the closed pipe: no timing involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from scanner.store.db import Store
from scanner.store.models import Finding, Subject

ROWS = 12_000


@pytest.fixture(scope="module")
def big_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipe")
    store = Store(f"sqlite:///{folder / 'big.db'}")
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(Subject), [
            {"subject_number": f"京ICP备{i:08d}号", "name": f"主体{i}", "nature": "企业", "province": f"{i:06d}" + "省" * 26,
             "extra": {}, "content": {}, "fingerprint": "0" * 40, "created_at": now, "updated_at": now}
            for i in range(ROWS)
        ])
        conn.execute(insert(Finding), [
            {"key": f"site.unreachable|京ICP备{i:08d}号", "check": "site.unreachable", "severity": "violation",
             "subject_number": f"京ICP备{i:08d}号", "website_number": f"京ICP备{i:08d}号-1", "domain": "example.cn",
             "summary": "首页无法访问" * 10, "evidence": {}, "first_seen": now, "last_seen": now}
            for i in range(ROWS)
        ])
    store.dispose()
    config = folder / "beian.toml"
    config.write_text(f'database = "sqlite:///{folder / "big.db"}"\n', encoding="utf-8")
    return config


def _read_one_line_then_close(argv: list[str]) -> tuple[int, bytes, bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "BEIAN_DEBUG": ""},
    )
    first = b""
    while b"\n" not in first:
        chunk = os.read(proc.stdout.fileno(), 1)
        assert chunk, "the command ended before writing a line"
        first += chunk
    proc.stdout.close()  # what `head -1` does
    err = proc.stderr.read()
    return proc.wait(timeout=120), first, err


@pytest.mark.parametrize(
    "argv",
    [["registry", "stats"], ["findings"], ["findings", "--format", "jsonl"], ["findings", "--format", "csv"]],
    ids=["registry-stats", "findings-table", "findings-jsonl", "findings-csv"],
)
def test_closed_stdout_ends_quietly(big_config, argv):
    code, first, err = _read_one_line_then_close(["--config", str(big_config), *argv])
    assert first.strip()
    assert err == b"", err.decode("utf-8", "replace")  # no "internal error: BrokenPipeError", no traceback
    assert code == 141  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(monkeypatch, capsys):
    """Only our stdout's reader going away is quiet; a broken pipe elsewhere (a mail server) is reported."""
    from scanner import cli

    def fail(args, config):
        raise BrokenPipeError(32, "Broken pipe")

    parser = cli._build_parser()
    args = parser.parse_args(["registry", "stats"])
    monkeypatch.setattr(cli, "_build_parser", lambda: type("P", (), {"parse_args": lambda self, argv: args})())
    args.func = fail
    assert cli.main([]) == 1
    assert "internal error: BrokenPipeError" in capsys.readouterr().err


def test_scan_into_a_pipe_nobody_reads_ends_quietly(tmp_path):
    """`beian scan | head` where head is gone before the summary is written (the reader closed first)."""
    config = tmp_path / "beian.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "empty.db"}"\n', encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all, before the command starts: its first write meets a closed pipe
    try:
        proc = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(config), "scan"],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120, env={**os.environ, "BEIAN_DEBUG": ""})
    finally:
        os.close(write_end)
    assert proc.stderr == b"", proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 141
