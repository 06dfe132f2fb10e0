"""Headless Chromium for homepages whose footer or content exists only after JavaScript runs.

The browser does no networking of its own. It starts with `--host-resolver-rules=MAP * ~NOTFOUND`
(it can resolve nothing), background networking, sync, component updates and non-proxied WebRTC off,
and every request a page makes is intercepted: the homepage document is answered with the bytes the
crawl already fetched, and each sub-resource is fetched by the crawl itself (the `fetch` callable),
through the same DNS view and address guard as any other request. WebSockets are refused.

Bounded per page (time, bytes, requests) and per scan (pages); a page that cannot be rendered within
its budget, or whose renderer crashes, comes back as `failed`: "could not check", never a violation.
A browser that dies is started again for the next page, a few times per scan.

The browser never runs as root, and always with its own sandbox (no `--no-sandbox`). A scan running as
root starts Chromium through a small launcher that hands the browser's profile folder to the unprivileged
user `render.user` (default `beian-render`, created as a system user with useradd when missing), drops to
that user (no supplementary groups, no capabilities) and execs Chromium; the playwright driver stays in the
scan's process tree. Chromium's sandbox then works the Debian way, in unprivileged user namespaces.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config import RenderConfig

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MAX_RELAUNCHES = 5
SETTLE_S = 0.3  # after the load event, no request in flight for this long: the page has settled
# A sub-resource that never answers (a tracker, a dead CDN) holds the load event back for ever: this long before
# the page's deadline, what the page shows by then is snapshotted and judged, as a visitor would see it.
SNAPSHOT_MARGIN_S = 1.5
MAX_DOM_CHARS = 4 * 1024 * 1024
SKIPPED_TYPES = {"image", "media", "font", "manifest", "texttrack", "beacon", "ping", "eventsource", "other"}
BROWSER_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-first-run",
    "--no-pings",
    "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication",
    "--mute-audio",
    "--js-flags=--max-old-space-size=256",
]
# Marks what CSS hides, so the page facts drop it as they drop inline-hidden markup, then returns the DOM.
SNAPSHOT_JS = """(max) => {
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') el.setAttribute('hidden', '');
  }
  const html = document.documentElement.outerHTML;
  return html.length > max ? html.slice(0, max) : html;
}"""


class Blocked(Exception):
    """A sub-resource the crawl would not fetch (address policy, DNS); str() says why."""


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Rendered:
    state: str  # rendered | failed
    html: str = ""
    reason: str = ""
    ms: int = 0
    requests: int = 0
    bytes: int = 0
    blocked: list[str] = field(default_factory=list)  # "url: why", the first few
    images: dict[str, bytes] = field(default_factory=dict)  # screenshots (spiders.screenshot), by region

    def evidence(self) -> dict:
        data = {"state": self.state, "ms": self.ms, "requests": self.requests, "bytes": self.bytes}
        if self.reason:
            data["reason"] = self.reason
        if self.blocked:
            data["blocked"] = self.blocked[:10]
        return data


Fetch = Callable[[str, str, dict[str, str], bytes | None, float, int], Awaitable[Fetched]]


def find_chromium(config: RenderConfig) -> str | None:
    for candidate in (config.chromium_path, os.environ.get("BEIAN_CHROMIUM", "")):
        if candidate:
            return candidate if os.access(candidate, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def availability(config: RenderConfig) -> tuple[str | None, str]:
    """(Chromium path, "") when rendering can run, else (None, why it is off)."""
    if config.enabled == "off":
        return None, "rendering off (render.enabled = false)"
    if config.max_pages == 0:
        return None, "rendering off (render.max_pages = 0)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return None, "rendering off: the playwright package is not installed"
    path = find_chromium(config)
    if path is None:
        where = config.chromium_path or os.environ.get("BEIAN_CHROMIUM") or "PATH"
        return None, f"rendering off: no Chromium found ({where}); install Debian's chromium or set render.chromium_path"
    return path, ""


class RenderSetupError(Exception):
    """The browser cannot be started as an unprivileged user; str() is one line."""


LAUNCHER = """#!{python} -I
# beian-scanner: start Chromium as {user} (uid {uid}) with its sandbox on; written for one scan.
import os, sys
args = sys.argv[1:]
profile = next((a.split("=", 1)[1] for a in args if a.startswith("--user-data-dir=")), "")
if profile:
    for root, dirs, files in os.walk(profile):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), {uid}, {gid})
    os.chown(profile, {uid}, {gid})
    os.environ.update(HOME=profile, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
os.environ.update(USER={user!r}, LOGNAME={user!r})
os.setgroups([])
os.setresgid({gid}, {gid}, {gid})
os.setresuid({uid}, {uid}, {uid})
if os.getuid() == 0 or os.geteuid() == 0:
    sys.exit("beian-scanner: refusing to start Chromium as root")
os.execv({chromium!r}, [{chromium!r}, *args])
"""


def render_account(name: str) -> pwd.struct_passwd:
    """The unprivileged user the browser runs as; created (system user, no home, no login) when missing."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        try:
            done = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                                   "--shell", "/usr/sbin/nologin", "--comment", "beian-scanner headless Chromium", name],
                                  capture_output=True, text=True, timeout=30)
        except OSError as exc:
            raise RenderSetupError(f"cannot create the user {name} for the browser: {exc.strerror}") from None
        try:
            account = pwd.getpwnam(name)  # (another scan process may have created it at the same moment)
        except KeyError:
            why = (done.stderr.strip().splitlines() or [f"useradd exit {done.returncode}"])[-1]
            raise RenderSetupError(f"cannot create the user {name} for the browser: {why}") from None
    if account.pw_uid == 0 or account.pw_gid == 0:
        raise RenderSetupError(f"render.user {name} is root or in group root: the browser must not run as root")
    return account


def unprivileged_launcher(executable: str, user: str) -> tuple[str, str]:
    """(program to start, folder to remove afterwards): `executable` itself when we are not root, else a
    launcher in a private folder that drops to `user` first."""
    if os.geteuid() != 0:
        return executable, ""
    account = render_account(user)
    folder = tempfile.mkdtemp(prefix="beian-render-")  # 0700, root's: only root runs the launcher
    path = os.path.join(folder, "chromium")
    with open(path, "w", encoding="utf-8") as out:
        out.write(LAUNCHER.format(python=sys.executable, user=account.pw_name, uid=account.pw_uid,
                                  gid=account.pw_gid, chromium=os.path.realpath(executable)))
    os.chmod(path, 0o700)
    return path, folder


class _Slot:
    """A browser context with one page, reused page after page: a fresh context per page would cost
    the browser three times the CPU. Its route handler serves whichever page session is current."""

    def __init__(self, browser, context, page) -> None:
        self.browser = browser
        self.context = context
        self.page = page
        self.session: _PageSession | None = None
        self.crashed = False

    @classmethod
    async def open(cls, browser, user_agent: str) -> _Slot:
        context = await browser.new_context(
            user_agent=user_agent, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900},
            service_workers="block", accept_downloads=False, ignore_https_errors=True,
        )
        slot = cls(browser, context, None)
        await context.route_web_socket("**/*", _refuse_websocket)
        await context.route("**/*", slot._route)
        slot.page = await context.new_page()
        slot.page.on("crash", lambda _page: setattr(slot, "crashed", True))
        context.on("page", lambda other: other is slot.page or asyncio.ensure_future(other.close()))
        return slot

    @property
    def usable(self) -> bool:
        return not self.crashed and self.browser.is_connected() and not self.page.is_closed()

    async def _route(self, route) -> None:
        session = self.session
        if session is None:  # between pages: whatever the last page still tries, nothing is fetched
            await _quietly(route.abort("blockedbyclient"))
            return
        await session.route(route)

    async def reset(self) -> None:
        """Between pages: drop the last site's cookies. Its page lives on until the next navigation, but
        with no session current every request it makes is refused."""
        await self.context.clear_cookies()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.context.close(), 10)
        except Exception:  # noqa: BLE001 - the browser may be gone; it is started again next time
            pass


class Renderer:
    """One browser per scan, started on first use; `pages` pages at a time, each in a reused slot."""

    def __init__(self, config: RenderConfig, executable: str, user_agent: str) -> None:
        self.config = config
        self.executable = executable
        self.user_agent = user_agent
        self.stats: Counter[str] = Counter()
        self.off_reason = ""
        self._pool = asyncio.Semaphore(config.pages)
        self._idle: list[_Slot] = []
        self._launch_lock = asyncio.Lock()
        self._playwright = None
        self._browser = None
        self._launches = 0
        self._launcher = ""
        self._launcher_folder = ""

    @property
    def exhausted(self) -> bool:
        return bool(self.off_reason) or self.stats["pages"] >= self.config.max_pages

    async def render(self, url: str, document: Fetched, fetch: Fetch) -> Rendered:
        """Render `url`, answering its document with `document` and every other request with `fetch`."""
        self.stats["pages"] += 1
        result = await self.visit(lambda: _PageSession(self.config, url, document, fetch))
        self.stats[result.state] += 1
        self.stats["requests"] += result.requests
        self.stats["blocked"] += len(result.blocked)
        self.stats["wall_ms"] += result.ms
        return result

    async def visit(self, make_session: Callable[[], _PageSession]) -> Rendered:
        """Run the page session `make_session()` in a slot of the pool, within render.timeout_s (the session is
        made once a slot is free: its budget starts then). Rendering and evidence screenshots
        (spiders.screenshot) share the browser, its slots and its network rules."""
        async with self._pool:
            started = time.monotonic()
            try:
                slot = await self._slot()
            except Exception as exc:  # noqa: BLE001 - the scan goes on with static results
                return Rendered("failed", reason=f"浏览器无法启动：{_one_line(exc)}")
            session = make_session()
            healthy = False
            try:
                result = await asyncio.wait_for(session.run(slot), self.config.timeout_s)
                healthy = True
            except TimeoutError:
                result = session.outcome("failed", f"渲染超时（{self.config.timeout_s:g} 秒）")
            except Exception as exc:  # noqa: BLE001 - a crash or protocol error: could not check
                if not slot.browser.is_connected():
                    self.stats["crashes"] += 1
                result = session.outcome("failed", f"渲染失败：{_one_line(exc)}")
            finally:
                slot.session = None
            await self._release(slot, healthy)
            result.ms = round((time.monotonic() - started) * 1000)
            return result

    async def _slot(self) -> _Slot:
        while self._idle:
            slot = self._idle.pop()
            if slot.usable:
                return slot
            await slot.close()
        browser = await self._ensure_browser()
        return await _Slot.open(browser, self.user_agent)

    async def _release(self, slot: _Slot, healthy: bool) -> None:
        """Back to the pool after a clean page; a page that timed out (a script that never ends) or
        crashed takes its context with it."""
        if healthy and slot.usable:
            try:
                await asyncio.wait_for(slot.reset(), 5)
                self._idle.append(slot)
                return
            except Exception:  # noqa: BLE001 - not reusable; closed below
                pass
        await slot.close()

    async def _ensure_browser(self):
        async with self._launch_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._launches >= MAX_RELAUNCHES:
                self.off_reason = f"rendering stopped: the browser died {self._launches} times in this scan"
                raise RuntimeError(self.off_reason)
            if self._playwright is None:
                from playwright.async_api import async_playwright

                self._playwright = await async_playwright().start()
            self._launches += 1
            if not self._launcher:
                self._launcher, self._launcher_folder = unprivileged_launcher(self.executable, self.config.user)
            self._browser = await self._playwright.chromium.launch(
                executable_path=self._launcher, args=BROWSER_ARGS, headless=True, timeout=30_000,
                chromium_sandbox=True,
            )
            return self._browser

    async def close(self) -> None:
        for slot in self._idle:
            await slot.close()
        self._idle.clear()
        for closer in (getattr(self._browser, "close", None), getattr(self._playwright, "stop", None)):
            if closer is None:
                continue
            try:
                await asyncio.wait_for(closer(), 10)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._browser = self._playwright = None
        if self._launcher_folder:
            shutil.rmtree(self._launcher_folder, ignore_errors=True)
            self._launcher = self._launcher_folder = ""


class RenderThread:
    """A Renderer on its own event loop in its own thread. A page costs dozens of protocol round trips
    to the browser; on the crawl's loop, busy with thousands of sites, each would wait its turn behind
    the crawl's work. The page's requests still go to the crawl: `fetch` runs on the caller's loop."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="render", daemon=True)
        self.thread.start()

    @property
    def stats(self) -> Counter[str]:
        return self.renderer.stats

    @property
    def off_reason(self) -> str:
        return self.renderer.off_reason

    @property
    def exhausted(self) -> bool:
        return self.renderer.exhausted

    async def render(self, url: str, document: Fetched, fetch: Fetch) -> Rendered:
        job = asyncio.run_coroutine_threadsafe(self.renderer.render(url, document, self._on_caller(fetch)), self.loop)
        return await asyncio.wrap_future(job)

    async def visit(self, make_session: Callable[[Fetch], _PageSession], fetch: Fetch) -> Rendered:
        """Renderer.visit on the browser's loop, for the session `make_session(fetch)`; fetches on the caller's."""
        on_caller = self._on_caller(fetch)
        job = asyncio.run_coroutine_threadsafe(self.renderer.visit(lambda: make_session(on_caller)), self.loop)
        return await asyncio.wrap_future(job)

    @staticmethod
    def _on_caller(fetch: Fetch) -> Fetch:
        caller = asyncio.get_running_loop()

        async def fetch_on_caller(*args) -> Fetched:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fetch(*args), caller))

        return fetch_on_caller

    async def close(self) -> None:
        if not self.thread.is_alive():
            return
        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.renderer.close(), self.loop))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class _PageSession:
    """One page load in a slot: serves its requests, waits for it to settle, snapshots the DOM."""

    def __init__(self, config: RenderConfig, url: str, document: Fetched, fetch: Fetch) -> None:
        self.config = config
        self.url = url
        self.document = document
        self.fetch = fetch
        self.requests = 0
        self.bytes = 0
        self.blocked: list[str] = []
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.deadline = time.monotonic() + config.timeout_s
        self.navigated = False
        self.left_for = ""  # where the page tried to navigate to (refused): what is left is Chromium's error page

    def outcome(self, state: str, reason: str = "", html: str = "") -> Rendered:
        return Rendered(state, html=html, reason=reason, requests=self.requests, bytes=self.bytes,
                        blocked=list(self.blocked))

    async def run(self, slot: _Slot) -> Rendered:
        failed = await self.load(slot)
        return failed or await self.capture(slot)

    async def load(self, slot: _Slot) -> Rendered | None:
        """Load the page and wait for it to settle; a failed outcome when what is left is not the homepage."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        slot.session = self
        snapshot_at = self.deadline - SNAPSHOT_MARGIN_S
        try:
            await slot.page.goto(self.url, wait_until="domcontentloaded", timeout=_ms_until(snapshot_at))
        except PlaywrightTimeout:  # not even the document parsed in budget: could not check (渲染超时)
            raise TimeoutError from None
        try:
            await slot.page.wait_for_load_state("load", timeout=_ms_until(snapshot_at))
        except PlaywrightTimeout:  # still loading something: judged on what is drawn by now
            pass
        loaded = time.monotonic()
        while True:
            if slot.crashed:
                raise RuntimeError("页面渲染进程崩溃")
            now = time.monotonic()
            if self.in_flight == 0 and now - max(self.last_activity, loaded) >= SETTLE_S:
                break
            if now >= snapshot_at:
                break
            await asyncio.sleep(0.05)
        if self.left_for or slot.page.url.startswith("chrome-error:"):
            # a form submitted or location.replace()d away while rendering: the DOM is now Chromium's own error
            # page (ERR_BLOCKED_BY_CLIENT), not the homepage, so it says nothing about the site
            return self.outcome("failed", f"页面在渲染时跳转离开（{(self.left_for or slot.page.url)[:200]}），无法判断")
        return None

    async def capture(self, slot: _Slot) -> Rendered:
        """What the settled page gives: its DOM, for the page facts."""
        html = await slot.page.evaluate(SNAPSHOT_JS, MAX_DOM_CHARS)
        return self.outcome("rendered", html=html)

    async def route(self, route) -> None:
        request = route.request
        url = request.url
        try:
            if request.is_navigation_request() and request.frame.parent_frame is None:
                if self.navigated:
                    self.left_for = url
                    self._block(url, "页面跳转（渲染时不跟随）")
                    return await route.abort("blockedbyclient")
                self.navigated = True
                return await route.fulfill(status=self.document.status, headers=self.document.headers,
                                           body=self.document.body)
            if request.resource_type in SKIPPED_TYPES or request.is_navigation_request():
                return await route.abort("blockedbyclient")  # pictures, fonts, frames: not needed to read the page
            if urlsplit(url).scheme not in ("http", "https"):
                return await route.abort("blockedbyclient")
            if self.requests >= self.config.max_requests:
                self._block(url, "超出单页请求数上限")
                return await route.abort("blockedbyclient")
            remaining_bytes = self.config.max_bytes - self.bytes
            remaining_s = self.deadline - time.monotonic()
            if remaining_bytes <= 0 or remaining_s <= 0.1:
                self._block(url, "超出单页渲染预算")
                return await route.abort("blockedbyclient")
            self.requests += 1
            self.in_flight += 1
            try:
                body = request.post_data_buffer if request.method == "POST" else None
                fetched = await self.fetch(request.method, url, await request.all_headers(), body, remaining_s,
                                           remaining_bytes)
            finally:
                self.in_flight -= 1
                self.last_activity = time.monotonic()
            self.bytes += len(fetched.body)
            await route.fulfill(status=fetched.status, headers=fetched.headers, body=fetched.body)
        except Blocked as exc:
            self._block(url, str(exc))
            await _quietly(route.abort("blockedbyclient"))
        except Exception:  # noqa: BLE001 - a failed sub-resource is what a browser would see too
            await _quietly(route.abort("failed"))

    def _block(self, url: str, why: str) -> None:
        if len(self.blocked) < 50:
            self.blocked.append(f"{url[:200]}: {why}")


def _ms_until(moment: float) -> float:
    """Playwright's timeout (ms) for a wait that must end by `moment` (monotonic); never 0, which means no limit."""
    return max(1.0, (moment - time.monotonic()) * 1000)


async def _refuse_websocket(ws) -> None:
    await _quietly(ws.close())


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - the page or context is already closing
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]
