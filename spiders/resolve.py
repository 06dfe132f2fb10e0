"""One DNS view per scan: dnspython against the configured nameservers, every answer kept.

The access checks and the fetches read the same answers: a name is resolved once per scan.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from core.config import Config
from core.observation import (
    DNS_NO_ADDRESS,
    DNS_NXDOMAIN,
    DNS_OK,
    DNS_OUR_FAILURES,
    DNS_SERVFAIL,
    DNS_TIMEOUT,
    DnsRecord,
)

# Outcomes. "timeout" is our failure (could not check), the rest are the domain's.
OK, NXDOMAIN, NOANSWER, SERVFAIL, TIMEOUT = DNS_OK, DNS_NXDOMAIN, DNS_NO_ADDRESS, DNS_SERVFAIL, DNS_TIMEOUT
OUR_FAILURES = DNS_OUR_FAILURES


@dataclass
class DnsAnswer:
    name: str
    outcome: str = OK
    chain: list[str] = field(default_factory=list)  # CNAME targets in order
    addresses: list[str] = field(default_factory=list)  # A then AAAA
    detail: str = ""
    elapsed_ms: float = 0.0

    @property
    def resolved(self) -> bool:
        return bool(self.addresses)

    def record(self) -> DnsRecord:
        """What an observation keeps of this answer."""
        return DnsRecord(self.outcome, list(self.chain), list(self.addresses), self.detail)


class DnsView:
    def __init__(self, config: Config) -> None:
        resolver = dns.asyncresolver.Resolver(configure=not config.dns.nameservers)
        if config.dns.nameservers:
            resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in config.dns.nameservers]
        resolver.timeout = config.dns.timeout_s
        resolver.lifetime = config.dns.timeout_s * 2
        resolver.cache = None
        self.resolver = resolver
        self._answers: dict[str, asyncio.Future[DnsAnswer]] = {}
        self.queries = 0
        self.cpu_s = 0.0

    def cached(self, name: str) -> DnsAnswer | None:
        future = self._answers.get(name)
        return future.result() if future is not None and future.done() and not future.cancelled() else None

    def forget(self, name: str) -> None:
        self._answers.pop(name, None)

    async def resolve(self, name: str) -> DnsAnswer:
        name = name.lower().rstrip(".")
        future = self._answers.get(name)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._answers[name] = future
            try:
                future.set_result(await self._lookup(name))
            except BaseException as exc:  # cancellation: let a later caller retry
                self._answers.pop(name, None)
                if not future.done():
                    future.cancel()
                raise exc
        return await asyncio.shield(future)

    async def _lookup(self, name: str) -> DnsAnswer:
        started = time.monotonic()
        answer = DnsAnswer(name)
        results = await asyncio.gather(self._query(name, "A"), self._query(name, "AAAA"))
        outcomes = []
        for outcome, chain, addresses, detail in results:
            outcomes.append(outcome)
            if chain and not answer.chain:
                answer.chain = chain
            answer.addresses.extend(addresses)
            if detail and not answer.detail:
                answer.detail = detail
        if answer.addresses:
            answer.outcome = OK
        elif NXDOMAIN in outcomes:
            answer.outcome = NXDOMAIN
        elif SERVFAIL in outcomes:
            answer.outcome = SERVFAIL
        elif TIMEOUT in outcomes:
            answer.outcome = TIMEOUT
        else:
            answer.outcome = NOANSWER
        answer.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        return answer

    async def _query(self, name: str, rdtype: str) -> tuple[str, list[str], list[str], str]:
        self.queries += 1
        try:
            result = await self.resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            chain = _chain_from(exc.responses().values()) if hasattr(exc, "responses") else []
            return NXDOMAIN, chain, [], ""
        except dns.resolver.NoNameservers as exc:
            return SERVFAIL, [], [], str(exc).splitlines()[0][:200]
        except dns.exception.Timeout:
            return TIMEOUT, [], [], f"no answer from {', '.join(str(n) for n in self.resolver.nameservers)}"
        except (dns.resolver.YXDOMAIN, dns.name.LabelTooLong, dns.name.EmptyLabel, ValueError) as exc:
            return NXDOMAIN, [], [], str(exc)[:200]
        chain = _chain_from([result.response])
        addresses = [rdata.address for rdata in result] if result.rrset is not None else []
        return (OK if addresses else NOANSWER), chain, addresses, ""


def _chain_from(responses) -> list[str]:
    chain: list[str] = []
    for response in responses:
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                for rdata in rrset:
                    target = rdata.target.to_text(omit_final_dot=True).lower()
                    if target not in chain:
                        chain.append(target)
    return chain
