"""`beian demo` (the whole product on the built-in sandbox) and `beian sandbox up WORLD`."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from core.config import Config, parse_config
from scanner.commands.common import CommandError
from scanner.sandbox import Sandbox, SandboxError, WorldError, load_world
from scanner.sandbox.runner import to_toml

WORLDS = Path(__file__).resolve().parent.parent / "sandbox" / "worlds"


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the product on the built-in sandbox (no network, no services needed)",
        description="Starts the sample world (DNS, web, RDAP and SMTP servers on loopback), imports its registry, "
        "scans it and lists the findings, then runs an annual review round (湖北年审), the contact verification and the "
        "MIIT cross-check on a small 鄂 registry of its own. "
        "Needs ports 80 and 443 on 127.x addresses (root or CAP_NET_BIND_SERVICE).",
    )
    p.add_argument("--workdir", default="beian-demo", help="where the demo keeps its database and config "
                   "(default: ./beian-demo)")
    p.set_defaults(func=cmd_demo, needs_config=False)

    sandbox = sub.add_parser("sandbox", help="the fake internet used by tests, the demo and benchmarks")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("up", help="serve a world until Ctrl-C and print the config that points at it")
    p.add_argument("world", metavar="WORLD", help="world file (.yaml/.json), or 'sample'")
    p.add_argument("--config-out", metavar="FILE", help="also write the scanner config to FILE")
    p.add_argument("--registry-out", metavar="FILE", help="also write the world's registry (JSON) to FILE")
    p.add_argument("--database", default="sqlite:///beian.db", help="database URL for the printed config")
    p.add_argument("--lifetime", type=float, default=8 * 3600, help="stop by itself after this many seconds")
    p.add_argument("--maildir", metavar="DIR", help="also keep every captured mail in this maildir")
    p.set_defaults(func=cmd_sandbox_up, needs_config=False)


def _world_path(name: str) -> Path:
    if name == "sample":
        return WORLDS / "sample.yaml"
    return Path(name)


def _start(world_name: str, lifetime: float, maildir: str | None = None) -> Sandbox:
    try:
        world = load_world(_world_path(world_name))
        return Sandbox(world, lifetime_s=lifetime, maildir=maildir).start()
    except (WorldError, SandboxError) as exc:
        raise CommandError(str(exc)) from None


def cmd_sandbox_up(args, _config: Config) -> int:
    # Ctrl-C and SIGTERM only set a flag, from before anything tells a script the sandbox is ready: a signal
    # that lands while the config is being written or printed still stops the servers cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    box = _start(args.world, args.lifetime, args.maildir)
    try:
        text = box.config_toml(args.database)
        if args.registry_out and box.world.registry:
            Path(args.registry_out).write_text(json.dumps(box.world.registry, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.config_out:  # written last: its presence tells scripts the sandbox is ready
            Path(args.config_out).write_text(text, encoding="utf-8")
        hosts = len(box.world.hosts)
        print(f"sandbox '{box.world.name}' is up: {hosts} hosts on {len(box.world.web_addresses())} loopback addresses, "
              f"DNS {box.nameserver}, RDAP {box.rdap_url}, SMTP {box.smtp_url}")
        print("point the scanner at it with this config (Ctrl-C stops the sandbox):\n")
        print(text)
        sys.stdout.flush()
        while not stop.is_set() and box._thread is not None and box._thread.is_alive():
            stop.wait(0.5)
    finally:
        box.stop()
    print(f"sandbox stopped; {len(box.smtp.messages)} mails captured")
    return 0


def cmd_demo(args, _config: Config) -> int:
    from scanner.commands.scan_cmd import print_summary
    from scanner.findings import as_contract, query
    from scanner.registry.importer import import_records
    from scanner.registry.parse import parse_json
    from scanner.scan import run_scan
    from scanner.store.db import Store
    from scanner.targets import Selector

    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "beian.db"
    for stale in workdir.glob("beian.db*"):
        stale.unlink()  # every demo starts from an empty database
    box = _start("sample", 3600)
    try:
        config_data = box.config(f"sqlite:///{database}")
        config_data.setdefault("notices", {})["outbox_dir"] = str(workdir / "outbox")
        (workdir / "beian.toml").write_text(to_toml(config_data), encoding="utf-8")
        config = parse_config(config_data, str(workdir / "beian.toml"))
        print(f"sandbox up: sample world ({len(box.world.hosts)} hosts), DNS {box.nameserver}, RDAP {box.rdap_url}")
        store = Store(f"sqlite:///{database}")
        registry_text = json.dumps(box.world.registry, ensure_ascii=False)
        result = import_records(store, parse_json(registry_text, "sample registry"), source="sample world")
        print(f"registry imported: {result.summary()}")
        print("scanning every filed website…")
        scan = run_scan(config, store, Selector())
        print_summary(scan)
        print("\nfindings:")
        with store.session() as session:
            for row in query(session, scan_id=scan.scan_id):
                item = as_contract(row)
                print(f"  [{item['severity']}] {item['check']:<28} {item['website_number'] or item['subject_number']}"
                      f"  {item['summary']}")
        if scan.cases is not None:
            print(f"\n{scan.cases.line()}")
        _deliver(config, store, box)
        store.dispose()
        _annual_review(config_data, workdir, box)
    finally:
        box.stop()
    print(f"\ndatabase and config kept in {workdir}; e.g. beian --config {workdir / 'beian.toml'} findings --format csv")
    return 0


def _deliver(config: Config, store, box: Sandbox) -> None:
    """Send the queued notices to the sandbox's SMTP server and show the first one, as a customer sees it."""
    from scanner.notices.deliver import Sender

    report = Sender(config, store, sleep=lambda _s: None).run()
    print(f"notices: {report.line()} (to the sandbox SMTP server {box.smtp_url})")
    notices = [m.message() for m in box.smtp.messages if m.message()["X-Beian-Kind"] == "notice"]
    if notices:
        first = notices[0]
        text = first.get_body(("plain",)).get_content()
        print(f"\nfirst notice, to {first['To']}: {first['Subject']}\n")
        print("\n".join("  " + line for line in text.splitlines()[:18]))
        print("  …")


def _annual_review(config_data: dict, workdir: Path, box: Sandbox) -> None:
    """A short annual review round (湖北年审) on a small 鄂 registry of its own database: the mail a customer
    gets, then the bureau's completion list."""
    from datetime import timedelta

    from core import clock
    from core.clock import SHANGHAI
    from scanner.notices.deliver import Sender
    from scanner.registry.importer import import_file
    from scanner.store.db import Store
    from scanner.workflows.annual_review import AnnualReview

    print("\nannual review (湖北年审) on a small 鄂 registry of its own (review.db):")
    database = workdir / "review.db"
    for stale in workdir.glob("review.db*"):
        stale.unlink()
    data = json.loads(json.dumps(config_data))
    data["database"] = f"sqlite:///{database}"
    data.setdefault("provider", {}).setdefault("code", "002")
    data["notices"]["outbox_dir"] = str(workdir / "review-outbox")
    data["contacts"] = {"secret": "demo-secret-not-for-production", "sms_webhook_url": box.sms_url,
                        "sms_token": box.sms.token}
    config = parse_config(data, "demo")
    store = Store(f"sqlite:///{database}")
    try:
        import_file(store, WORLDS / "hubei_registry.json")
        today = clock.now().astimezone(SHANGHAI).date()
        review = AnnualReview(config, store)
        round_, report = review.start("鄂", today.isoformat(), (today + timedelta(days=90)).isoformat(), actor="demo")
        print(f"  round {round_.id} ({round_.starts_on} to {round_.ends_on}): {report.line()}")
        before = len(box.smtp.messages)
        Sender(config, store, sleep=lambda _s: None).run()
        mails = [m.message() for m in box.smtp.messages[before:] if m.message()["X-Beian-Kind"] == "review"]
        if mails:
            text = mails[0].get_body(("plain",)).get_content()
            print(f"\n  first review mail, to {mails[0]['To']}: {mails[0]['Subject']}\n")
            print("\n".join("    " + line for line in text.splitlines()[:16] if line.strip()))
            print("    …")
        listing = workdir / "bureau-done.csv"
        listing.write_text("序号,网站备案号\n1,鄂ICP备20001001号-1\n", encoding="utf-8")
        print(f"\n  the bureau's list of completed websites: {review.import_done(round_.id, listing, actor='demo').line()}")
        print(f"  next: beian --config … annual-review show {round_.id}; the round's end opens review.not_done cases")
        _contacts(config, store, box)
        _miit(config_data, database, box)
    finally:
        store.dispose()


def _contacts(config: Config, store, box: Sandbox) -> None:
    """The contact self-verification on the same small registry: the mails, the SMS the gateway recorded."""
    import re

    from scanner.notices.deliver import Sender
    from scanner.workflows.contacts import ContactVerifier

    print("\ncontact self-verification (负责人联系方式核验) on the same registry:")
    report = ContactVerifier(config, store).send(actor="demo")
    print(f"  {report.line()}")
    before = len(box.smtp.messages)
    Sender(config, store, sleep=lambda _s: None).run()
    mails = [m.message() for m in box.smtp.messages[before:] if m.message()["X-Beian-Kind"] == "verify"]
    if mails:
        text = mails[0].get_body(("plain",)).get_content()
        link = re.search(r"https?://\S+/verify/\S+", text)
        print(f"  mail to {mails[0]['To']}: {mails[0]['Subject']}")
        print(f"    link {link.group(0) if link else '?'} (served by `beian serve` at /verify/…)")
    if box.sms.messages:
        print(f"  SMS to {box.sms.messages[0]['to']} (sandbox gateway): {box.sms.messages[0]['text']}")


def _miit(config_data: dict, database: Path, box: Sandbox) -> None:
    """The MIIT cross-check on the same registry, against the sandbox's filing query service: one website as MIIT
    has it, one with another subject name, one MIIT has no record of (a finding only on a second day)."""
    from scanner.store.db import Store
    from scanner.workflows.miit import CrossCheck

    print("\nMIIT cross-check (是否备案查询) against the sandbox's filing query service:")
    data = json.loads(json.dumps(config_data))
    data["database"] = f"sqlite:///{database}"
    data["lookup"] = {"url": box.lookup_url, "token": box.lookup.token, "rate_per_s": 100}
    config = parse_config(data, "demo")
    lookup = box.lookup
    lookup.records["鄂ICP备20001001号-1"] = {"website_number": "鄂ICP备20001001号-1", "subject_number": "鄂ICP备20001001号",
                                           "subject_name": "武汉甲信息技术有限公司", "domains": ["jia-hb.cn"], "status": "已备案"}
    lookup.records["鄂ICP备20001001号-2"] = {**lookup.records["鄂ICP备20001001号-1"], "website_number": "鄂ICP备20001001号-2",
                                           "domains": ["shop.jia-hb.cn"], "subject_name": "武汉甲科技有限公司"}
    lookup.behaviour["鄂ICP备20001002号-1"] = "not_found"
    store = Store(f"sqlite:///{database}")
    try:
        print(f"  {CrossCheck(config, store).run().line()}")
        print("  (an explicit 'no record' becomes filing.unknown_at_miit only when a second day says it again; empty, "
              "rate-limited and captcha answers never do)")
    finally:
        store.dispose()
