"""Evidence screenshots: the homepage as the crawl saw it, for websites with a filing.* or content.* finding.

Crawl, then judge, then shoot: the checks stay pure (they read the observation, never an image). After the
judge found such a finding (scanner.pipeline.ScreenshotPipeline), the homepage is loaded once more in the
scan's own headless Chromium (spiders.render), answered with the document bytes the crawl fetched and every
other request fetched by the crawl itself, through its DNS view and address guard (the spider's
`_subresource`), exactly as rendering does. Two JPEG images are kept: the first viewport (1366×900) and the
footer region (the bottom FOOTER_PX of the page, scrolled to; none when the page fits the first viewport).

Bounded: `screenshots.max_per_scan` websites per scan, `screenshots.concurrency` pages at once beside the
crawl's rendering (in the same page pool), each within render.timeout_s; quality is lowered step by step
until an image fits `screenshots.max_kb` (at most 150 KB), and an image that fits at no quality is not kept.
Off the hot path: the item goes on to the store at once; the screenshot is taken in the background and
stored on its own (scanner.store.screenshots). A screenshot that fails is recorded as failed with its reason;
it never costs the observation or a finding. The scan waits for screenshots still running before it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.config import RenderConfig, ScreenshotsConfig
from spiders.render import Fetch, Fetched, Rendered, _PageSession, _Slot

FOOTER_PX = 600
EVIDENCE_PREFIXES = ("filing.", "content.")
SCROLL_BOTTOM_JS = "(y) => new Promise(done => { window.scrollTo(0, y); requestAnimationFrame(() => done()); })"
PAGE_HEIGHT_JS = ("() => Math.max(document.documentElement ? document.documentElement.scrollHeight : 0,"
                  " document.body ? document.body.scrollHeight : 0)")


def evidence_codes(outcomes, notified: Callable[[str], bool]) -> list[str]:
    """The filing.* and content.* checks that found something and open cases (`notified`; informational ones
    such as filing.psb_missing do not, unless [notices] include_codes names them): what a screenshot is for."""
    return sorted({o.code for o in outcomes if o.state == "failed" and o.findings
                   and o.code.startswith(EVIDENCE_PREFIXES) and notified(o.code)})


def qualities(start: int) -> list[int]:
    """The JPEG qualities tried, best first, down to 10."""
    steps = [start, round(start * 0.75), 40, 25, 15, 10]
    return sorted({q for q in steps if 10 <= q <= start}, reverse=True)


class ShotSession(_PageSession):
    """A page load like rendering's (same routes, budget and guard) that ends in screenshots, not a DOM."""

    def __init__(self, config: RenderConfig, shots: ScreenshotsConfig, url: str, document: Fetched, fetch: Fetch) -> None:
        super().__init__(config, url, document, fetch)
        self.shots = shots

    async def capture(self, slot: _Slot) -> Rendered:
        page = slot.page
        await page.evaluate("() => window.scrollTo(0, 0)")
        images: dict[str, bytes] = {}
        too_large: list[str] = []
        viewport = await self._fit(page, None)
        if viewport is None:
            too_large.append("viewport")
        else:
            images["viewport"] = viewport
        size = page.viewport_size or {"width": 1366, "height": 900}
        height = int(await page.evaluate(PAGE_HEIGHT_JS) or 0)
        if height > size["height"]:
            # scrolled to the bottom, the footer region is a clip of the viewport: no capture beyond it (a tall
            # page laid out at full height costs the browser several times more)
            await page.evaluate(SCROLL_BOTTOM_JS, height)
            clip = {"x": 0, "y": size["height"] - FOOTER_PX, "width": size["width"], "height": FOOTER_PX}
            footer = await self._fit(page, clip)
            if footer is None:
                too_large.append("footer")
            else:
                images["footer"] = footer
        if not images:
            return self.outcome("failed", f"截图压缩后仍超过 {self.shots.max_kb} KB")
        result = self.outcome("rendered", "" if not too_large else f"超过 {self.shots.max_kb} KB，未保存：{'、'.join(too_large)}")
        result.images = images
        return result

    async def _fit(self, page, clip: dict | None) -> bytes | None:
        """The region as JPEG at the best quality that fits max_kb; None when none does."""
        limit = self.shots.max_kb * 1024
        for quality in qualities(self.shots.quality):
            data = await page.screenshot(type="jpeg", quality=quality, clip=clip, caret="hide", timeout=5000)
            if len(data) <= limit:
                return data
        return None


@dataclass
class Shot:
    """One website's screenshot outcome, handed to the store."""

    website_number: str
    url: str
    codes: list[str]
    state: str  # taken | failed
    reason: str
    images: dict[str, bytes]
    ms: int
    blocked: list[str]


class Shooter:
    """Takes the scan's screenshots in the background, bounded, and hands each to `save` (run in a thread)."""

    def __init__(self, config: ScreenshotsConfig, render_config: RenderConfig, renderer, save: Callable[[Shot], None],
                 notified: Callable[[str], bool] = lambda _code: True) -> None:
        self.config = config
        self.notified = notified
        self.render_config = render_config
        self.renderer = renderer  # spiders.render.RenderThread (or a Renderer, in tests)
        self.save = save
        self.stats: Counter[str] = Counter()
        self.tasks: set[asyncio.Task] = set()
        self.on_idle: Callable[[], None] = lambda: None  # the spider wakes the engine when the last one ends
        self._gate: asyncio.Semaphore | None = None

    @property
    def pending(self) -> int:
        return len(self.tasks)

    def offer(self, website_number: str, outcomes, page: tuple | None) -> bool:
        """A judged website: schedule its screenshot when it has evidence codes, a page and room under the cap.
        `page` is (url, document, fetch, done) from the spider; `done()` is called whatever happens."""
        if page is None:
            return False
        url, document, fetch, done = page
        codes = evidence_codes(outcomes, self.notified)
        if not codes or self.renderer is None or getattr(self.renderer, "off_reason", ""):
            done()
            return False
        if self.stats["scheduled"] >= self.config.max_per_scan:
            self.stats["capped"] += 1
            done()
            return False
        self.stats["scheduled"] += 1
        task = asyncio.ensure_future(self._take(website_number, codes, url, document, fetch, done))
        self.tasks.add(task)
        task.add_done_callback(self._ended)
        return True

    def _ended(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self.on_idle()

    async def _take(self, website_number: str, codes: list[str], url: str, document: Fetched, fetch: Fetch,
                    done: Callable[[], None]) -> None:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.config.concurrency)
        started = time.monotonic()
        try:
            async with self._gate:
                result = await self._shoot(url, document, fetch)
        except Exception as exc:  # noqa: BLE001 - a screenshot never costs the scan anything
            result = Rendered("failed", reason=f"截图失败：{type(exc).__name__}: {str(exc)[:150]}")
        finally:
            done()
        state = "taken" if result.state == "rendered" and result.images else "failed"
        shot = Shot(website_number, url, codes, state, result.reason, result.images,
                    round((time.monotonic() - started) * 1000), result.blocked[:10])
        self.stats[state] += 1
        self.stats["bytes"] += sum(len(v) for v in shot.images.values())
        self.stats["blocked"] += len(result.blocked)
        try:
            await asyncio.to_thread(self.save, shot)
        except Exception:  # noqa: BLE001 - the store is down: the observation was written on its own
            self.stats["save_failed"] += 1

    async def _shoot(self, url: str, document: Fetched, fetch: Fetch) -> Rendered:
        def session(on_loop_fetch: Fetch) -> ShotSession:
            return ShotSession(self.render_config, self.config, url, document, on_loop_fetch)

        if hasattr(self.renderer, "loop"):  # a RenderThread: the browser lives on its own loop
            return await self.renderer.visit(session, fetch)
        return await self.renderer.visit(lambda: session(fetch))

    async def drain(self, timeout_s: float) -> None:
        """Wait for screenshots still running (at most `timeout_s`), then cancel the rest."""
        if self.tasks:
            _done, late = await asyncio.wait(set(self.tasks), timeout=timeout_s)
            for task in late:
                task.cancel()
                self.stats["cancelled"] += 1

    def report(self) -> dict:
        """Flat numbers for the scan's render stats (summed over workers)."""
        return {f"screenshots_{k}": v for k, v in self.stats.items()}
