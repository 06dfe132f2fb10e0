"""Rendered pages: footers and content that exist only after JavaScript runs, in real headless Chromium.

The browser gets no network of its own: every request it makes is fetched by the crawl, so a script
that reaches for a disallowed loopback address (here: a listener that counts connections) gets nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from core.config import RenderConfig
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from spiders.render import Fetched, Renderer
from tests.sandbox_helpers import chromium_or_skip, import_world_registry, scan, write_config

_CHROMIUM, pytestmark = chromium_or_skip()

BODY = "<h1>星河软件</h1><p>" + "星河软件有限公司专注于企业管理软件的研发与服务，产品包括进销存与财务系统。" * 8 + "</p>"
JS = "application/javascript; charset=utf-8"
MIIT = "https://beian.miit.gov.cn/"


class Listener:
    """A TCP listener on a loopback address the scan must not reach; counts every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.connects = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connects += 1
            conn.close()


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>星河软件</title>{head}</head><body>{body}</body></html>"


def world(trap_port: int) -> dict:
    trap = f"http://127.0.0.1:{trap_port}"
    web = "127.35.0.1"
    return {
        "name": "render",
        "scanner": {"provider": {"ip_ranges": ["127.35.0.0/16"]},
                    "fetch": {"allow_ranges": ["127.35.0.0/16"], "only_ranges": ["127.0.0.0/8"], "timeout_s": 3,
                              "retries": 0},
                    "render": {"timeout_s": 6, "pages": 3}},
        "hosts": {
            # 1. the footer is written at DOMContentLoaded by a same-host script
            "dcl.cn": {"a": [web], "web": {
                "page": page(BODY + "<footer id='ft'></footer><script src='/js/footer.js'></script>"),
                "paths": {"/js/footer.js": {"content_type": JS, "page":
                    "document.addEventListener('DOMContentLoaded', function () {"
                    f" document.getElementById('ft').innerHTML = '<a href=\"{MIIT}\">京ICP备21000001号-1</a>'; }});"}}}},
            # 2. the footer is built from a JSON the page fetches
            "json.cn": {"a": [web], "web": {
                "page": page(BODY + "<div class='footer'><span id='icp'></span></div>"
                             "<script>fetch('/api/site.json').then(r => r.json()).then(d => {"
                             " const a = document.createElement('a'); a.href = d.link; a.textContent = d.icp;"
                             " document.getElementById('icp').appendChild(a); });</script>"),
                "paths": {"/api/site.json": {"content_type": "application/json",
                                             "page": json.dumps({"icp": "京ICP备21000001号-2", "link": MIIT})}}}},
            # 3. a bundled app shell that renders the whole page, footer included
            "shell.cn": {"a": [web], "web": {
                "page": page("<div id='app'></div><script type='module' src='/assets/index-4f2a9c.js'></script>"),
                "paths": {"/assets/index-4f2a9c.js": {"content_type": JS, "page": app_bundle(
                    f"<footer class='site-footer'>©2026 星河软件 <a href='{MIIT}' target='_blank'>京ICP备21000001号-3</a></footer>")}}}},
            # 4. an app shell whose rendered page really has no number
            "nonumber.cn": {"a": [web], "web": {
                "page": page("<div id='root'></div><script src='/static/js/main.8e1f.js'></script>"),
                "paths": {"/static/js/main.8e1f.js": {"content_type": JS, "page": app_bundle(
                    "<footer>©2026 星河软件 版权所有</footer>", mount="root")}}}},
            # 5. a script reaching for a disallowed loopback address, by IP and by a name that resolves there
            "reach.cn": {"a": [web], "web": {"page": page(
                BODY + f"<footer>©2026 星河软件</footer><img src='{trap}/pixel.gif'><script>"
                f"fetch('{trap}/steal').catch(() => {{}}); fetch('https://inner.reach.cn:{trap_port}/x').catch(() => {{}});"
                f"try {{ new WebSocket('ws://127.0.0.1:{trap_port}/ws'); }} catch (e) {{}}"
                f"try {{ const pc = new RTCPeerConnection({{iceServers: [{{urls: 'turn:127.0.0.1:{trap_port}?transport=tcp',"
                " username: 'u', credential: 'p'}]}); pc.createDataChannel('x');"
                " pc.createOffer().then(o => pc.setLocalDescription(o)); } catch (e) {}"
                f"const s = document.createElement('script'); s.src = 'https://inner.reach.cn:{trap_port}/a.js';"
                "document.head.appendChild(s);</script>",
                head=f"<link rel='preconnect' href='{trap}'><link rel='stylesheet' href='{trap}/a.css'>")}},
            "inner.reach.cn": {"a": ["127.0.0.1"]},
            # 6. a script that never finishes: not renderable in budget -> could not check
            "spin.cn": {"a": [web], "web": {
                "page": page("<div id='app'></div><script src='/spin.js'></script>"),
                "paths": {"/spin.js": {"content_type": JS, "page": "while (true) {}"}}}},
            # 7. an app shell that draws its footer (number, no link), then keeps loading scripts that never
            #    answer, each started when the last gives up: the load event never comes within the budget
            "stall.cn": {"a": [web], "web": {
                "page": page("<div id='app'></div><script src='/assets/app.js'></script>"),
                "paths": {"/assets/app.js": {"content_type": JS, "page": app_bundle(
                    "<footer class='site-footer'>©2026 星河软件 京ICP备21000001号-7</footer>") +
                    "(function more(n){var s=document.createElement('script');s.src='/hang.js?n='+n;"
                    "s.onerror=function(){more(n+1);};document.head.appendChild(s);})(0);"},
                          "/hang.js": {"behaviour": "hang"}}}},
        },
        "registry": {"subjects": [{
            "subject_number": "京ICP备21000001号", "name": "北京星河软件有限公司", "nature": "企业",
            "websites": [site(1, "dcl.cn"), site(2, "json.cn"), site(3, "shell.cn"), site(4, "nonumber.cn"),
                         site(5, "reach.cn"), site(6, "spin.cn"), site(7, "stall.cn")],
        }]},
    }


def site(n: int, domain: str) -> dict:
    return {"website_number": f"京ICP备21000001号-{n}", "name": "星河软件官网", "domains": [domain], "status": "已备案"}


def app_bundle(footer: str, mount: str = "app") -> str:
    """What a Vue/React build does, in miniature: build the DOM into the mount element after load."""
    html = (f"<header class='nav'><a href='/'>首页</a><a href='/products'>产品中心</a><a href='/about'>关于我们</a></header>"
            f"<main>{BODY}</main>{footer}")
    return ("(function(){var r=document.getElementById(" + json.dumps(mount) + ");"
            "requestAnimationFrame(function(){r.innerHTML=" + json.dumps(html) + ";});})();")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("render")
    trap = Listener()
    with Sandbox(parse_world(world(trap.port)), lifetime_s=300) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        result, findings = scan(config, tmp_path)
        yield box, result, findings, config, trap, tmp_path


def codes_of(findings: list[dict], n: int) -> set[str]:
    return {f["check"] for f in findings if f["website_number"] == f"京ICP备21000001号-{n}"}


def observation(config: Path, n: int) -> dict:
    from sqlalchemy import select

    from core.config import load_config
    from scanner.store.db import Store
    from scanner.store.models import Observation, Website

    store = Store(load_config(config).database)
    with store.session() as session:
        website = session.scalars(select(Website).where(Website.website_number == f"京ICP备21000001号-{n}")).one()
        row = session.scalars(select(Observation).where(Observation.website_id == website.id)
                              .order_by(Observation.id.desc())).first()
        data = json.loads(__import__("zlib").decompress(row.data))
    store.dispose()
    return data


def test_footers_written_by_scripts_are_found(rendered):
    _box, result, findings, config, _trap, _tmp = rendered
    for n in (1, 2, 3):
        assert not codes_of(findings, n) & {"filing.number_missing", "filing.link_missing"}, (n, codes_of(findings, n))
        render = observation(config, n)["page"]["render"]
        assert render["state"] == "rendered" and "静态 HTML 中没有可见的备案号" in render["static_lacked"]
        assert render["static"]["numbers"] == []
    assert observation(config, 3)["page"]["render"]["static"]["app_shell"] is True
    assert "rendered" in result.stdout


def test_a_real_missing_number_on_an_app_shell_is_still_reported(rendered):
    _box, _result, findings, config, _trap, _tmp = rendered
    missing = [f for f in findings if f["website_number"] == "京ICP备21000001号-4" and f["check"] == "filing.number_missing"]
    assert len(missing) == 1
    assert missing[0]["evidence"]["rendered"]["state"] == "rendered"
    assert "版权所有" in observation(config, 4)["page"]["text"]


def test_rendered_pages_never_reach_disallowed_addresses(rendered):
    _box, _result, findings, config, trap, _tmp = rendered
    assert trap.connects == 0
    render = observation(config, 5)["page"]["render"]
    blocked = " ".join(render.get("blocked", []))
    assert "inner.reach.cn" in blocked and "127.0.0.1" in blocked
    assert "filing.number_missing" in codes_of(findings, 5)  # rendered fine: its number really is missing


def test_a_page_that_cannot_be_rendered_in_budget_is_not_checked(rendered):
    _box, _result, findings, config, _trap, _tmp = rendered
    assert not codes_of(findings, 6) & {"filing.number_missing", "filing.link_missing", "site.placeholder"}
    render = observation(config, 6)["page"]["render"]
    assert render["state"] == "failed" and "超时" in render["reason"]


def test_a_page_still_loading_at_its_deadline_is_judged_on_what_it_drew(rendered):
    """A sub-resource that never answers (a dead tracker or CDN) holds the load event back; the page is judged
    on what it shows by then, as a visitor sees it, not left unchecked (real pages: tests/corpus/real c-001)."""
    _box, _result, findings, config, _trap, _tmp = rendered
    render = observation(config, 7)["page"]["render"]
    assert render["state"] == "rendered", render
    assert "filing.link_missing" in codes_of(findings, 7)


def test_without_chromium_the_scan_says_so_and_reports_static_results(rendered, tmp_path):
    box, _result, _findings, _config, _trap, _ = rendered
    config = write_config(box, tmp_path, {"render": {"chromium_path": str(tmp_path / "no-chromium")}})
    import_world_registry(box, config, tmp_path)
    result, findings = scan(config, tmp_path, "--website", "京ICP备21000001号-1", "--website", "京ICP备21000001号-3")
    assert "rendering off" in result.stdout + result.stderr
    assert "filing.number_missing" in codes_of(findings, 1)  # static result: the footer is not in the HTML
    assert "filing.number_missing" not in codes_of(findings, 3)  # an app shell is never judged on its shell


def _chromium_pids() -> list[int]:
    """Chromium processes descended from this test process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        names[int(entry)] = name
    mine = []
    for pid, name in names.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != os.getpid():
            ancestor = parents.get(ancestor)
        if ancestor == os.getpid() and "chrom" in name:
            mine.append(pid)
    return mine


def test_the_renderer_survives_a_browser_crash():
    path = _CHROMIUM
    document = Fetched(200, {"content-type": "text/html; charset=utf-8"},
                       page("<div id='app'></div><script>document.getElementById('app').textContent = '京ICP备21000001号-1';"
                            "</script>").encode())

    async def no_fetch(*_args) -> Fetched:
        raise AssertionError("nothing to fetch")

    async def run() -> list:
        renderer = Renderer(RenderConfig(timeout_s=10), path, "beian-scanner-test")
        try:
            first = await renderer.render("https://crash.test/", document, no_fetch)
            pids = _chromium_pids()
            assert pids, "a browser is running"
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):  # its parent's death may have taken it already
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            second = await renderer.render("https://crash.test/", document, no_fetch)
            third = await renderer.render("https://crash.test/", document, no_fetch)
            return [first, second, third, dict(renderer.stats)]
        finally:
            await renderer.close()

    first, second, third, stats = asyncio.run(run())
    assert first.state == "rendered" and "京ICP备21000001号-1" in first.html
    assert third.state == "rendered" and "京ICP备21000001号-1" in third.html
    assert second.state in ("rendered", "failed")  # the page in flight may fail; the next one renders again
    assert stats["pages"] == 3


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_the_browser_runs_unprivileged_with_its_sandbox_on():
    """Every Chromium process of a render has a non-root uid (real, effective, saved, filesystem), none was
    started with --no-sandbox, and its renderers are sandboxed: in a user namespace of their own, under
    seccomp-bpf. Rendering still works."""
    document = Fetched(200, {"content-type": "text/html; charset=utf-8"},
                       page("<div id='app'></div><script>document.getElementById('app').textContent = '京ICP备21000001号-1';"
                            "</script>").encode())

    async def no_fetch(*_args) -> Fetched:
        raise AssertionError("nothing to fetch")

    async def run() -> tuple:
        renderer = Renderer(RenderConfig(timeout_s=10), _CHROMIUM, "beian-scanner-test")
        try:
            result = await renderer.render("https://sandbox.test/", document, no_fetch)
            seen = {}
            for pid in _chromium_pids():
                try:
                    seen[pid] = (_status(pid), Path(f"/proc/{pid}/cmdline").read_bytes(),
                                 os.readlink(f"/proc/{pid}/ns/user"))
                except OSError:
                    continue  # a helper that just exited
            return result, seen
        finally:
            await renderer.close()

    result, seen = asyncio.run(run())
    assert result.state == "rendered" and "京ICP备21000001号-1" in result.html, result.reason
    assert len(seen) >= 3, "a browser, its zygote and a renderer"
    for pid, (status, cmdline, _ns) in seen.items():
        uids = [int(u) for u in status["Uid"].split()]
        assert 0 not in uids, f"chromium process {pid} ({status['Name']}) runs with uid {uids}"
        assert b"--no-sandbox" not in cmdline, f"chromium process {pid} started without its sandbox"
    own_namespace = os.readlink("/proc/self/ns/user")
    sandboxed = [pid for pid, (status, _cmd, ns) in seen.items() if ns != own_namespace and status.get("Seccomp") == "2"]
    assert sandboxed, "no renderer in Chromium's namespace + seccomp sandbox"


def test_a_page_that_navigates_away_while_rendered_is_not_judged_on_the_error_page():
    """A form submitted or location.replace() at load: the navigation is refused, which leaves Chromium's own
    error page (ERR_BLOCKED_BY_CLIENT) in the tab; judging that would be a false filing.number_missing."""
    path = _CHROMIUM
    leaving = {
        "replace": page("<p>欢迎</p><script>location.replace('/zh/index.html')</script>"),
        "submit": page("<form id='f' action='/go' method='post'><input name='a' value='1'></form>"
                       "<script>document.getElementById('f').submit()</script>"),
    }

    async def no_fetch(*_args) -> Fetched:
        raise AssertionError("nothing to fetch")

    async def run() -> dict:
        renderer = Renderer(RenderConfig(timeout_s=10), path, "beian-scanner-test")
        try:
            return {name: await renderer.render("https://leave.test/", Fetched(200, {"content-type": "text/html"},
                                                                                html.encode()), no_fetch)
                    for name, html in leaving.items()}
        finally:
            await renderer.close()

    for name, outcome in asyncio.run(run()).items():
        assert outcome.state == "failed" and "跳转离开" in outcome.reason, (name, outcome.state, outcome.reason)
