"""Run the real `beian` CLI (in a subprocess: Scrapy's reactor starts once per process) against a sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scanner.sandbox import Sandbox
from scanner.sandbox.runner import to_toml


def write_config(box: Sandbox, tmp_path: Path, overrides: dict | None = None) -> Path:
    data = box.config(f"sqlite:///{tmp_path / 'beian.db'}")
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path = tmp_path / "beian.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def beian(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scanner.cli", "--config", str(config), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def warm_certificates(box: Sandbox) -> None:
    """Issue the sandbox's per-host certificates before a scan. Issued lazily, they are made in the web
    servers' event loop at the first TLS handshake, one after another: seconds on a loaded machine, taken
    from the one fetch budget a website has."""
    for name, host in box.world.hosts.items():
        if host.https is not None:
            box.web.ca.context_for(name)


def import_world_registry(box: Sandbox, config: Path, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(box.world.registry, ensure_ascii=False), encoding="utf-8")
    result = beian(config, "registry", "import", str(path))
    assert result.returncode == 0, result.stderr


def scan(config: Path, tmp_path: Path, *selectors: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    output = tmp_path / "findings.jsonl"
    result = beian(config, "scan", *selectors, "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    findings = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    return result, findings


def triples(findings: list[dict]) -> set[tuple]:
    return {(f["check"], f["website_number"] or f["subject_number"], f["domain"]) for f in findings}


def chromium_or_skip():
    """A pytest mark that skips a module when headless Chromium is missing (naming why); under CI the
    missing browser fails the run instead, since .ci/run installs it."""
    import os

    import pytest

    from core.config import RenderConfig
    from spiders.render import availability

    path, why = availability(RenderConfig())
    if path is None and os.environ.get("CI"):
        raise RuntimeError(f"CI needs headless Chromium (.ci/run installs Debian's chromium): {why}")
    return path, pytest.mark.skipif(path is None, reason=why)
