"""Customer self-service in real headless Chromium against `beian serve` as a real process (issue 23 acceptance):
the personal link from a notice received on the sandbox SMTP server -> the customer page -> 申请复查 -> the rescan
runs (the sandbox site fixed in between, so the finding is gone) -> the case resolves -> the confirmation mail
arrives on the sandbox SMTP server, once; operators see the request in the case's audit trail.

`BEIAN_SCREENSHOTS=docs pytest tests/sandbox/test_customer_browser.py` refreshes docs/customer.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import select

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.db import Store
from scanner.store.models import Case, CaseEvent, CustomerRescan, RescanRequest
from tests.sandbox.customer_world import A_SITE, A_SITE2, SECRET, A, customer_world
from tests.sandbox.test_cases_notices import CORP, OWNER1, body_text, linked, mails, page
from tests.sandbox.test_console import shots
from tests.sandbox.test_serve import TOKEN, Server, free_port
from tests.sandbox_helpers import beian, chromium_or_skip, import_world_registry, write_config

CHROMIUM, pytestmark = chromium_or_skip()


def wait_until(predicate, timeout: float, what: str, explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{explain()}")


def rescan_done(store: Store, case_id: int) -> bool:
    with store.session() as session:
        asked = session.scalars(select(CustomerRescan).where(CustomerRescan.case_id == case_id)).first()
        rescan = session.get(RescanRequest, asked.rescan_id) if asked else None
        assert rescan is None or rescan.state != "failed", rescan.error
        return rescan is not None and rescan.state == "finished"


def diagnostics(store: Store, tmp_path: Path) -> str:
    with store.session() as session:
        rescans = [(r.id, r.kind, r.state, r.scan_id, r.error) for r in session.scalars(select(RescanRequest))]
    logs = [f"--- {p.name}\n{p.read_text(encoding='utf-8', errors='replace')[-2000:]}"
            for p in sorted(tmp_path.glob("**/*.log"))]
    return f"rescans: {rescans}\n" + "\n".join(logs)


def test_customer_link_rescan_resolves_and_confirms(tmp_path):
    from playwright.sync_api import sync_playwright

    port = free_port()
    with Sandbox(parse_world(customer_world()), lifetime_s=900) as box:
        config = write_config(box, tmp_path, {
            "notices": {"sender": "beian@cloud.example.cn", "rate_per_minute": 6000,
                        "outbox_dir": str(tmp_path / "outbox")},
            "serve": {"listen": f"127.0.0.1:{port}", "token": TOKEN, "nightly_scan": "", "sweep": "",
                      "weekly_report": "", "poll_s": 0.3},
            "customer": {"secret": SECRET, "public_url": f"http://127.0.0.1:{port}"},
        })
        import_world_registry(box, config, tmp_path)
        for args in (("scan",), ("notices", "send", "--no-sweep")):
            result = beian(config, *args)
            assert result.returncode == 0, result.stderr[-3000:]
        notice = next(m for m in mails(box) if m["To"] == A and m["X-Beian-Kind"] == "notice")
        link = re.search(rf"http://127\.0\.0\.1:{port}/customer/\S+", body_text(notice)).group(0)
        store = Store(f"sqlite:///{tmp_path / 'beian.db'}")
        with store.session() as session:
            case_id = session.scalar(select(Case.id).where(Case.website_number == A_SITE))
            other_id = session.scalar(select(Case.id).where(Case.website_number == A_SITE2))

        server = Server(config, tmp_path, port)
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                try:
                    tab = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
                    tab.goto(link)
                    assert tab.locator("section.case").count() == 2
                    card = tab.locator(f"#case-{case_id}")
                    assert "备案号未链接至工信部备案管理系统" in card.inner_text()
                    assert "整改期限" in card.inner_text() and "整改要求" in card.inner_text()
                    assert card.locator("blockquote").count() >= 1

                    # the customer fixes the site, then asks for the re-check
                    box.set_page("nolink-a.cn", "https", page("甲公司产品站", CORP, linked(A_SITE, OWNER1)))
                    tab.click(f"#rescan-{case_id}")
                    tab.wait_for_url(re.compile(rf"\?asked={case_id}$"))
                    # the rescan runs in `beian serve`'s queue (generous bound: a loaded machine), then the page,
                    # which refreshes itself every 5 s while it waits, shows the case moved to 近期已处理
                    wait_until(lambda: rescan_done(store, case_id), 600, "the customer's rescan to finish",
                               lambda: diagnostics(store, tmp_path))
                    tab.wait_for_selector(f"#result-{case_id}[data-outcome=resolved]", timeout=60_000)
                    assert "问题已整改" in tab.inner_text(f"#result-{case_id}")
                    assert tab.locator(f"#rescan-{case_id}").count() == 0
                    assert tab.locator(f"#rescan-{other_id}").count() == 1  # the other site still fails
                    tab.screenshot(path=str(shots(tmp_path) / "customer.png"), full_page=True)
                finally:
                    browser.close()

            confirmations = wait_until(
                lambda: [m for m in mails(box) if m["X-Beian-Kind"] == "resolved" and m["To"] == A],
                300, "the confirmation mail on the sandbox SMTP server", lambda: diagnostics(store, tmp_path))
            assert len(confirmations) == 1 and A_SITE in body_text(confirmations[0])
            assert A_SITE2 not in body_text(confirmations[0])
            with store.session() as session:
                case = session.get(Case, case_id)
                events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
            assert case.state == "resolved"
            asked = [e for e in events if e.actor == f"customer {A}"]
            assert len(asked) == 1 and "申请复查" in asked[0].reason
            assert events[-1].to_state == "resolved" and events[-1].id > asked[0].id
            # sent once: a later delivery run finds nothing new for the customer
            assert beian(config, "notices", "send", "--no-sweep").returncode == 0
            assert len([m for m in mails(box) if m["X-Beian-Kind"] == "resolved"]) == 1
        finally:
            server.stop()
            store.dispose()
