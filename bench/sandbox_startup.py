"""Benchmark: start-up time and memory of a sandbox serving a generated world (default 100 000 sites).

    python bench/sandbox_startup.py [--sites 100000]

Runs `beian sandbox up` on the world in a child process, waits until its config is written (all
listeners bound), fetches a few pages to show it serves, and reads the child's resident memory.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._measure import run_child  # noqa: E402

GENERATE = """
import json, sys
from scanner.sandbox.generate import generate
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(generate(int(sys.argv[1])), ensure_ascii=False))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=100_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="beian-sandbox-bench-"))
    world = workdir / "world.json"
    wall, _, _ = run_child(GENERATE, str(args.sites), str(world))
    print(f"world: {args.sites} sites, {world.stat().st_size / 1e6:.0f} MB JSON (generated in {wall:.1f} s)")
    config = workdir / "sandbox.toml"
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "scanner.cli", "sandbox", "up", str(world), "--config-out",
                              str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        while not config.exists():
            if child.poll() is not None:
                raise SystemExit(child.stderr.read().decode()[-2000:])
            time.sleep(0.05)
        up = time.monotonic() - started
        data = json.loads(world.read_text(encoding="utf-8"))
        samples = [(name, spec["a"][0]) for name, spec in list(data["hosts"].items())[:500]
                   if "a" in spec and (spec.get("http") or spec.get("web") or {}).get("template")][:20]
        served = 0
        t = time.monotonic()
        for name, address in samples:
            conn = http.client.HTTPConnection(address, 80, timeout=5)
            conn.request("GET", "/", headers={"Host": name})
            served += conn.getresponse().status < 600
        print(f"sandbox up in {up:.1f} s; resident memory {rss_mb(child.pid):.0f} MB; "
              f"{served}/{len(samples)} sample pages served in {time.monotonic() - t:.2f} s")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(20)


if __name__ == "__main__":
    main()
