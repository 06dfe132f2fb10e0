"""Distributed scan throughput: `beian scan --distributed` crawled by 1, 2 and 3 `beian worker` processes on
this machine, on one nginx farm (bench/farm.py), PostgreSQL (a schema of its own, dropped at the end) and a
redis-server of its own on a free loopback port.

    python bench/cluster.py [--sites 1500] [--workers 1,2,3] [--pg URL] [--keep DIR]

Run it inside its own network namespace (ports 80/443 on 127.30-33.x, and other people's tests):
    unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/cluster.py --sites 1500'

One warm-up scan first (3 workers; it fills the RDAP caches, so each measured scan is a second night), then
one scan per worker count, the workers started (and idle) before the scan, so the rate is the crawl's:
sites/s = websites / the scan's elapsed_s (opened to crawl done and post-scan work, as `beian scan` reports).

Figures, 2026-12-01, 1,500 sites, 2 cores, one scan per count (sites/s):
  unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/cluster.py --sites 1500 --keep /tmp/wtc-bench'
                         warm-up  1 worker  2 workers  3 workers
  quiet (load 1.9-3.2)      70.0      62.7      103.4       80.3
  busier (load 3.1-5.5)     74.2      70.2       44.7       41.3
  shared (load 11-16)        8.3       7.0       19.6       10.5
The websites spread evenly (750/750, 500/500/500); the multi-worker rates follow the machine's load (other
helpers' tests) more than the worker count, and 3 workers oversubscribe 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.farm import Farm  # noqa: E402
from scanner.sandbox.runner import to_toml  # noqa: E402

PG = os.environ.get("BEIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scanner.cli", "--config", str(config), *args]


def _config(farm: Farm, path: Path, database: str, redis_url: str, node: str) -> Path:
    data = farm.config(database)
    data["cluster"] = {"redis_url": redis_url, "lease_s": 30, "node_name": node}
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1500)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--keep", help="directory for the farm, configs and logs")
    args = parser.parse_args()
    import psycopg

    counts = [int(n) for n in args.workers.split(",")]
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="beian-cluster-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = args.pg.replace("postgresql+psycopg://", "postgresql://")
    admin = psycopg.connect(plain, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    database = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    port = _port()
    redis = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    workers: list[subprocess.Popen] = []
    try:
        farm = Farm(workdir / f"farm-{args.sites}", args.sites)
        farm.build()
        with farm:
            url = f"redis://127.0.0.1:{port}/0"
            coordinator = _config(farm, workdir / "coordinator.toml", database, url, "coordinator")
            done = subprocess.run(_cli(coordinator, "registry", "import", str(farm.registry)), cwd=ROOT,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"registry import failed: {done.stderr[-2000:]}")
            results = []
            for label, n in [("warm-up", 3), *((f"{n} worker{'s' if n > 1 else ''}", n) for n in counts)]:
                for process in workers[n:]:
                    process.send_signal(signal.SIGTERM)
                    process.wait(120)
                workers = workers[:n]
                while len(workers) < n:
                    name = f"node-{len(workers) + 1}"
                    config = _config(farm, workdir / f"{name}.toml", database, url, name)
                    log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - kept by the child
                    workers.append(subprocess.Popen(_cli(config, "worker"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
                    log.close()
                time.sleep(5)  # the workers' imports done before the scan starts (not part of its rate)
                started = time.monotonic()
                scan = subprocess.run(_cli(coordinator, "scan", "--distributed"), cwd=ROOT, capture_output=True,
                                      text=True)
                wall = time.monotonic() - started
                if scan.returncode != 0:
                    raise SystemExit(f"{label}: scan failed: {scan.stderr[-2000:]}")
                row = admin.execute(f'SELECT stats::text FROM "{schema}".scans ORDER BY id DESC LIMIT 1').fetchone()
                stats = json.loads(row[0])
                rate = stats["websites"] / stats["elapsed_s"]
                load = os.getloadavg()[0]
                results.append((label, n, rate))
                print(f"{label}: {stats['websites']} sites in {stats['elapsed_s']:.1f} s = {rate:.1f} sites/s "
                      f"(wall {wall:.1f} s, load average {load:.1f}); nodes {json.dumps(stats.get('nodes'))}", flush=True)
            base = next((rate for label, n, rate in results[1:] if n == 1), None)
            for label, _n, rate in results[1:]:
                print(f"  {label:10s} {rate:7.1f} sites/s" + (f"  x{rate / base:.2f}" if base else ""))
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.kill()
        redis.wait()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


if __name__ == "__main__":
    main()
