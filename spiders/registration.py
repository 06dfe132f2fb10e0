"""Domain registrations: what RDAP says about each filed domain's registrable domain (registration and
expiry dates, registrar, registrant), for the domain.* checks.

The registrable domain comes from tldextract's bundled public suffix list (never fetched). The RDAP server
is `[domains] rdap_urls` by TLD (longest suffix first, then "*"), else the IANA bootstrap (whoisit's,
loaded once, only when a TLD is not configured). Queries go through httpx with the configured timeout,
at most `concurrency` at once and `per_server_per_s` per server; answers are parsed by whoisit's RDAP
parser (events, entities, vCards, RFC 9537 redactions). A timeout, HTTP 429 or any other failure is a
Registration with a state other than ok and a reason ("could not check"), never a finding. Answers are
cached in the store for `cache_ttl_days` (failures are not: the next scan asks again).

whoisit rather than asyncwhois: RDAP only (no WHOIS text scraping to go wrong), a maintained parser
that keeps the registrar's IANA id, the vCard kind (org/individual) and RFC 9537 redactions, and its
query layer can be bypassed so that our timeout, rate limit and 429 handling apply.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import fields
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from core.config import Config
from core.observation import (
    REG_ERROR,
    REG_NOT_FOUND,
    REG_OK,
    REG_RATE_LIMITED,
    REG_TIMEOUT,
    REG_UNSUPPORTED,
    Registration,
)

REDACTED_NAME = re.compile(r"redacted|privacy|withheld|not disclosed|data protected|隐私|保密|已隐藏", re.I)
MEMO_SIZE = 4096  # registrable domains remembered by one scan process
CACHED_FIELDS = ("state", "server", "registered", "expires", "last_changed", "registrar", "registrar_id",
                 "registrant", "registrant_kind", "redacted", "status")


class RegistrationCache(Protocol):
    """get() returns the cached fields, and "fetched_at" (an aware datetime) when the cache knows it."""

    def get(self, domain: str, max_age: timedelta) -> dict | None: ...
    def put(self, domain: str, data: dict) -> None: ...


@cache
def _extractor():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def registrable(name: str) -> str | None:
    """The registered domain of a host name (www.example.com.cn -> example.com.cn), or None."""
    parts = _extractor()(name.strip().lower().rstrip("."))
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}"


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None


def from_rdap(domain: str, data: dict, server: str) -> Registration:
    """A Registration from an RDAP domain object (RFC 9083), parsed by whoisit."""
    from whoisit import _bootstrap
    from whoisit.parser import parse

    parsed = parse(_bootstrap, "domain", domain, data)
    entities = parsed.get("entities") or {}
    registrar = (entities.get("registrar") or [{}])[0]
    registrar_id = next((p["identifier"] for p in registrar.get("public_ids", [])
                         if "iana" in p.get("type", "").lower()), "")
    registrant = (entities.get("registrant") or [{}])[0]
    name = (registrant.get("organisation") or registrant.get("name") or "").strip()
    redacted = list(parsed.get("redacted") or [])
    if name and REDACTED_NAME.search(name):
        redacted.append(f"registrant name: {name}")
        name = ""
    kind = registrant.get("kind", "")
    return Registration(
        domain, REG_OK, server=server,
        registered=_iso(parsed.get("registration_date")), expires=_iso(parsed.get("expiration_date")),
        last_changed=_iso(parsed.get("last_changed_date")),
        registrar=(registrar.get("organisation") or registrar.get("name") or "").strip(), registrar_id=registrar_id,
        registrant=name, registrant_kind=kind if kind in ("org", "individual") else "",
        redacted=redacted, status=list(parsed.get("status") or []),
    )


class Registrations:
    """One per scan: looks up each registrable domain once (memo), through the store's cache."""

    def __init__(self, config: Config, cache: RegistrationCache | None = None, *, client=None,
                 since: datetime | None = None) -> None:
        self.config = config.domains
        self.urls = dict(self.config.rdap_urls)
        self.cache = cache
        self.ttl = timedelta(days=self.config.cache_ttl_days)
        self.queries = 0  # RDAP requests sent in this scan
        self.cached = 0
        self._client = client
        self._gate: asyncio.Semaphore | None = None
        self._next_slot: dict[str, float] = {}
        # Bounded, so that a scan's memory does not grow with its websites: the websites sharing a registrable
        # domain are mostly neighbours in the feed, and the store's cache answers for the others.
        self._memo: OrderedDict[str, Registration] = OrderedDict()
        # A cached answer stored since this moment (the scan's start) was asked in this scan, by this process
        # earlier or by another of the scan's workers: it is not "from the cache" (Registration.cached).
        self.since = since
        self._pending: dict[str, asyncio.Future] = {}
        self._bootstrapped: str | None = None  # "" once loaded, else why not

    # -- which server ------------------------------------------------------------------------------
    async def server_for(self, domain: str) -> tuple[str | None, str]:
        """(the RDAP base URL for this registrable domain, why there is none)."""
        labels = domain.split(".")
        for i in range(1, len(labels)):
            url = self.urls.get(".".join(labels[i:]))
            if url:
                return url, ""
        if "*" in self.urls:
            return self.urls["*"], ""
        return await self._bootstrap_server(domain)

    async def _bootstrap_server(self, domain: str) -> tuple[str | None, str]:
        import whoisit

        if self._bootstrapped is None:
            try:
                await whoisit.bootstrap_async()
                self._bootstrapped = ""
            except Exception as exc:  # noqa: BLE001 - no bootstrap: every unconfigured TLD is "could not check"
                self._bootstrapped = f"IANA RDAP bootstrap unavailable: {type(exc).__name__}: {exc}"[:200]
        if self._bootstrapped:
            return None, self._bootstrapped
        tld = domain.rsplit(".", 1)[-1]
        try:
            endpoints, _exact = whoisit._bootstrap.get_dns_endpoints(tld)
        except Exception:  # noqa: BLE001 - whoisit raises UnsupportedError for a TLD without RDAP
            return None, f"no RDAP service for .{tld} in the IANA bootstrap"
        return (endpoints[0].rstrip("/"), "") if endpoints else (None, f"no RDAP service for .{tld}")

    # -- lookups -----------------------------------------------------------------------------------
    async def for_names(self, names: list[str]) -> dict[str, Registration]:
        """Per registrable domain of these filed names: its registration (or why it could not be looked up)."""
        grouped: dict[str, list[str]] = {}
        for name in names:
            key = registrable(name)
            if key is None:
                continue
            grouped.setdefault(key, []).append(name)
        found = await asyncio.gather(*(self.lookup(key) for key in grouped))
        result = {}
        for key, registration in zip(grouped, found, strict=True):
            copy = Registration(**{f.name: getattr(registration, f.name) for f in fields(Registration)})
            copy.filed = grouped[key]
            result[key] = copy
        return result

    async def lookup(self, domain: str) -> Registration:
        if domain in self._memo:
            self._memo.move_to_end(domain)
            return self._memo[domain]
        pending = self._pending.get(domain)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._pending[domain] = future
        try:
            found = await self._lookup(domain)
            future.set_result(found)
            self._memo[domain] = found
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            return found
        finally:
            self._pending.pop(domain, None)
            if not future.done():
                future.cancel()

    async def _lookup(self, domain: str) -> Registration:
        if self.cache is not None and self.ttl:
            data = self.cache.get(domain, self.ttl)
            if data is not None:
                fetched = data.get("fetched_at")
                cached = self.since is None or fetched is None or fetched < self.since
                self.cached += cached
                return Registration(domain, cached=cached, **{k: v for k, v in data.items() if k in CACHED_FIELDS})
        server, why = await self.server_for(domain)
        if server is None:
            return Registration(domain, REG_UNSUPPORTED, reason=why)
        found = await self._query(domain, server)
        if found.state in (REG_OK, REG_NOT_FOUND) and self.cache is not None and self.ttl:
            # a write waits for the store's lock (the scan's writer thread holds it): not on the crawl's loop
            await asyncio.to_thread(self.cache.put, domain, {k: getattr(found, k) for k in CACHED_FIELDS})
        return found

    async def _query(self, domain: str, server: str) -> Registration:
        import httpx

        if self._gate is None:
            self._gate = asyncio.Semaphore(self.config.concurrency)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout_s, follow_redirects=True,
                                             headers={"Accept": "application/rdap+json"})
        url = f"{server}/domain/{domain}"
        async with self._gate:
            await self._pace(server)
            self.queries += 1
            try:
                response = await self._client.get(url)
            except httpx.TimeoutException:
                return Registration(domain, REG_TIMEOUT, server=server, reason=f"RDAP {url}: timed out")
            except httpx.HTTPError as exc:
                return Registration(domain, REG_ERROR, server=server, reason=f"RDAP {url}: {type(exc).__name__}: {exc}"[:300])
        if response.status_code == 429:
            return Registration(domain, REG_RATE_LIMITED, server=server, reason=f"RDAP {url}: HTTP 429 (rate limited)")
        if response.status_code == 404:
            return Registration(domain, REG_NOT_FOUND, server=server, reason=f"RDAP {url}: HTTP 404 (no such domain)")
        if response.status_code != 200:
            return Registration(domain, REG_ERROR, server=server, reason=f"RDAP {url}: HTTP {response.status_code}")
        try:
            return from_rdap(domain, response.json(), server)
        except Exception as exc:  # noqa: BLE001 - a malformed answer is "could not check"
            return Registration(domain, REG_ERROR, server=server, reason=f"RDAP {url}: unreadable answer: {exc}"[:300])

    async def _pace(self, server: str) -> None:
        """At most per_server_per_s requests start per second to one server."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._next_slot.get(server, 0.0))
        self._next_slot[server] = at + 1.0 / self.config.per_server_per_s
        if at > now:
            await asyncio.sleep(at - now)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
