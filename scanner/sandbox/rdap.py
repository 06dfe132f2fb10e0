"""RDAP (RFC 9083) answers for `/ip/<address>` from the world's networks."""

from __future__ import annotations

import ipaddress
import json

from scanner.sandbox.http_server import Request, Response
from scanner.sandbox.world import RdapNetwork, World

_JSON = [("Content-Type", "application/rdap+json"), ("Access-Control-Allow-Origin", "*")]


def network_object(net: RdapNetwork) -> dict:
    network = net.network
    version = "v4" if network.version == 4 else "v6"
    registrant = {
        "objectClassName": "entity",
        "handle": f"{net.handle}-ORG",
        "roles": ["registrant"],
        "vcardArray": ["vcard", [
            ["version", {}, "text", "4.0"],
            ["fn", {}, "text", net.owner],
            ["kind", {}, "text", "org"],
        ]],
    }  # fmt: skip
    data = {
        "rdapConformance": ["rdap_level_0", "cidr0"],
        "objectClassName": "ip network",
        "handle": net.handle,
        "startAddress": str(network.network_address),
        "endAddress": str(network.broadcast_address),
        "ipVersion": version,
        "name": net.name,
        "type": "ALLOCATED PA",
        "country": net.country,
        "cidr0_cidrs": [{f"{version}prefix": str(network.network_address), "length": network.prefixlen}],
        "entities": [registrant],
        "events": [{"eventAction": "registration", "eventDate": "2015-03-01T00:00:00Z"}],
        "links": [],
        "remarks": [{"title": "sandbox", "description": ["beian-scanner sandbox RDAP"]}],
        "port43": "whois.sandbox.invalid",
    }
    if net.asn is not None:
        data["arin_originas0_originautnums"] = [net.asn]
    return data


class RdapRouter:
    def __init__(self, world: World) -> None:
        self.networks = sorted(world.rdap, key=lambda n: n.network.prefixlen, reverse=True)
        self.queries: list[str] = []

    def find(self, address: str) -> RdapNetwork | None:
        ip = ipaddress.ip_address(address)
        return next((n for n in self.networks if ip.version == n.network.version and ip in n.network), None)

    def __call__(self, request: Request) -> Response:
        path = request.path
        marker = "/ip/"
        if marker not in path:
            return _error(400, "only /ip/<address> is served")
        text = path.rsplit(marker, 1)[1].strip("/")
        self.queries.append(text)
        try:
            network = self.find(text.split("/")[0])
        except ValueError:
            return _error(400, f"{text} is not an IP address")
        if network is None:
            return _error(404, f"no network holds {text}")
        return Response(200, list(_JSON), json.dumps(network_object(network)).encode("utf-8"))


def _error(status: int, message: str) -> Response:
    body = {"rdapConformance": ["rdap_level_0"], "errorCode": status, "title": message}
    return Response(status, list(_JSON), json.dumps(body).encode("utf-8"))
