"""Benchmark: the full scan pipeline against a bare Scrapy crawl of the same homepages.

    python bench/scan.py [--sites 20000] [--timeout 5] [--skip-bare] [--app-shells 0.05] [--render off]
    python bench/scan.py --sites 2000 --domains compare    # domain checks on (cold), off, on (cached)

Generates a world (10 % dead or hanging, see scanner/sandbox/generate.py), serves it from a sandbox
in its own process, imports its registry, then runs in child processes:
  1. `beian scan` — the full pipeline (DNS, ownership, fetch, parse, checks, store);
  2. a bare Scrapy crawl of the same homepages through the same DNS resolver and settings, no checks
     and no storage.
Prints sites/s, CPU ms per site (split into DNS, fetch, parse, checks, store) and peak RSS. Figures,
not assertions. The pages come from the sandbox's Python web server, which both crawls wait on here, so a
"full / bare" near 100 % says little about the scanner's own speed: on nginx (bench/throughput.py,
2026-12-01, 5,000 sites of 40 KB) full / bare was 0.35, on 16 KB pages 0.27.
Use this one for the per-stage CPU split, the render and the domain-check figures.
With --app-shells a share of the sites are single-page apps: the scan renders them (and the pages that
lack a number) in headless Chromium, and the report adds the share rendered and the browser's CPU and
wall time per rendered page; --render off runs the same world on static HTML only, for comparison.
--domains compare measures the domain checks (2026-12-01, 2 shared cores, --sites 2000 --render off):
RDAP cold 82.3 s (1955 queries, 31.7 ms CPU/site), off 56.8 s (20.9 ms/site), cached 49.8 s with no RDAP
query (18.1 ms/site): cached / off 88 % (an earlier run: 89 %); the first scan of uncached domains costs
about +45 % wall time (+10 ms CPU per RDAP query: httpx, whoisit's parser, the cache write).
"""

from __future__ import annotations

import argparse
import json
import os
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
world = generate(int(sys.argv[1]), app_shells=float(sys.argv[3]))
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(world, ensure_ascii=False))
"""

FULL = """
import json, resource, sys, time
from core.config import load_config
from scanner.scan import run_scan
from scanner.store.db import Store
from scanner.targets import Selector
config = load_config(sys.argv[1])
store = Store(config.database)
started = time.monotonic()
result = run_scan(config, store, Selector(), stream=open("/dev/null", "w"))
usage = resource.getrusage(resource.RUSAGE_SELF)
# DNS CPU cannot be timed inside the crawl (its awaits interleave with everything else): calibrate it
# afterwards by resolving a sample of the same names one at a time, then scale by the queries made.
import asyncio
from spiders.resolve import DnsView
names = open(sys.argv[2], encoding="utf-8").read().split()[:400]
async def calibrate():
    view = DnsView(config)
    t = time.process_time()
    for name in names:
        await view.resolve(name)
    return (time.process_time() - t) / max(view.queries, 1)
per_query = asyncio.run(calibrate())
timing = dict(result.timing)
timing["dns"] = per_query * result.dns_queries
from scanner.store.models import Scan
with store.session() as session:
    stats = session.get(Scan, result.scan_id).stats or {}
print(json.dumps({"sites": result.websites, "elapsed": time.monotonic() - started,
                  "rdap_domain_queries": stats.get("rdap_domain_queries", 0),
                  "rdap_domain_cached": stats.get("rdap_domain_cached", 0),
                  "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
                  "timing": timing, "findings": sum(result.by_code.values()),
                  "not_checked": result.not_checked, "render": result.render}))
"""

BARE = """
import json, resource, sys, time
from bench.bare_crawl import crawl
stats = crawl(sys.argv[1], sys.argv[2])
usage = resource.getrusage(resource.RUSAGE_SELF)
stats.update(cpu=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)
print(json.dumps(stats))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=5.0, help="fetch.timeout_s for both crawls")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--keep", help="directory to keep the world, config and database in")
    parser.add_argument("--app-shells", type=float, default=0.0, help="share of single-page-app sites")
    parser.add_argument("--render", choices=("auto", "off"), default="auto", help="headless rendering")
    parser.add_argument("--domains", choices=("on", "compare"), default="on",
                        help="compare: scan with [domains] on (RDAP cold), off, then on (cached)")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="beian-scan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    world = workdir / "world.json"
    wall, _, _ = run_child(GENERATE, str(args.sites), str(world), str(args.app_shells))
    print(f"world: {args.sites} sites generated in {wall:.1f} s ({world.stat().st_size / 1e6:.0f} MB)")

    config_path, registry = workdir / "sandbox.toml", workdir / "registry.json"
    for stale in workdir.glob("bench.db*"):
        stale.unlink()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", "sandbox", "up", str(world), "--config-out", str(config_path),
         "--registry-out", str(registry), "--database", f"sqlite:///{workdir / 'bench.db'}", "--lifetime", "7200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    started = time.monotonic()
    while not config_path.exists():
        if sandbox.poll() is not None:
            raise SystemExit(f"sandbox failed: {sandbox.stderr.read()[-2000:]}")
        time.sleep(0.2)
    print(f"sandbox up in {time.monotonic() - started:.1f} s")
    try:
        text = config_path.read_text(encoding="utf-8")
        text = text.replace("[fetch]", f"[fetch]\ntimeout_s = {args.timeout}\nconcurrency = {args.concurrency}\n"
                                       "per_ip_concurrency = 16", 1)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("timeout_s = 5"))
        if args.render == "off":
            text += "\n[render]\nenabled = false"
        config_path.write_text(text + "\n", encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(config_path), "registry", "import",
                                 str(registry)], capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        domains = workdir / "domains.txt"
        data = json.loads(registry.read_text(encoding="utf-8"))
        names = [w["domains"][0] for s in data["subjects"] for w in s["websites"] if w["status"] != "已注销"]
        domains.write_text("\n".join(names), encoding="utf-8")
        del data
        if args.domains == "compare":
            compare_domains(config_path, domains)
            return
        wall, _, out = run_child(FULL, str(config_path), str(domains))
        full = json.loads(out.strip().splitlines()[-1])
        report("full pipeline", full)
        if not args.skip_bare:
            wall, _, out = run_child(BARE, str(config_path), str(domains))
            bare = json.loads(out.strip().splitlines()[-1])
            report("bare Scrapy", bare)
            print(f"full / bare rate: {full['sites'] / full['elapsed'] / (bare['sites'] / bare['elapsed']):.0%}")
    finally:
        sandbox.send_signal(signal.SIGTERM)
        try:
            sandbox.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(sandbox.pid, signal.SIGKILL)


def compare_domains(config_path: Path, domains: Path) -> None:
    """The same world scanned with the domain checks on (RDAP cold: fills the cache), off, then on again
    (cached). Off and cached are both repeat scans of the same findings (updates, not inserts): comparable."""
    text = config_path.read_text(encoding="utf-8")
    off = config_path.with_name("domains-off.toml")
    off.write_text(text.replace("[domains]", "[domains]\nenabled = false", 1), encoding="utf-8")
    runs = {}
    for label, path in (("domains cold", config_path), ("domains off", off), ("domains cached", config_path)):
        _wall, _, out = run_child(FULL, str(path), str(domains))
        runs[label] = stats = json.loads(out.strip().splitlines()[-1])
        report(label, stats)
        print(f"   RDAP domain queries {stats['rdap_domain_queries']}, from the cache {stats['rdap_domain_cached']}")
    base = runs["domains off"]["elapsed"]
    for label in ("domains cold", "domains cached"):
        print(f"{label} / off wall time: {runs[label]['elapsed'] / base:.1%}")


def report(label: str, stats: dict) -> None:
    sites = stats["sites"]
    line = (f"{label:<14} {sites} sites in {stats['elapsed']:.1f} s = {sites / stats['elapsed']:.0f} sites/s; "
            f"CPU {stats['cpu'] * 1000 / sites:.2f} ms/site; peak RSS {stats['rss_mb']:.0f} MB")
    print(line)
    timing = stats.get("timing")
    if timing:
        parts = {k: v * 1000 / sites for k, v in timing.items()}
        fetch = (stats["cpu"] - sum(timing.values())) * 1000 / sites
        print("   per site CPU ms: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(parts.items()))
              + f", fetch+scrapy (rest) {fetch:.2f}; findings {stats.get('findings')}, not checked {stats.get('not_checked')}")
    render = stats.get("render") or {}
    if render.get("state") == "off":
        print(f"   {render.get('reason')}")
    elif render:
        pages, done = render.get("pages", 0), max(render.get("rendered", 0), 1)
        print(f"   rendered {render.get('rendered', 0)} of {pages} pages tried ({pages / sites:.1%} of sites), "
              f"{render.get('failed', 0)} could not be; browser CPU {render.get('browser_cpu_s', 0) * 1000 / done:.0f} ms "
              f"and wall {render.get('wall_ms', 0) / done:.0f} ms per rendered page; {render.get('requests', 0)} "
              f"sub-requests, {render.get('blocked', 0)} refused")


if __name__ == "__main__":
    main()
