"""Which addresses the scanner may connect to, and what kind of address each one is.

Customers control their DNS, so a filed domain may point anywhere: at our metadata service, at a
private network, at loopback. Nothing outside the public internet is fetched unless the operator
allows its range (`fetch.allow_ranges`); `fetch.only_ranges` narrows fetching further.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from core.config import Config

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# Beyond Python's is_private/is_reserved: shared address space (CGNAT) and other special-purpose blocks.
_SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "64:ff9b:1::/48", "2001::/23", "2002::/16")
)

# IPv6 addresses that carry an IPv4 address: a packet to them ends up at (or is relayed through) that
# IPv4 host, so the IPv4 address is judged too (64:ff9b::10.0.0.1 reaches 10.0.0.1 through NAT64).
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")  # IPv4-mapped: the IPv4 host itself
_COMPATIBLE = ipaddress.ip_network("::/96")  # IPv4-compatible (deprecated)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052), globally reachable
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215); IPv4 in the last 32 bits
_6TO4 = ipaddress.ip_network("2002::/16")  # IPv4 in bits 16-47
_TEREDO = ipaddress.ip_network("2001::/32")  # server IPv4 in bits 32-63, client IPv4 (inverted) in the last 32
# Prefixes directly followed by the IPv4 address: an IPv6 allow range narrower than one of them names IPv4
# addresses too (::ffff:10.0.0.0/104 is 10.0.0.0/8).
_IPV4_FOLLOWS = (_MAPPED, _COMPATIBLE, _NAT64, _6TO4)


def parse(address: str) -> Address | None:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(ip: Address) -> tuple[ipaddress.IPv6Network, tuple[ipaddress.IPv4Address, ...]] | None:
    """The transition prefix an IPv6 address is in and the IPv4 address(es) it carries, or None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return _MAPPED, (ip.ipv4_mapped,)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return _NAT64, (low32,)
    if ip in _NAT64_LOCAL:
        return _NAT64_LOCAL, (low32,)
    if ip.sixtofour is not None:
        return _6TO4, (ip.sixtofour,)
    if ip.teredo is not None:
        server, client = ip.teredo
        return _TEREDO, (client, server)
    if ip in _COMPATIBLE and int(ip) > 1:  # not :: or ::1
        return _COMPATIBLE, (low32,)
    return None


def _plain_special(ip: Address) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
        or any(ip in net for net in _SPECIAL if net.version == ip.version)
    )


def _wrapper_special(ip: Address, prefix: ipaddress.IPv6Network) -> bool:
    """Whether the IPv6 address is special by itself, whatever it carries: an IPv4-mapped address is only
    another spelling of its IPv4 host, and the well-known NAT64 prefix is public (Python files it under
    the reserved ::/8); every other transition prefix is special-purpose on its own."""
    return prefix not in (_MAPPED, _NAT64) and _plain_special(ip)


def is_special(ip: Address) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified, CGNAT, documentation…, or an IPv6
    address that carries such an IPv4 address (IPv4-mapped/-compatible, NAT64, 6to4, Teredo)."""
    embedded = embedded_ipv4(ip)
    if embedded is None:
        return _plain_special(ip)
    prefix, carried = embedded
    return _wrapper_special(ip, prefix) or any(_plain_special(v4) for v4 in carried)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # why not: "private" (a special address not in allow_ranges) or "outside only_ranges"


class AddressPolicy:
    def __init__(self, config: Config) -> None:
        self.allow = config.fetch.allow_ranges
        self.only = config.fetch.only_ranges

    def _allowed(self, ip: Address) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allow)

    def allowed_special(self, ip: Address) -> bool:
        """A special address inside fetch.allow_ranges. For an IPv6 address that carries an IPv4 one, each
        special part needs allowing: the IPv6 address by an IPv6 range, the carried IPv4 address by an IPv4
        range (or by an IPv6 range narrower than the transition prefix, e.g. 64:ff9b::a00:0/104). Allowing
        a whole transition prefix (2002::/16, or ::/0) does not open the private networks behind it."""
        embedded = embedded_ipv4(ip)
        if embedded is None:
            return self._allowed(ip)
        prefix, carried = embedded
        if _wrapper_special(ip, prefix) and not self._allowed(ip):
            return False
        narrower = prefix in _IPV4_FOLLOWS and any(
            net.version == 6 and ip in net and net.prefixlen > prefix.prefixlen for net in self.allow
        )
        return all(not _plain_special(v4) or self._allowed(v4) or narrower for v4 in carried)

    def is_private(self, ip: Address) -> bool:
        """A special address the operator has not allowed: reported as access.private_ip, never fetched."""
        return is_special(ip) and not self.allowed_special(ip)

    def verdict(self, address: str) -> Verdict:
        ip = parse(address)
        if ip is None:
            return Verdict(False, "not an IP address")
        if self.is_private(ip):
            return Verdict(False, "private")
        if self.only and not any(ip.version == net.version and ip in net for net in self.only):
            return Verdict(False, "outside fetch.only_ranges")
        return Verdict(True)
