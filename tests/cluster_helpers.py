"""A real Redis of the test's own (redis-server on a free loopback port, no persistence: a restart loses
everything, the hardest case), and `beian worker` processes as real nodes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.sandbox import Sandbox
from tests.sandbox_helpers import write_config

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture
def redis_server(tmp_path):
    if not Path(REDIS_SERVER).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs redis-server (.ci/run installs Debian's redis-server)")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def cluster_config(box: Sandbox, folder: Path, database: str, redis_url: str, node: str = "coordinator",
                   lease_s: float = 5.0, extra: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    overrides = {"database": database, "dns": {"timeout_s": 10},
                 "cluster": {"redis_url": redis_url, "lease_s": lease_s, "node_name": node}}
    for section, values in (extra or {}).items():
        overrides.setdefault(section, {}).update(values)
    return write_config(box, folder, overrides)


class Nodes:
    """`beian worker` processes, each with a config of its own (its node name)."""

    def __init__(self, box: Sandbox, folder: Path, database: str, redis_url: str, lease_s: float = 5.0,
                 extra: dict | None = None) -> None:
        self.box, self.folder, self.database, self.redis_url = box, folder, database, redis_url
        self.lease_s, self.extra = lease_s, extra
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, env: dict | None = None) -> subprocess.Popen:
        config = cluster_config(self.box, self.folder / name, self.database, self.redis_url, node=name,
                                lease_s=self.lease_s, extra=self.extra)
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - kept by the child
        process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "worker"],
                                   stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        log.close()
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted(self.folder.glob("*.log")))


def distributed_scan(config: Path, timeout: float = 900, wait=None) -> tuple[subprocess.Popen, str, str, list[dict]]:
    """Run `beian scan --distributed --output` to its end; (process, stdout, stderr, findings). `wait`, when
    given, is called with the running process (a test acts on the cluster mid-scan) before it is waited for."""
    output = config.parent / "findings.jsonl"
    output.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(config), "scan",
                                "--distributed", "--output", str(output)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait is not None:
        wait(process)
    stdout, stderr = process.communicate(timeout=timeout)
    findings = []
    if output.exists():
        findings = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    return process, stdout, stderr, findings
