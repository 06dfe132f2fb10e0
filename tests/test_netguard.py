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
)  # fmt: skip
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
    })  # fmt: skip
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
