"""`beian serve` as a real process: a schedule in seconds, rescans over HTTP and the CLI, restart, auth, fuzzing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import load_config
from scanner.rescans import Ask, enqueue
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import RescanRequest, Scan
from tests.sandbox.test_cases_notices import WORLD
from tests.sandbox_helpers import beian, import_world_registry, write_config

TOKEN = "s3cret-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, config: Path, cwd: Path, port: int) -> None:
        self.config, self.cwd, self.port = config, cwd, port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.cwd / "serve.log", "a")  # noqa: SIM115 - kept by the child
        self.process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "--config", str(self.config), "serve"],
                                        cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/healthz")
                return
            except OSError:
                assert self.process.poll() is None, (self.cwd / "serve.log").read_text()
                time.sleep(0.2)
        raise AssertionError("server did not come up")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(90)

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = TOKEN) -> tuple[int, object]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                kind = response.headers.get("content-type", "")
                return response.status, json.loads(raw) if "json" in kind else raw.decode()
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def wait_for(self, predicate, timeout: float = 120, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert self.process.poll() is None, (self.cwd / "serve.log").read_text()[-3000:]
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}\n" + (self.cwd / "serve.log").read_text()[-3000:])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    with Sandbox(parse_world(json.loads(json.dumps(WORLD))), lifetime_s=1200) as box:
        config = write_config(box, tmp_path, {
            "notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000, "outbox_dir": str(tmp_path / "outbox")},
            "serve": {"listen": f"127.0.0.1:{port}", "token": TOKEN, "nightly_scan": "*/5 * * * * *", "sweep": "",
                      "weekly_report": "", "poll_s": 0.3},
        })
        import_world_registry(box, config, tmp_path)
        server = Server(config, tmp_path, port)
        server.start()
        yield box, server, config, tmp_path
        if server.process and server.process.poll() is None:
            server.stop()


def finished_scans(server: Server) -> list[dict]:
    _code, scans = server.call("GET", "/scans")
    return [s for s in scans if s["state"] == "finished"]


def test_unauthenticated_requests_are_refused(served):
    _box, server, _config, _tmp = served
    assert server.call("GET", "/cases", token=None)[0] == 401
    assert server.call("GET", "/cases", token="wrong")[0] == 401
    assert server.call("POST", "/rescans", {"websites": ["京ICP备30000001号-2"]}, token=None)[0] == 401
    assert server.call("GET", "/metrics", token=None)[0] == 401
    assert server.call("GET", "/cases")[0] == 200
    assert server.call("GET", "/healthz", token=None)[0] == 200


def test_scheduled_scan_runs_and_mails_go_out(served):
    box, server, _config, _tmp = served
    scans = server.wait_for(lambda: finished_scans(server), what="the scheduled scan")
    assert scans[0]["selector"] == {"domains": [], "websites": [], "subjects": []}
    assert scans[0]["findings_by_code"].get("filing.link_missing") == 1
    server.wait_for(lambda: box.smtp.messages, timeout=60, what="notices after the scan")
    code, metrics = server.call("GET", "/metrics")
    assert code == 200 and 'beian_scans_total{state="finished"}' in metrics and "beian_cases{" in metrics


def test_rescans_over_http_and_cli(served):
    _box, server, config, _tmp = served
    code, queued = server.call("POST", "/rescans", {"websites": ["京ICP备30000001号-2"]})
    assert code == 202 and queued["state"] == "queued"
    done = server.wait_for(lambda: (r := server.call("GET", f"/rescans/{queued['id']}")[1])["state"] == "finished" and r,
                           what="the HTTP rescan")
    code, scan = server.call("GET", f"/scans/{done['scan_id']}")
    assert code == 200 and scan["state"] == "finished" and scan["progress"]["observed"] == 1
    assert scan["selector"]["websites"] == ["京ICP备30000001号-2"]
    code, findings = server.call("GET", "/findings?website=" + urllib.parse.quote("京ICP备30000001号-2"))
    assert code == 200 and [f["check"] for f in findings] == ["filing.link_missing"]

    result = beian(config, "rescan", "--check", "filing.link_missing", "--wait", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "queued on the server" in result.stdout and "finished: scan" in result.stdout

    assert server.call("POST", "/rescans", {"websites": ["京ICP备99999999号-1"]})[0] == 400
    assert server.call("POST", "/rescans", {"websites": "not a list"})[0] == 422
    assert server.call("POST", "/rescans", {"checks": ["no.such_code"]})[0] == 422
    assert server.call("POST", "/cases/999999/extend", {"days": 3, "reason": "x"})[0] == 404
    assert server.call("POST", "/cases/1/extend", {"days": 0, "reason": "x"})[0] == 422
    scans = beian(config, "scans")
    assert scans.returncode == 0 and "finished" in scans.stdout


def test_openapi_fuzz_finds_no_server_errors(served):
    _box, server, _config, tmp = served
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis is a test dependency"
    result = subprocess.run([st, "run", f"http://127.0.0.1:{server.port}/openapi.json", "--checks",
                             "not_a_server_error", "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", "25",
                             "--seed", "7", "--request-timeout", "30"],
                            capture_output=True, text=True, timeout=900, cwd=tmp)
    assert result.returncode == 0, result.stdout[-4000:]


def test_restart_with_a_rescan_queued_runs_it_once(served):
    _box, server, config, _tmp = served
    assert server.stop() == 0
    store = Store(load_config(config).database)
    with store.session() as session:
        before = {scan.id: scan.state for scan in session.scalars(select(Scan))}
        assert not session.scalars(select(Scan).where(Scan.state == "running")).all(), "nothing left half-done"
    request, _created = enqueue(store, Ask(websites=["京ICP备30000003号-1"]), by="test")  # (the fuzzer may have queued it)
    assert request.state == "queued"
    server.start()
    server.wait_for(lambda: server.call("GET", f"/rescans/{request.id}")[1]["state"] == "finished", what="the queued rescan")
    with store.session() as session:
        # new scans, and scans that changed: a fuzzer's rescan of the same website that the stop interrupted
        # is resumed under its own id rather than started again
        mine = [scan for scan in session.scalars(select(Scan)) if before.get(scan.id) != scan.state]
        row = session.get(RescanRequest, request.id)
    store.dispose()
    ran = [s for s in mine if s.selector.get("websites") == ["京ICP备30000003号-1"]]
    assert len(ran) == 1 and ran[0].id == row.scan_id and ran[0].state == "finished", (
        [(s.id, s.state, s.selector) for s in mine], row.scan_id, before)
    assert os.path.exists(server.cwd / "serve.log")
