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

# Beyond Python's is_private/is_reserved: shared address space (CGNAT) and other special-purpose blocks.
_SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "64:ff9b:1::/48", "2001::/23", "2002::/16")
)


def parse(address: str) -> Address | None:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None


def is_special(ip: Address) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified, CGNAT, documentation…"""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_special(ip.ipv4_mapped)
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


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # why not: "private" (a special address not in allow_ranges) or "outside only_ranges"


class AddressPolicy:
    def __init__(self, config: Config) -> None:
        self.allow = config.fetch.allow_ranges
        self.only = config.fetch.only_ranges

    def allowed_special(self, ip: Address) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allow)

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
