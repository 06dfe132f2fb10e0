"""The address classifier and the fetch guard. These are unit tests only: no scan is ever pointed at
these ranges, because such traffic would leave this machine."""

from __future__ import annotations

import asyncio

import pytest

from core.config import parse_config
from core.netguard import AddressPolicy
from spiders.ownership import CDN, KNOWN, PRIVATE, PROVIDER, PROVIDER_OFFSHORE, UNKNOWN, Ownership


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "169.254.169.254", "127.0.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "224.0.0.1", "198.18.0.1", "192.0.0.8"],
)
def test_private_and_reserved_addresses_are_refused_by_default(address):
    policy = AddressPolicy(parse_config({}))
    verdict = policy.verdict(address)
    assert not verdict.allowed and verdict.reason == "private"


def test_public_addresses_are_allowed_and_allow_ranges_open_exceptions():
    policy = AddressPolicy(parse_config({"fetch": {"allow_ranges": ["10.8.0.0/16"]}}))
    assert policy.verdict("45.76.1.2").allowed
    assert policy.verdict("10.8.3.4").allowed
    assert not policy.verdict("10.9.3.4").allowed


def test_only_ranges_narrow_fetching():
    policy = AddressPolicy(parse_config({"fetch": {"only_ranges": ["127.0.0.0/8"], "allow_ranges": ["127.0.0.0/8"]}}))
    assert policy.verdict("127.5.5.5").allowed
    verdict = policy.verdict("45.76.1.2")
    assert not verdict.allowed and verdict.reason == "outside fetch.only_ranges"


def test_ownership_classification_order():
    config = parse_config({
        "provider": {"name": "示例云", "ip_ranges": ["203.0.113.0/25", "203.0.113.128/25 HK"],
                     "cdn_cname_suffixes": ["cdn.examplecloud.cn"]},
    })
    owner = Ownership(config)
    assert owner.classify_local("203.0.113.5", []).kind == PROVIDER
    offshore = owner.classify_local("203.0.113.200", [])
    assert offshore.kind == PROVIDER_OFFSHORE and offshore.region == "HK"
    assert owner.classify_local("45.76.9.9", ["x.cn.cdn.examplecloud.cn"]).kind == CDN
    assert owner.classify_local("10.0.0.1", []).kind == PRIVATE
    known = owner.classify_local("104.16.1.1", [])
    assert known.kind == KNOWN and known.owner == "Cloudflare, Inc."
    assert owner.classify_local("45.76.1.2", []) is None  # needs RDAP


def test_reserved_address_through_rdap_is_no_owner_not_an_error():
    config = parse_config({"fetch": {"allow_ranges": ["192.0.2.0/24"]}})
    owner = Ownership(config)
    info = owner.classify_local("192.0.2.10", [])
    assert info.kind == UNKNOWN and info.source == "reserved"
    data = owner._rdap("192.0.2.10")  # ipwhois raises IPDefinedError before any I/O
    assert data == {"owner": "", "network": "reserved"}
    assert asyncio.run(owner.classify("192.0.2.10", [])).kind == UNKNOWN


def _teredo(client: str, server: str = "65.54.227.120") -> str:
    """A Teredo address (RFC 4380) whose client IPv4 is `client` (stored bit-inverted, as on the wire)."""
    import ipaddress

    s, c = int(ipaddress.IPv4Address(server)), int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    return str(ipaddress.IPv6Address((0x20010000 << 96) | (s << 64) | (0x8000 << 48) | (0xFFFF << 32) | c))


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b::100.64.0.1",
     "64:ff9b:1::10.0.0.1", "2002:c0a8:0101::1", "2002:0a00:0001::1", "2002:7f00:0001:1::5",
     _teredo("127.0.0.1"), _teredo("10.1.2.3"), _teredo("8.8.8.8", server="10.0.0.1"),
     "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::10.0.0.1", "::127.0.0.1"],
)
def test_ipv6_addresses_carrying_a_private_ipv4_are_refused(address):
    """NAT64, 6to4, Teredo, IPv4-mapped and -compatible addresses lead to the IPv4 host they carry."""
    policy = AddressPolicy(parse_config({}))
    verdict = policy.verdict(address)
    assert not verdict.allowed and verdict.reason == "private", address
    # allowing the whole transition prefix (an IPv6-only scanner behind NAT64 needs 64:ff9b::/96) opens
    # the prefix, not the private networks behind it
    wide = AddressPolicy(parse_config({"fetch": {"allow_ranges": [
        "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::ffff:0:0/96", "::/96", "::/0"]}}))
    assert not wide.verdict(address).allowed, address


def test_teredo_helper_builds_the_address_python_decodes():
    import ipaddress

    server, client = ipaddress.IPv6Address(_teredo("127.0.0.1")).teredo
    assert str(client) == "127.0.0.1" and str(server) == "65.54.227.120"


def test_nat64_to_a_public_address_is_judged_by_that_address():
    policy = AddressPolicy(parse_config({}))
    assert policy.verdict("64:ff9b::8.8.8.8").allowed  # well-known NAT64 prefix: public, like 8.8.8.8
    assert policy.verdict("::ffff:8.8.8.8").allowed
    # 6to4, Teredo, local-use NAT64 and IPv4-compatible are special-purpose by themselves
    for address in ("2002:0808:0808::1", _teredo("8.8.8.8"), "64:ff9b:1::8.8.8.8", "::8.8.8.8"):
        assert not policy.verdict(address).allowed, address
    opened = AddressPolicy(parse_config({"fetch": {"allow_ranges": ["2002::/16", "2001::/32", "64:ff9b:1::/48", "::/96"]}}))
    for address in ("2002:0808:0808::1", _teredo("8.8.8.8"), "64:ff9b:1::8.8.8.8", "::8.8.8.8"):
        assert opened.verdict(address).allowed, address


def test_allow_ranges_still_let_the_operator_allow_carried_addresses():
    ipv4 = AddressPolicy(parse_config({"fetch": {"allow_ranges": ["10.0.0.0/8"]}}))
    assert ipv4.verdict("64:ff9b::10.0.0.1").allowed
    assert ipv4.verdict("::ffff:10.0.0.1").allowed
    assert not ipv4.verdict("64:ff9b::192.168.0.1").allowed
    assert not ipv4.verdict("2002:0a00:0001::1").allowed  # 6to4 itself still needs allowing
    both = AddressPolicy(parse_config({"fetch": {"allow_ranges": ["10.0.0.0/8", "2002::/16", "2001::/32"]}}))
    assert both.verdict("2002:0a00:0001::1").allowed
    assert both.verdict(_teredo("10.1.2.3")).allowed
    assert not both.verdict(_teredo("127.0.0.1")).allowed
    narrow = AddressPolicy(parse_config({"fetch": {"allow_ranges": ["64:ff9b::a00:0/104", "::ffff:10.0.0.0/104"]}}))
    assert narrow.verdict("64:ff9b::10.9.9.9").allowed and narrow.verdict("::ffff:10.9.9.9").allowed
    assert narrow.verdict("64:ff9b::11.0.0.1").allowed  # public anyway
    assert not narrow.verdict("64:ff9b::127.0.0.1").allowed
