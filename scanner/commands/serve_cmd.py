"""`beian serve`, `beian rescan` and `beian scans`."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.notices.compose import local_time
from scanner.reports.exports import write_table
from scanner.rescans import Ask, RescanError
from scanner.store.models import Scan


def register(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="scheduler + scan queue + operator HTTP API, in one long-running process",
        description="Runs the nightly scan, notices after each scan, the daily sweep and the weekly report on "
        "the cron schedule in [serve] (Asia/Shanghai); runs queued rescans as subprocesses; serves the API on "
        "serve.listen (OpenAPI at /openapi.json). SIGTERM or Ctrl-C stops cleanly: a running scan is "
        "interrupted and resumed at the next start.",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "rescan",
        help="scan again now: by domain, website, subject, check code, or every open case",
        description="Queues the rescan through `beian serve` when one is running (serve.listen), else runs it "
        "here and now.",
    )
    p.add_argument("--domain", action="append", default=[], metavar="D")
    p.add_argument("--website", action="append", default=[], metavar="NUM")
    p.add_argument("--subject", action="append", default=[], metavar="NUM")
    p.add_argument("--check", action="append", default=[], metavar="CODE", help="websites with open findings of CODE")
    p.add_argument("--open-cases", action="store_true", help="every website or subject with an active case")
    p.add_argument("--wait", action="store_true", help="with a server: wait until the queued scan has finished")
    p.set_defaults(func=cmd_rescan)

    p = sub.add_parser("scans", help="recent scans with their state")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_scans)


def _config_path(config: Config) -> str:
    return "" if config.source.startswith("<") else str(Path(config.source).resolve())


def cmd_serve(args, config: Config) -> int:
    import uvicorn

    from scanner.serve.api import create_app

    _Server = _server_class()  # noqa: N806
    from scanner.serve.service import Service

    host = config.serve.host
    if not config.serve.token and not ipaddress.ip_address(host).is_loopback:
        raise CommandError(f"serve.listen: {config.serve.listen} is not loopback; set serve.token to listen there")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store = open_store(config)
    service = Service(config, _config_path(config), store)
    app = create_app(config, store, service)
    server = _Server(uvicorn.Config(app, host=host, port=config.serve.port, log_level="warning", access_log=False,
                                    lifespan="off"))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: setattr(server, "should_exit", True))
    service.start()
    print(f"beian serve: API on http://{config.serve.listen} (OpenAPI /openapi.json); nightly scan "
          f"'{config.serve.nightly_scan}', sweep '{config.serve.sweep}' (Asia/Shanghai)", flush=True)
    try:
        server.run()  # returns on SIGINT/SIGTERM
    finally:
        service.stop()
        store.dispose()
    print("beian serve: stopped", flush=True)
    return 0


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """Our own SIGTERM/SIGINT handling: uvicorn re-raises the signal after shutting down, which would kill the
        process before the running scans are interrupted cleanly and their requests queued again."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    return Server


def _api(config: Config, method: str, path: str, body: dict | None = None, timeout: float = 5) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{config.serve.listen}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if config.serve.token:
        request.add_header("Authorization", f"Bearer {config.serve.token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own loopback API
        return json.loads(response.read())


def _server_up(config: Config) -> bool:
    try:
        _api(config, "GET", "/healthz", timeout=1)
        return True
    except (OSError, ValueError):
        return False


def cmd_rescan(args, config: Config) -> int:
    ask = Ask(args.domain, args.website, args.subject, args.check, args.open_cases)
    if _server_up(config):
        try:
            queued = _api(config, "POST", "/rescans", ask.as_dict())
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
            raise CommandError(f"server refused the rescan ({exc.code}): {detail}") from None
        print(f"rescan {queued['id']} {'queued' if queued['created'] else 'already queued'} on the server")
        while args.wait:
            state = _api(config, "GET", f"/rescans/{queued['id']}")
            if state["state"] in ("finished", "failed"):
                print(f"rescan {queued['id']} {state['state']}: scan {state['scan_id']} {state['error'] or ''}".rstrip())
                return 0 if state["state"] == "finished" else 1
            time.sleep(1)
        return 0
    from scanner.commands.scan_cmd import print_summary
    from scanner.rescans import resolve
    from scanner.scan import run_scan
    from scanner.scans import ScanError

    store = open_store(config)
    try:
        selector = resolve(store, ask)
        result = run_scan(config, store, selector)
    except (RescanError, ScanError) as exc:
        raise CommandError(str(exc)) from None
    print_summary(result)
    if result.cases is not None:
        print(result.cases.line())
    return 0 if result.state == "finished" else 3


def _nodes_cell(nodes: dict) -> str:
    """A distributed scan's nodes: name, websites stored, sites/s (the last the coordinator saw)."""
    return " ".join(f"{name}:{n.get('done', 0)}@{n.get('sites_per_s', 0):.1f}/s" for name, n in sorted(nodes.items()))


def cmd_scans(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        scans = list(session.scalars(select(Scan).order_by(Scan.id.desc()).limit(args.limit)))
    items = []
    for scan in reversed(scans):
        stats = scan.stats or {}
        selector = scan.selector or {}
        scope = "all" if not any(selector.values()) else ", ".join(f"{k}:{len(v)}" for k, v in selector.items() if v)
        items.append({"id": scan.id, "state": scan.state, "started": local_time(scan.started_at),
                      "finished": local_time(scan.finished_at), "scope": scope, "websites": stats.get("websites", ""),
                      "findings": sum((stats.get("findings_by_code") or {}).values()),
                      "held": "yes" if (stats.get("health") or {}).get("held") else "",
                      "nodes": _nodes_cell(stats.get("nodes") or {})})
    write_table(items, sys.stdout, ["id", "state", "started", "finished", "scope", "websites", "findings", "held", "nodes"])
    return 0
