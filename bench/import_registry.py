"""Benchmark: import a generated registry of N websites (default 100 000) into SQLite, re-import it
(a no-op), and run the registry checks over it. Prints time and peak RSS per phase.

    python bench/import_registry.py [--websites 100000] [--keep DIR]

Targets (issue 2 / issue 5): import under 60 s and 500 MB; registry checks under 20 s.
Peak RSS is the child's own maximum (each phase runs in a fresh process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._measure import run_child  # noqa: E402

GENERATE = """
import json, sys
from scanner.sandbox.generate import generate
world = generate(int(sys.argv[1]), page_kb=1)
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(world["registry"], ensure_ascii=False))
print(len(world["registry"]["subjects"]))
"""
IMPORT = """
import sys, time
from scanner.store.db import Store
from scanner.registry.importer import import_file
store = Store(sys.argv[1])
t = time.monotonic()
result = import_file(store, sys.argv[2])
import resource
print(f"{time.monotonic() - t:.2f}|{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}|{result.summary()}")
"""
CHECKS = """
import sys, time
from core.config import Config
from scanner.store.db import Store
from scanner.registry_checks import run_registry_checks
store = Store(sys.argv[1])
t = time.monotonic()
counts = run_registry_checks(Config(), store)
import resource
print(f"{time.monotonic() - t:.2f}|{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}|{sum(counts.values())} findings: {dict(counts)}")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--websites", type=int, default=100_000)
    parser.add_argument("--keep", help="directory to keep the registry and database in")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="beian-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    registry = workdir / "registry.json"
    # generated in a child: ru_maxrss survives exec, so a big parent would inflate every child's figure
    _wall, _rss, out = run_child(GENERATE, str(args.websites), str(registry))
    subjects = int(out.strip())
    database = workdir / "bench.db"
    for stale in workdir.glob("bench.db*"):
        stale.unlink()
    url = f"sqlite:///{database}"
    print(f"registry: {args.websites} websites, {subjects} subjects, {registry.stat().st_size / 1e6:.1f} MB JSON")
    for label, code in (("first import", IMPORT), ("re-import (no-op)", IMPORT), ("registry checks", CHECKS)):
        wall, _rss, out = run_child(code, url, str(registry))
        inner, rss, detail = out.strip().split("|", 2)
        rss = float(rss)
        print(f"{label:<20} {float(inner):7.2f} s (process {wall:6.2f} s)  peak RSS {rss:6.0f} MB  {detail[:160]}")
    print(f"database: {database.stat().st_size / 1e6:.0f} MB at {database}")


if __name__ == "__main__":
    main()
