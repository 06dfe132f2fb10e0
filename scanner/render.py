"""Headless Chromium for homepages whose footer or content exists only after JavaScript runs.

The browser does no networking of its own. It starts with `--host-resolver-rules=MAP * ~NOTFOUND`
(it can resolve nothing), background networking, sync, component updates and non-proxied WebRTC off,
and every request a page makes is intercepted: the homepage document is answered with the bytes the
crawl already fetched, and each sub-resource is fetched by the crawl itself (the `fetch` callable),
through the same DNS view and address guard as any other request. WebSockets are refused.

Bounded per page (time, bytes, requests) and per scan (pages); a page that cannot be rendered within
its budget, or whose renderer crashes, comes back as `failed`: "could not check", never a violation.
A browser that dies is started again for the next page, a few times per scan.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scanner.config import RenderConfig

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MAX_RELAUNCHES = 5
SETTLE_S = 0.5  # no request in flight for this long: the page has settled
MIN_AFTER_DOM_S = 1.0  # scripts that insert the footer on a short timer
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


class Renderer:
    """One browser per scan, started on first use; `pages` pages at a time."""

    def __init__(self, config: RenderConfig, executable: str, user_agent: str) -> None:
        self.config = config
        self.executable = executable
        self.user_agent = user_agent
        self.stats: Counter[str] = Counter()
        self.off_reason = ""
        self._pool = asyncio.Semaphore(config.pages)
        self._launch_lock = asyncio.Lock()
        self._playwright = None
        self._browser = None
        self._launches = 0

    @property
    def exhausted(self) -> bool:
        return bool(self.off_reason) or self.stats["pages"] >= self.config.max_pages

    async def render(self, url: str, document: Fetched, fetch: Fetch) -> Rendered:
        """Render `url`, answering its document with `document` and every other request with `fetch`."""
        self.stats["pages"] += 1
        async with self._pool:
            started = time.monotonic()
            try:
                browser = await self._ensure_browser()
            except Exception as exc:  # noqa: BLE001 - the scan goes on with static results
                self.stats["failed"] += 1
                return Rendered("failed", reason=f"浏览器无法启动：{_one_line(exc)}")
            session = _PageSession(self.config, url, document, fetch)
            try:
                result = await asyncio.wait_for(session.run(browser, self.user_agent), self.config.timeout_s)
            except TimeoutError:
                result = session.outcome("failed", f"渲染超时（{self.config.timeout_s:g} 秒）")
            except Exception as exc:  # noqa: BLE001 - a crash or protocol error: could not check
                if not browser.is_connected():
                    self.stats["crashes"] += 1
                result = session.outcome("failed", f"渲染失败：{_one_line(exc)}")
            finally:
                await session.close()
            result.ms = round((time.monotonic() - started) * 1000)
            self.stats[result.state] += 1
            self.stats["requests"] += result.requests
            self.stats["blocked"] += len(result.blocked)
            self.stats["wall_ms"] += result.ms
            return result

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
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, args=BROWSER_ARGS, headless=True, timeout=30_000
            )
            return self._browser

    async def close(self) -> None:
        for closer in (getattr(self._browser, "close", None), getattr(self._playwright, "stop", None)):
            if closer is None:
                continue
            try:
                await asyncio.wait_for(closer(), 10)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._browser = self._playwright = None


class _PageSession:
    """One page in its own browser context: routes every request, waits for it to settle, snapshots it."""

    def __init__(self, config: RenderConfig, url: str, document: Fetched, fetch: Fetch) -> None:
        self.config = config
        self.url = url
        self.document = document
        self.fetch = fetch
        self.context = None
        self.requests = 0
        self.bytes = 0
        self.blocked: list[str] = []
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.deadline = time.monotonic() + config.timeout_s
        self.navigated = False

    def outcome(self, state: str, reason: str = "", html: str = "") -> Rendered:
        return Rendered(state, html=html, reason=reason, requests=self.requests, bytes=self.bytes,
                        blocked=list(self.blocked))  # fmt: skip

    async def run(self, browser, user_agent: str) -> Rendered:
        self.context = await browser.new_context(
            user_agent=user_agent, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900},
            service_workers="block", accept_downloads=False, ignore_https_errors=True,
        )  # fmt: skip
        await self.context.route_web_socket("**/*", _refuse_websocket)
        await self.context.route("**/*", self._route)
        page = await self.context.new_page()
        crashed = asyncio.get_running_loop().create_future()
        page.on("crash", lambda _page: crashed.done() or crashed.set_result(True))
        self.context.on("page", lambda other: other is page or asyncio.ensure_future(other.close()))
        await self._race(page.goto(self.url, wait_until="domcontentloaded"), crashed)
        dom_ready = time.monotonic()
        while True:
            if crashed.done():
                raise RuntimeError("页面渲染进程崩溃")
            now = time.monotonic()
            quiet = self.in_flight == 0 and now - self.last_activity >= SETTLE_S
            if quiet and now - dom_ready >= MIN_AFTER_DOM_S:
                break
            await asyncio.sleep(0.05)
        html = await self._race(page.evaluate(SNAPSHOT_JS, MAX_DOM_CHARS), crashed)
        return self.outcome("rendered", html=html)

    @staticmethod
    async def _race(awaitable, crashed: asyncio.Future):
        task = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait({task, crashed}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            task.cancel()
            raise RuntimeError("页面渲染进程崩溃")
        return task.result()

    async def _route(self, route) -> None:
        request = route.request
        url = request.url
        try:
            if request.is_navigation_request() and request.frame.parent_frame is None:
                if self.navigated:
                    self._block(url, "页面跳转（渲染时不跟随）")
                    return await route.abort("blockedbyclient")
                self.navigated = True
                return await route.fulfill(status=self.document.status, headers=self.document.headers,
                                           body=self.document.body)  # fmt: skip
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
                                           remaining_bytes)  # fmt: skip
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

    async def close(self) -> None:
        if self.context is not None:
            try:
                await asyncio.wait_for(self.context.close(), 10)
            except Exception:  # noqa: BLE001 - the browser may be gone; it is started again next time
                pass


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
