"""The homepage spider: for each filed website, resolve its domains, fetch its homepage and yield what it saw
(the typed observation, core.observation) with the website's record. It judges nothing: the scan's item
pipeline runs the checks on what it yields.

Per website: every filed domain and the homepage host are resolved (A and AAAA, full CNAME chain) and each
address classified; then the homepage is fetched in lanes: https://<host>/, then http://<host>/, then
(only when the apex gave no page and none of its attempts timed out: it did not resolve, refused or reset
the connection, failed TLS or answered an error, i.e. it answered fast) https and http of www.<apex>. Each
lane follows redirects within the website's filed domains and their subdomains (HTTP and meta refresh, at
most fetch.max_redirects per lane). The http lane starts as soon as the https one has failed, or half the
budget (HTTP_AFTER) after an https request started downloading if it has not answered by then (happy
eyeballs), so a hanging site has both schemes running at once. Results are judged in lane order whatever
order they arrive in: the best one wins (a real page, then a redirect away, then a placeholder, then an
error) and an earlier lane wins a tie, so https is preferred when both give a page. A lane ending in a
page, a redirect away or a redirect loop settles the website; lanes still running are cancelled and listed
as abandoned (an attempt with no failure).

Budget: all requests of one website share one fetch.timeout_s of download time (spiders.download; time
spent waiting for the address's download slot does not count, requests side by side spend it once):
whatever is still running when it is spent fails as a timeout attempt, so no site costs more than one
budget, however many lanes it tried. Retries: Scrapy retries only a connection Twisted reports lost
mid-way, fetch.retries times and within the budget; a reset before the answer, a refused connection and a
timeout are never retried (spiders.settings.RETRY_ON): the lanes are the retries.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from urllib.parse import urljoin, urlsplit

import idna
import scrapy
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DontCloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
)
from scrapy.http import TextResponse
from twisted.internet import error as tx_error
from w3lib.encoding import html_to_unicode

from core import clock
from core.netguard import parse as parse_address
from core.observation import NOT_CONNECTED, Attempt, Fetch, FetchState, Observation, Page, Render
from core.records import SiteRecord
from core.statuses import CANCELLED, PENDING
from spiders.download import Abandoned, Budget
from spiders.page import extract
from spiders.render import Blocked, Fetched
from spiders.resolve import OUR_FAILURES
from spiders.tls import from_response as certificate_of

PREPARE_CONCURRENCY = 64
MAX_ATTEMPTS = 16  # per website, a guard: lanes and their redirect chains are bounded already
# Happy eyeballs: http is started beside an https request that has not answered within this share of the
# budget; a failed https starts it at once. Not sooner: a busy scanner's own queueing makes healthy https
# answers late too (measured under load: a 1 s delay started, then abandoned, http for half the sites).
HTTP_AFTER = 0.5

# Result ranks: the best one decides what the website "is".
R_ERROR, R_HTTP_ERROR, R_PLACEHOLDER, R_OFFSITE, R_PAGE = range(5)


def ascii_host(name: str) -> str:
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


@dataclass
class Lane:
    """One way to the homepage (a scheme and host) and the redirects it follows, one request at a time."""

    url: str
    group: int = 0  # 0: the homepage host; 1: www.<apex>
    started: bool = False
    done: bool = False
    settles: bool = False  # it ended in a page, a redirect away or a redirect loop: later lanes do not count
    current: str = ""  # the URL of its request in flight
    redirects: int = 0
    held: list = field(default_factory=list)  # results that arrived while an earlier lane was still open


@dataclass
class Job:
    record: SiteRecord
    obs: Observation
    home: str  # ascii homepage host
    scope: tuple[str, ...]  # ascii filed domains
    lanes: list[Lane] = field(default_factory=list)
    budget: Budget | None = None
    attempts: list[dict] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    best: tuple[int, dict] | None = None
    fallback: str | None = None  # www.<apex> to try when the apex does not answer
    started: float = field(default_factory=time.monotonic)
    extra_hosts: set[str] = field(default_factory=set)  # resolved for the page's scripts while rendering
    done: bool = False
    timer: asyncio.TimerHandle | None = None

    def consider(self, rank: int, result: dict) -> None:
        if self.best is None or rank > self.best[0]:
            self.best = (rank, result)

    def open_lane(self) -> Lane | None:
        """The first lane not done: the one whose results count next."""
        return next((lane for lane in self.lanes if not lane.done), None)


class HomepageSpider(scrapy.Spider):
    name = "homepage"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.ctx = crawler.beian_context
        crawler.signals.connect(spider._close_renderer, signal=signals.spider_closed)
        crawler.signals.connect(spider._screenshots_running, signal=signals.spider_idle)
        shooter = getattr(spider.ctx, "screenshots", None)
        if shooter is not None:
            shooter.on_idle = spider._wake_engine
        return spider

    def _screenshots_running(self, spider) -> None:
        """Every website is done, but evidence screenshots still fetch through the crawl: stay open for them."""
        shooter = getattr(self.ctx, "screenshots", None)
        if shooter is not None and shooter.pending:
            raise DontCloseSpider

    def _wake_engine(self) -> None:
        """The last screenshot ended: have the engine look at once whether it is idle (not at its next heartbeat)."""
        slot = getattr(self.crawler.engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    async def _close_renderer(self, spider, reason) -> None:
        shooter = getattr(self.ctx, "screenshots", None)
        if shooter is not None:  # a shutdown: the crawl can fetch no more, so what is left fails fast
            await shooter.drain(self.ctx.config.render.timeout_s + 5)
        if self.ctx.renderer is not None:
            await self.ctx.renderer.close()
        if getattr(self.ctx, "registrations", None) is not None:
            await self.ctx.registrations.close()

    # -- feeding ---------------------------------------------------------------------------------------
    async def start(self):
        ctx = self.ctx
        batches = iter(ctx.batches)
        self._gate = asyncio.Semaphore(PREPARE_CONCURRENCY)
        ctx.progress.start()
        upcoming = asyncio.ensure_future(self._next_jobs(batches))
        while True:
            jobs = await upcoming
            if jobs is None:
                break
            upcoming = asyncio.ensure_future(self._next_jobs(batches))
            for job in jobs:
                await self._wait_for_room()
                for output in await self._drain(job):
                    yield output

    async def _wait_for_room(self) -> None:
        """Feed lazily: Scrapy keeps reading start() while the downloader is full, so hold back here and
        a million websites never queue up in memory."""
        engine = self.crawler.engine
        while engine is not None and engine.needs_backout() and engine.running:
            await asyncio.sleep(0.02)

    async def _next_jobs(self, batches) -> list[Job] | None:
        """The next batch, prepared: from the store (ctx.batches), or from a distributed scan's lease queue
        (ctx.feed, scanner.cluster: it waits for work without blocking the crawl in flight)."""
        feed = getattr(self.ctx, "feed", None)
        records = await feed.next_batch() if feed is not None else next(batches, None)
        return await self._prepare_batch(records)

    async def _prepare_batch(self, records: list[SiteRecord] | None) -> list[Job] | None:
        if records is None:
            return None
        return list(await asyncio.gather(*(self._prepare(record) for record in records)))

    async def _prepare(self, record: SiteRecord) -> Job:
        ctx = self.ctx
        home = ascii_host(record.homepage_host)
        names: dict[str, str] = {}  # ascii -> as filed
        for name in [*record.domains, record.homepage_host]:
            if name:
                names.setdefault(ascii_host(name), name)
        fallback = None
        if record.status != PENDING and not home.startswith("www.") and record.homepage_host in record.domains:
            fallback = f"www.{home}"
        lookups = list(names)  # www.<apex> is resolved only if the apex does not answer
        obs = Observation(record.homepage_host, nameservers=[f"{h}:{p}" for h, p in ctx.config.dns.nameservers] or ["system"],
                          at=clock.now().isoformat())
        registrations = getattr(ctx, "registrations", None)
        async with self._gate:
            if registrations is not None and record.status not in (PENDING, CANCELLED):
                answers, obs.domains = await asyncio.gather(
                    asyncio.gather(*(ctx.dns.resolve(name) for name in lookups)), registrations.for_names(record.domains))
            else:
                answers = await asyncio.gather(*(ctx.dns.resolve(name) for name in lookups))
            for answer in answers:
                if answer.name not in names:
                    continue
                entry = answer.record()
                if record.status != PENDING:
                    entry.owners = [await ctx.ownership.classify(address, answer.chain) for address in answer.addresses]
                obs.dns[names[answer.name]] = entry
        job = Job(record, obs, home, tuple(ascii_host(d) for d in record.domains), fallback=fallback)
        job.lanes = [Lane(f"https://{home}/"), Lane(f"http://{home}/")]
        job.budget = Budget(ctx.config.fetch.timeout_s, on_start=lambda request: self._started(job, request))
        return job

    # -- the lanes of one website -------------------------------------------------------------------
    async def _drain(self, job: Job) -> list:
        """Judge what has arrived, in lane order; start the next lane when the open one is done; the item
        when the website is settled. Returns the requests and the item to hand to Scrapy."""
        out: list = []
        while not job.done:
            lane = job.open_lane()
            if lane is None:
                if await self._add_www(job):
                    continue
                out.append(self._finish(job))
                break
            if not lane.started:
                out.extend(self._start(job, lane))
                continue
            if not lane.held:
                break  # its request is in flight
            kind, payload, elapsed_ms = lane.held.pop(0)
            if kind == "response":
                out.extend(await self._on_response(job, lane, payload, elapsed_ms))
            elif kind == "failure":
                self._on_failure(job, lane, payload, elapsed_ms)
            else:  # an attempt that was decided without a request (DNS, the address policy)
                self._record(job, lane, payload)
            if lane.done and lane.settles:
                out.append(self._finish(job))
        return out

    def _start(self, job: Job, lane: Lane) -> list:
        """The open lane's first request, or its attempt when none can be made."""
        lane.started = True
        if job.timer is not None:  # it was set to start this lane beside the one before; no need now
            job.timer.cancel()
            job.timer = None
        outcome = self._request(job, lane, lane.url)
        if isinstance(outcome, dict):
            self._record(job, lane, outcome)
            return []
        return [outcome]

    def _request(self, job: Job, lane: Lane, url: str):
        """A request of `url` for `lane`, or the attempt that says why none is made."""
        if len(job.attempts) >= MAX_ATTEMPTS:
            return {"url": url, "error": f"not fetched: more than {MAX_ATTEMPTS} attempts", "failure": "error",
                    "ours": True}
        host = urlsplit(url).hostname or ""
        answer = self.ctx.dns.cached(host)
        if answer is None or not answer.addresses:
            outcome = answer.outcome if answer else "unresolved"
            return {"url": url, "error": f"dns: {outcome}", "failure": "dns", "ours": outcome in OUR_FAILURES}
        allowed, reason, private = self._screen(answer.addresses)
        if not allowed:
            return {"url": url, "error": f"not fetched: {reason}", "failure": "private" if private else "blocked",
                    "ours": not private}
        lane.current = url
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.failed,
            dont_filter=True,
            meta={"job": job, "lane": lane, "budget": job.budget, "download_slot": allowed[0],
                  "started": time.monotonic(), "handle_httpstatus_all": True, "dont_redirect": True},
        )

    def _record(self, job: Job, lane: Lane, attempt: dict) -> None:
        job.attempts.append(attempt)
        job.consider(R_ERROR, attempt)
        lane.done = True

    def _started(self, job: Job, request) -> None:
        """A request of this website starts downloading (spiders.download): unless it answers within half
        the budget (HTTP_AFTER), the next lane of the same host starts beside it."""
        lane: Lane = request.meta["lane"]
        if job.done or job.timer is not None or job.open_lane() is not lane:
            return
        index = job.lanes.index(lane)
        following = job.lanes[index + 1] if index + 1 < len(job.lanes) else None
        if following is not None and following.group == lane.group and not following.started:
            delay = job.budget.seconds * HTTP_AFTER
            job.timer = asyncio.get_running_loop().call_later(delay, self._wake, job, following)

    def _wake(self, job: Job, lane: Lane) -> None:
        """Happy eyeballs: the earlier lane has not answered in time, start this one beside it."""
        job.timer = None
        if job.done or lane.started or self.crawler.engine is None:
            return
        lane.started = True
        outcome = self._request(job, lane, lane.url)
        if isinstance(outcome, dict):
            lane.held.append(("attempt", outcome, None))  # judged in its turn
        else:
            self.crawler.engine.crawl(outcome)

    async def _deliver(self, job: Job, request, kind: str, payload) -> list:
        """A lane's result has arrived: judge it now if its lane is the open one, else keep it for later."""
        lane: Lane = request.meta["lane"]
        if job.done:
            return []
        lane.current = ""
        lane.held.append((kind, payload, round((time.monotonic() - request.meta["started"]) * 1000)))
        if job.open_lane() is not lane:
            return []
        if job.timer is not None:  # it answered in time: the next lane waits for its turn (or its next request)
            job.timer.cancel()
            job.timer = None
        return await self._drain(job)

    async def _add_www(self, job: Job) -> bool:
        """Add the www.<apex> lanes when the apex gave no page and answered fast (no attempt timed out),
        within what is left of the budget."""
        if not job.fallback or (job.best is not None and job.best[0] > R_HTTP_ERROR):
            return False
        www, job.fallback = job.fallback, None
        if any(a.get("failure") == "timeout" for a in job.attempts) or job.budget.remaining() <= 0:
            return False
        answer = self.ctx.dns.cached(www) or await self.ctx.dns.resolve(www)
        if not answer.addresses:
            return False
        job.lanes.extend([Lane(f"https://{www}/", group=1), Lane(f"http://{www}/", group=1)])
        return True

    def _refusal(self, host: str) -> str:
        """Why the guarded resolver gave Scrapy no address for `host`: the policy's verdicts on the same DNS
        answer ("" when DNS itself gave none)."""
        host = host.lower().rstrip(".").strip("[]")
        if parse_address(host) is not None:
            addresses = [host]
        else:
            answer = self.ctx.dns.cached(ascii_host(host))
            addresses = answer.addresses if answer is not None else []
        allowed, reason, _private = self._screen(addresses)
        return "" if allowed or not addresses else reason

    def _screen(self, addresses: list[str]) -> tuple[list[str], str, bool]:
        """(the addresses the policy allows, why each refused one is refused, whether one was private)."""
        verdicts = [(a, self.ctx.policy.verdict(a)) for a in addresses]
        refused = [(a, v.reason) for a, v in verdicts if not v.allowed]
        return ([a for a, v in verdicts if v.allowed], "; ".join(f"{a}: {why}" for a, why in refused),
                any(why == "private" for _, why in refused))

    async def parse_page(self, response):
        return await self._deliver(response.meta["job"], response.request, "response", response)

    async def _on_response(self, job: Job, lane: Lane, response, elapsed_ms: int) -> list:
        ctx = self.ctx
        attempt = {
            "url": response.url,
            "status": response.status,
            "address": str(response.ip_address) if response.ip_address else None,
            "elapsed_ms": elapsed_ms,
            "bytes": len(response.body),
        }
        job.attempts.append(attempt)
        host = (urlsplit(response.url).hostname or "").lower()
        if response.url.startswith("https://") and host not in job.obs.tls:
            certificate = certificate_of(response, host, getattr(ctx, "trust", None))
            if certificate is not None:
                job.obs.tls[host] = certificate
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            target = urljoin(response.url, location.decode("latin-1").strip())
            attempt["location"] = target
            return await self._redirect(job, lane, response.url, target, "http")
        if response.status >= 400 or response.status < 200:
            attempt["failure"] = "http_status"
            job.consider(R_HTTP_ERROR, {**attempt})
            lane.done = True
            return []
        started = time.process_time()
        text = _decode(response)
        page = facts = extract(text, response.url)
        ctx.timing["parse"] += time.process_time() - started
        target = facts.meta_refresh or facts.script_redirect
        if target and _differs(target, response.url) and len(facts.text) < 300:
            attempt["location"] = target
            return await self._redirect(job, lane, response.url, target, "meta" if facts.meta_refresh else "script")
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        wanted = job.record.status not in (PENDING, CANCELLED)
        lacked = render_wanted(page, content_type, ctx.is_placeholder) if wanted else []
        if lacked and ctx.renderer is not None and not ctx.renderer.exhausted:
            page = await self._render(job, response, page, lacked)
        elif lacked:
            page.render = Render("off", reason=ctx.render_off or "本次扫描的渲染页数已达上限", static_lacked=lacked)
        result = {**attempt, "page": page, "content_type": content_type}
        if getattr(ctx, "screenshots", None) is not None:  # kept until the website is judged, for its evidence
            result["document"] = Fetched(response.status, browser_headers(response.headers), response.body)
        lane.done = True
        if ctx.is_placeholder(page):
            job.consider(R_PLACEHOLDER, result)
            return []
        job.consider(R_PAGE, result)
        lane.settles = True
        return []

    # -- rendering -------------------------------------------------------------------------------------
    async def _render(self, job: Job, response, static: Page, lacked: list[str]) -> Page:
        """The page as a browser shows it, when the static HTML lacks what the checks look for. The
        rendered facts replace the static ones; when rendering fails, the static facts stay with the
        render's reason (the checks that need a readable page then say "could not check")."""
        ctx = self.ctx
        document = Fetched(response.status, browser_headers(response.headers), response.body)

        async def fetch(method: str, url: str, headers: dict, body: bytes | None, time_s: float, size: int) -> Fetched:
            return await self._subresource(job, method, url, headers, body, time_s, size)

        outcome = await ctx.renderer.render(response.url, document, fetch)
        evidence = Render(**outcome.evidence(), static_lacked=lacked,
                          static={"text_chars": len(static.text), "numbers": [n.text for n in static.numbers],
                                  "app_shell": static.app_shell})
        if outcome.state != "rendered":
            static.render = evidence
            return static
        started = time.process_time()
        rendered = extract(outcome.html, response.url)
        ctx.timing["parse"] += time.process_time() - started
        if rendered.app_shell:
            evidence.state, evidence.reason = "empty", "渲染后页面仍几乎没有可见内容（脚本未能加载或运行）"
            static.render = evidence
            return static
        rendered.render = evidence
        return rendered

    async def _subresource(self, job: Job, method: str, url: str, headers: dict, body: bytes | None,
                           time_s: float, size: int) -> Fetched:
        """A request a rendered page makes, fetched by the crawl: same DNS view, same address guard."""
        ctx = self.ctx
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if parse_address(host) is not None:
            addresses = [host]
        else:
            host = ascii_host(host)
            answer = ctx.dns.cached(host)
            if answer is None:
                job.extra_hosts.add(host)
                answer = await ctx.dns.resolve(host)
            if not answer.addresses:
                raise Blocked(f"DNS: {answer.outcome}")
            addresses = answer.addresses
        allowed, reason, _private = self._screen(addresses)
        if not allowed:
            raise Blocked(f"不抓取：{reason}")
        forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        request = scrapy.Request(
            url, method=method if method in ("GET", "POST", "HEAD") else "GET", headers=forwarded, body=body,
            dont_filter=True,
            # a slot of its own per address: a page's scripts do not queue behind other sites' homepages
            meta={"download_slot": f"render:{allowed[0]}", "handle_httpstatus_all": True, "dont_redirect": True,
                  "dont_retry": True,
                  "download_timeout": max(0.1, min(time_s, ctx.config.fetch.timeout_s)),
                  "download_maxsize": max(1, min(size, ctx.config.fetch.max_bytes))},
        )
        response = await self.crawler.engine.download_async(request)
        return Fetched(response.status, browser_headers(response.headers), response.body)

    async def _redirect(self, job: Job, lane: Lane, source: str, target: str, kind: str) -> list:
        ctx = self.ctx
        job.redirects.append(target)
        lane.redirects += 1
        parts = urlsplit(target)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            job.consider(R_HTTP_ERROR, {"url": source, "failure": "error", "error": f"bad redirect to {target}"})
            lane.done = True
            return []
        if not any(host == d or host.endswith("." + d) for d in job.scope):
            job.consider(R_OFFSITE, {"url": source, "offsite_url": target, "redirect_kind": kind})
            lane.done = lane.settles = True
            return []
        if lane.redirects > ctx.config.fetch.max_redirects:
            # a loop (or a long chain): what a browser shows as ERR_TOO_MANY_REDIRECTS, not the other scheme's error
            job.attempts.append({"url": source, "failure": "redirects", "location": target,
                                 "error": f"too many redirects (more than {ctx.config.fetch.max_redirects})"})
            job.consider(R_HTTP_ERROR, job.attempts[-1])
            lane.done = lane.settles = True
            return []
        await ctx.dns.resolve(host)
        outcome = self._request(job, lane, target)
        if isinstance(outcome, dict):
            self._record(job, lane, outcome)
            return []
        return [outcome]

    async def failed(self, failure):
        request = failure.request
        if failure.check(Abandoned):
            return []
        return await self._deliver(request.meta["job"], request, "failure", failure)

    def _on_failure(self, job: Job, lane: Lane, failure, elapsed_ms: int) -> None:
        request = failure.request
        host = urlsplit(request.url).hostname or ""
        dns_failure = failure.check(tx_error.DNSLookupError, CannotResolveHostError)
        kind, ours, detail = _classify_failure(failure, self._refusal(host) if dns_failure else "")
        attempt = {"url": request.url, "failure": kind, "error": detail, "ours": ours, "elapsed_ms": elapsed_ms}
        self._record(job, lane, attempt)

    # -- the observation ---------------------------------------------------------------------------
    def _forget(self, job: Job) -> None:
        """Drop this website's DNS answers once it is done: a scan of a million sites keeps only the
        answers of websites in flight (the observation holds what the checks need)."""
        ctx = self.ctx
        hosts = {job.home, f"www.{job.home}", *job.scope, *(urlsplit(u).hostname or "" for u in job.redirects),
                 *job.extra_hosts}
        for host in hosts:
            ctx.dns.forget(host)

    def _finish(self, job: Job) -> dict:
        job.done = True
        if job.timer is not None:
            job.timer.cancel()
            job.timer = None
        for lane in job.lanes:  # settled by an earlier lane: what was still running is cancelled
            if lane.started and not lane.done:
                job.attempts.append({"url": lane.current or lane.url,
                                     "error": "abandoned: an earlier lane settled the website"})
        if job.budget is not None:
            job.budget.close()
        self._forget(job)
        job.obs.fetch, job.obs.page = _fetch_summary(job)
        item = {"record": job.record, "obs": job.obs}
        if job.best is not None and job.best[0] in (R_PAGE, R_PLACEHOLDER) and "document" in job.best[1]:
            item["screenshot_page"] = self._screenshot_page(job, job.best[1])
        return item

    def _screenshot_page(self, job: Job, result: dict) -> tuple:
        """What an evidence screenshot of this homepage needs (spiders.screenshot.Shooter.offer): its URL, the
        document the crawl fetched, the crawl's guarded fetch for everything else, and what to call when done
        (forget the DNS answers its requests needed)."""
        job.extra_hosts = set()

        async def fetch(method: str, url: str, headers: dict, body: bytes | None, time_s: float, size: int) -> Fetched:
            return await self._subresource(job, method, url, headers, body, time_s, size)

        def done() -> None:
            for host in job.extra_hosts:
                self.ctx.dns.forget(host)

        return result["url"], result.pop("document"), fetch, done


# What the static HTML lacked, in the words the evidence uses; rendering is tried when it lacks any.
LACKS_NUMBER = "静态 HTML 中没有可见的备案号"
LACKS_CONTENT = "静态 HTML 只是应用外壳（几乎没有可见文字，内容由脚本生成）"
HOP_HEADERS = {"host", "connection", "content-length", "accept-encoding", "keep-alive", "proxy-authorization",
               "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
NOT_FOR_BROWSER = {b"content-encoding", b"content-length", b"transfer-encoding", b"connection", b"keep-alive"}


def render_wanted(page: Page, content_type: str, is_placeholder) -> list[str]:
    """What the static page lacks that a browser might show; empty for placeholders and non-HTML."""
    lacked = []
    if page.app_shell:
        lacked.append(LACKS_CONTENT)
    if not page.numbers:
        lacked.append(LACKS_NUMBER)
    if not lacked or (content_type and "html" not in content_type.lower()):
        return []
    if is_placeholder(page):
        return []  # a server default page or 建设中 is that, whatever its scripts do
    return lacked


def browser_headers(headers) -> dict[str, str]:
    """Scrapy response headers for the browser: the body is already decoded, so no encoding or length."""
    result: dict[str, str] = {}
    for name, values in headers.items():
        if name.lower() in NOT_FOR_BROWSER or not values:
            continue
        key = name.decode("latin-1")
        result[key] = "\n".join(v.decode("latin-1") for v in values) if key.lower() == "set-cookie" else values[-1].decode("latin-1")
    return result


def _differs(target: str, current: str) -> bool:
    a, b = urlsplit(target), urlsplit(current)
    return (a.hostname, a.path or "/", a.query) != (b.hostname, b.path or "/", b.query) or a.scheme != b.scheme


def _decode(response) -> str:
    if isinstance(response, TextResponse):
        try:
            return response.text
        except (UnicodeDecodeError, LookupError):
            pass
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
    _encoding, text = html_to_unicode(content_type, response.body)
    return text


def _fetch_summary(job: Job) -> tuple[Fetch, Page | None]:
    """The best result of a website's attempts: a real page, then a redirect away, then a placeholder, then
    the most telling failure."""
    attempts = [Attempt(**{k: v for k, v in a.items() if k in ATTEMPT_FIELDS}) for a in job.attempts]
    base = {"attempts": attempts, "redirects": job.redirects, "elapsed_ms": round((time.monotonic() - job.started) * 1000)}
    if job.best is None:
        return Fetch(FetchState.NOT_FETCHED, **base, failure="error", ours=True, reason="no attempt possible"), None
    rank, result = job.best
    if rank in (R_PAGE, R_PLACEHOLDER):
        return Fetch(FetchState.PAGE, **base, final_url=result["url"], status=result["status"],
                     address=result.get("address"), content_type=result.get("content_type"),
                     bytes=result.get("bytes")), result["page"]
    if rank == R_OFFSITE:
        return Fetch(FetchState.REDIRECT_OFFSITE, **base, final_url=result["url"], offsite_url=result["offsite_url"],
                     redirect_kind=result.get("redirect_kind")), None
    failures = [a for a in job.attempts if a.get("failure")]
    if failures and all(a["failure"] in NOT_CONNECTED for a in failures):
        # nothing was connected to: DNS or the address policy decided; access.* reports the cause
        first = failures[0]
        return Fetch(FetchState.NOT_FETCHED, **base, failure=first["failure"], ours=bool(first.get("ours")),
                     reason=first.get("error", ""), final_url=first["url"]), None
    connected = [a for a in failures if a["failure"] not in NOT_CONNECTED]
    # A page over our size cap answered: the site is up, we did not read it (could not check), whatever the
    # other scheme did. Otherwise the failure is ours only when every attempt's was.
    ours = bool(connected) and (all(a.get("ours") for a in connected) or any(a["failure"] == "too_large" for a in connected))
    # the most telling failure: an HTTP status says more than a timeout, which says more than a reset
    chosen = min(connected, key=lambda a: FAILURE_PRIORITY.get(a["failure"], 9)) if connected else result
    if ours and any(a["failure"] == "too_large" for a in connected):
        chosen = next(a for a in connected if a["failure"] == "too_large")
    return Fetch(FetchState.FAILED, **base, failure=chosen.get("failure", "error"), ours=ours,
                 status=chosen.get("status"), final_url=chosen.get("url"),
                 reason=chosen.get("error") or (f"HTTP {chosen.get('status')}" if chosen.get("status") else "")), None


ATTEMPT_FIELDS = {f.name for f in dataclass_fields(Attempt)}


FAILURE_PRIORITY = {"redirects": 0, "http_status": 0, "too_large": 1, "timeout": 2, "tls": 3, "refused": 4, "reset": 5,
                    "error": 6}


def _describe(value) -> str:
    """One line for a download error, unwrapping Twisted's lists of inner failures."""
    reasons = getattr(value, "reasons", None)
    if not reasons and value.args and isinstance(value.args[0], list):
        reasons = value.args[0]
    if reasons:
        inner = [getattr(r, "value", r) for r in reasons]
        return "; ".join(f"{type(v).__name__}: {v}" for v in inner)[:300]
    return f"{type(value).__name__}: {value}"[:300]


def _classify_failure(failure, refused: str = "") -> tuple[str, bool, str]:
    """(kind, is it our failure, detail) for a download error; `refused` says why the address policy left a
    host no address to connect to (for a DNS lookup failure)."""
    text = _describe(failure.value)
    if failure.check(tx_error.DNSLookupError, CannotResolveHostError):
        if "private" in refused:
            return "private", False, f"not fetched: {refused}"
        if refused and "only_ranges" in refused:
            return "blocked", True, f"not fetched: {refused}"
        return "dns", False, text
    if failure.check(tx_error.ConnectionRefusedError, DownloadConnectionRefusedError):
        return "refused", False, text
    lowered = text.lower()
    if failure.check(DownloadCancelledError) or "larger than download max size" in lowered or "maxsize" in lowered:
        # our size cap: Scrapy cancels the download (with an empty message when there was no Content-Length);
        # nothing else cancels a download in this crawl
        return "too_large", True, text or "over fetch.max_bytes"
    if (failure.check(tx_error.TimeoutError, tx_error.TCPTimedOutError, DownloadTimeoutError) or "timeout" in lowered
            or "took longer" in text):
        return "timeout", False, text
    if "ssl" in lowered or "tls" in lowered or "handshake" in lowered or "certificate" in lowered:
        return "tls", False, text
    if failure.check(tx_error.ConnectionLost, tx_error.ConnectionDone) or "connection" in lowered or "reset" in lowered:
        return "reset", False, text
    return "error", False, text
