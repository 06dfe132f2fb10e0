"""The Twisted-side resolver is the choke point: IP literals and resolved names alike are filtered by
the address policy before Twisted may connect (unit test: no connection is ever attempted here)."""

from __future__ import annotations

import asyncio

from core.config import parse_config
from core.netguard import AddressPolicy
from spiders.resolve import DnsAnswer, DnsView
from spiders.resolver import GuardedResolver


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.began = self.completed = False

    def resolutionBegan(self, resolution) -> None:  # noqa: N802 - Twisted interface
        self.began = True

    def addressResolved(self, address) -> None:  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.completed = True


def make(config_data: dict | None = None) -> GuardedResolver:
    # a loopback nameserver that nothing listens on: these tests must never query a real resolver
    config = parse_config({"dns": {"nameservers": ["127.0.0.1:9"]}, **(config_data or {})})
    return GuardedResolver(reactor=None, view=DnsView(config), policy=AddressPolicy(config))


def test_ip_literals_in_urls_and_redirects_are_policed():
    resolver = make()
    for literal in ("169.254.169.254", "10.0.0.1", "127.0.0.1", "::1", "[::1]", "192.168.1.1"):
        receiver = Receiver()
        resolver.resolveHostName(receiver, literal, 80)
        assert receiver.began and receiver.completed and receiver.addresses == [], literal
        assert resolver.policy.verdict(literal.strip("[]")).reason == "private", literal
    receiver = Receiver()
    resolver.resolveHostName(receiver, "45.76.1.2", 443)
    assert receiver.addresses == ["45.76.1.2"]


def test_cached_answers_are_filtered_address_by_address():
    resolver = make({"fetch": {"allow_ranges": ["127.10.0.0/16"]}})

    async def seed() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        future.set_result(DnsAnswer("mixed.cn", addresses=["127.10.0.5", "127.31.0.1", "10.1.1.1"]))
        resolver.view._answers["mixed.cn"] = future
        receiver = Receiver()
        resolver.resolveHostName(receiver, b"mixed.cn", 80)
        assert receiver.addresses == ["127.10.0.5"]

    asyncio.run(seed())
