"""RDAP (RFC 9083) answers for `/ip/<address>` from the world's networks, and for `/domain/<name>` from the
world's `domains` (a filed domain not listed there gets `domain_defaults`, registered to the subject that
filed it)."""

from __future__ import annotations

import ipaddress
import json

from scanner.sandbox.http_server import Request, Response
from scanner.sandbox.world import RdapNetwork, World, ascii_name, relative_date

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
    }
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


DEFAULT_DOMAIN = {"registered": "2016-03-01", "expires": "+700d", "last_changed": "-200d",
                  "registrar": "阿里云计算有限公司（万网）", "registrar_id": "420"}


def _vcard(name: str, kind: str) -> list:
    return ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name], ["kind", {}, "text", kind]]]


def domain_object(name: str, spec: dict) -> dict:
    """An RDAP domain object: events, the registrar (with its IANA id) and the registrant (or its redaction)."""
    events = [{"eventAction": action, "eventDate": relative_date(spec[key]).strftime("%Y-%m-%dT%H:%M:%SZ")}
              for key, action in (("registered", "registration"), ("expires", "expiration"),
                                  ("last_changed", "last changed")) if spec.get(key)]
    entities = []
    if spec.get("registrar"):
        registrar = {"objectClassName": "entity", "handle": f"REGISTRAR-{spec.get('registrar_id') or 'X'}",
                     "roles": ["registrar"], "vcardArray": _vcard(spec["registrar"], "org")}
        if spec.get("registrar_id"):
            registrar["publicIds"] = [{"type": "IANA Registrar ID", "identifier": str(spec["registrar_id"])}]
        entities.append(registrar)
    data = {
        "rdapConformance": ["rdap_level_0", "redacted"],
        "objectClassName": "domain",
        "handle": f"{name.replace('.', '_').upper()}-SANDBOX",
        "ldhName": name,
        "status": ["active"],
        "events": events,
        "entities": entities,
        "links": [{"rel": "self", "href": f"http://rdap.sandbox.invalid/domain/{name}", "type": "application/rdap+json"}],
    }
    if spec.get("redacted"):
        entities.append({"objectClassName": "entity", "handle": "", "roles": ["registrant"],
                         "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", ""]]]})
        data["redacted"] = [{"name": {"type": "Registrant Name"}, "prePath": "$.entities[?(@.roles[0]=='registrant')]",
                             "method": "emptyValue"}]
    elif spec.get("registrant"):
        entities.append({"objectClassName": "entity", "handle": f"{data['handle']}-REG", "roles": ["registrant"],
                         "vcardArray": _vcard(spec["registrant"], spec.get("kind") or "org")})
    return data


class RdapRouter:
    def __init__(self, world: World) -> None:
        self.networks = sorted(world.rdap, key=lambda n: n.network.prefixlen, reverse=True)
        self.queries: list[str] = []  # /ip/ queries
        self.domain_queries: list[str] = []
        self.domains = world.domains
        self.defaults = {**DEFAULT_DOMAIN, **world.domain_defaults}
        self.filed = _filed_holders(world)

    def domain(self, name: str) -> Response:
        self.domain_queries.append(name)
        holder = self.filed.get(name)
        listed = self.domains.get(name)
        if listed is None and holder is None:
            return _error(404, f"no domain {name}")
        spec = {**self.defaults, **({"registrant": holder[0], "kind": holder[1]} if holder else {}), **(listed or {})}
        answer = spec.get("answer", "ok")
        if answer == "timeout":
            return Response(200, list(_JSON), b"", behaviour="hang")
        if answer != "ok":
            return _error(int(answer), f"sandbox answers {answer}")
        return Response(200, list(_JSON), json.dumps(domain_object(name, spec), ensure_ascii=False).encode("utf-8"))

    def find(self, address: str) -> RdapNetwork | None:
        ip = ipaddress.ip_address(address)
        return next((n for n in self.networks if ip.version == n.network.version and ip in n.network), None)

    def __call__(self, request: Request) -> Response:
        path = request.path
        if "/domain/" in path:
            return self.domain(ascii_name(path.rsplit("/domain/", 1)[1].strip("/")))
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


def _filed_holders(world: World) -> dict[str, tuple[str, str]]:
    """Registrable domain -> (subject name, vCard kind) for every domain the world's registry files."""
    from spiders.registration import registrable

    holders: dict[str, tuple[str, str]] = {}
    for subject in (world.registry or {}).get("subjects", []):
        kind = "individual" if subject.get("nature") == "个人" else "org"
        for website in subject.get("websites") or []:
            domains = website.get("domains") or []
            if isinstance(domains, str):
                domains = domains.split(";")
            for domain in domains:
                key = registrable(ascii_name(str(domain)))
                if key:
                    holders.setdefault(key, (subject.get("name", ""), kind))
    return holders
