"""Who an address belongs to: the provider (mainland or offshore ranges), its CDN, a known other
network, a private range, or, for the rest, the owner named by RDAP (ipwhois)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from core.config import Config
from core.netguard import AddressPolicy, is_special, parse
from core.observation import Owner

BUILTIN_NETWORKS = Path(__file__).resolve().parent.parent / "checks" / "data" / "known_networks.tsv"

PROVIDER, PROVIDER_OFFSHORE, CDN, PRIVATE, KNOWN, UNKNOWN = (
    "provider", "provider_offshore", "cdn", "private", "known", "unknown",
)
FOREIGN_KINDS = frozenset({PROVIDER_OFFSHORE, KNOWN, UNKNOWN})
MEMO_SIZE = 50_000  # owners held in memory (least recently used go); the store's cache holds them all


class OwnerCache(Protocol):
    def get(self, address: str, max_age: timedelta) -> dict | None: ...
    def put(self, address: str, data: dict) -> None: ...


def load_known_networks(*paths: str | Path) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
    networks = []
    for path in paths:
        if not path:
            continue
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            try:
                network = ipaddress.ip_network(parts[0].strip(), strict=False)
            except ValueError:
                raise ValueError(f"{path}:{number}: {parts[0]!r} is not a CIDR prefix") from None
            networks.append((network, parts[1].strip() if len(parts) > 1 else ""))
    networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
    return networks


class Ownership:
    def __init__(self, config: Config, cache: OwnerCache | None = None) -> None:
        self.config = config
        self.policy = AddressPolicy(config)
        self.provider_ranges = config.provider.ip_ranges
        self.cdn_suffixes = tuple(s.lower().strip(".") for s in config.provider.cdn_cname_suffixes)
        self.known = load_known_networks(BUILTIN_NETWORKS, config.ownership.known_networks)
        self.cache = cache
        self.ttl = timedelta(days=config.ownership.cache_ttl_days)
        self._memo: OrderedDict[str, Owner] = OrderedDict()
        self._pending: dict[str, asyncio.Future] = {}
        self.rdap_queries = 0

    def via_cdn(self, chain: list[str]) -> str | None:
        for name in chain:
            for suffix in self.cdn_suffixes:
                if name == suffix or name.endswith("." + suffix):
                    return name
        return None

    def classify_local(self, address: str, chain: list[str]) -> Owner | None:
        """Everything decidable without a network query; None means: ask RDAP."""
        ip = parse(address)
        if ip is None:
            return Owner(address, UNKNOWN, source="error")
        for item in self.provider_ranges:
            if ip.version == item.network.version and ip in item.network:
                kind = PROVIDER if item.mainland else PROVIDER_OFFSHORE
                return Owner(address, kind, owner=self.config.provider.name, network=str(item.network),
                                   region=item.region, source="config")
        cdn = self.via_cdn(chain)
        if cdn:
            return Owner(address, CDN, owner=self.config.provider.name, network=cdn, source="cname")
        if self.policy.is_private(ip):
            return Owner(address, PRIVATE, source="reserved")
        for network, name in self.known:
            if ip.version == network.version and ip in network:
                return Owner(address, KNOWN, owner=name, network=str(network), source="known_networks")
        if is_special(ip):  # allowed by the operator, but no registry knows an owner for it
            return Owner(address, UNKNOWN, source="reserved")
        return None

    async def classify(self, address: str, chain: list[str]) -> Owner:
        local = self.classify_local(address, chain)
        if local is not None:
            return local
        return await self.owner(address)

    async def owner(self, address: str) -> Owner:
        if address in self._memo:
            self._memo.move_to_end(address)
            return self._memo[address]
        pending = self._pending.get(address)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._pending[address] = future
        try:
            info = await self._lookup(address)
            future.set_result(info)
            self._memo[address] = info
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            return info
        finally:
            self._pending.pop(address, None)
            if not future.done():
                future.cancel()

    async def _lookup(self, address: str) -> Owner:
        if self.cache is not None:
            cached = self.cache.get(address, self.ttl)
            if cached is not None:
                return Owner(address, UNKNOWN, source="rdap", **cached)
        data = await asyncio.to_thread(self._rdap, address)
        if data is None:
            return Owner(address, UNKNOWN, source="error")
        if self.cache is not None and data.get("owner") is not None:
            self.cache.put(address, data)
        return Owner(address, UNKNOWN, source="rdap", **data)

    def _rdap(self, address: str) -> dict | None:
        """Blocking RDAP query (run in a thread). None when the lookup failed."""
        from ipwhois.exceptions import IPDefinedError, WhoisLookupError
        from ipwhois.net import Net
        from ipwhois.rdap import RDAP

        self.rdap_queries += 1
        try:
            net = Net(address, timeout=int(max(1, self.config.fetch.timeout_s)))
        except IPDefinedError:
            return {"owner": "", "network": "reserved"}
        try:
            base = self.config.ownership.rdap_url
            if base:
                response = net.get_http_json(url=f"{base}/ip/{address}", retry_count=1)
                result = RDAP(net).lookup(response=response, asn_data={"asn_registry": "arin"}, root_ent_check=False)
            else:
                response = None
                result = RDAP(net).lookup(bootstrap=True, retry_count=1, root_ent_check=False, inc_raw=True)
                response = result.get("raw")
        except (WhoisLookupError, Exception):  # noqa: BLE001 - any RDAP failure is "owner unknown"
            return None
        network = result.get("network") or {}
        owner = ""
        for handle in result.get("entities") or []:
            obj = (result.get("objects") or {}).get(handle) or {}
            if "registrant" in (obj.get("roles") or []) or not owner:
                owner = ((obj.get("contact") or {}).get("name") or "").strip() or owner
        asn = ""
        if isinstance(response, dict) and response.get("arin_originas0_originautnums"):
            asn = "AS" + str(response["arin_originas0_originautnums"][0])
        return {
            "owner": owner or network.get("name") or "",
            "network": network.get("cidr") or network.get("name") or "",
            "asn": asn,
            "country": network.get("country") or "",
        }
