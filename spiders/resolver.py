"""Twisted name resolver backed by the scan's DnsView: the single choke point for every connection.

Every request and every redirect resolves through here, so the fetch connects only to addresses that
the access checks saw and that the address policy allows (no DNS-rebinding gap between the two).
"""

from __future__ import annotations

import asyncio

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHostnameResolver, IHostResolution
from zope.interface import implementer

from core.netguard import AddressPolicy, parse
from spiders.resolve import DnsView


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - Twisted never cancels in practice
        pass


@implementer(IHostnameResolver)
class GuardedResolver:
    """Resolve with the shared DnsView, then drop every address the policy refuses."""

    def __init__(self, reactor, view: DnsView, policy: AddressPolicy) -> None:
        self.reactor = reactor
        self.view = view
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler, reactor):
        context = crawler.beian_context
        return cls(reactor, context.dns, context.policy)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(  # noqa: N802 - Twisted interface
        self, resolutionReceiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        host = hostName.decode("ascii") if isinstance(hostName, bytes) else str(hostName)
        host = host.lower().rstrip(".").strip("[]")
        resolutionReceiver.resolutionBegan(_Resolution(host))
        if parse(host) is not None:  # an IP literal in a URL or redirect
            self._deliver(resolutionReceiver, host, [host], portNumber)
            return resolutionReceiver
        cached = self.view.cached(host)
        if cached is not None:
            self._deliver(resolutionReceiver, host, cached.addresses, portNumber)
            return resolutionReceiver
        deferred = Deferred.fromFuture(asyncio.ensure_future(self.view.resolve(host)))
        deferred.addCallbacks(
            lambda answer: self._deliver(resolutionReceiver, host, answer.addresses, portNumber),
            lambda failure: self._deliver(resolutionReceiver, host, [], portNumber, str(failure.value)),
        )
        return resolutionReceiver

    def _deliver(self, receiver, host: str, addresses: list[str], port: int, error: str = "") -> None:
        # Only what the policy allows reaches Twisted; with nothing left the download fails with DNSLookupError,
        # and the spider asks the same policy why (HomepageSpider._refusal).
        allowed = [address for address in addresses if self.policy.verdict(address).allowed]
        for address in allowed:
            ip = parse(address)
            receiver.addressResolved((IPv6Address if ip.version == 6 else IPv4Address)("TCP", address, port))
        receiver.resolutionComplete()
