"""The world file: what the fake internet holds (YAML or JSON).

    name: sample
    templates: {corp: "<html>…{{ number }}…</html>"}     # Jinja2, shared by many hosts
    rdap:                                                # RDAP networks (public-looking prefixes)
      - {prefix: 45.76.0.0/16, name: VULTR-NET, owner: "Vultr Holdings, LLC", asn: 20473, country: US}
    hosts:
      example.cn:
        a: [127.10.0.5]                                  # also aaaa, cname, rcode, delay_s, drop, ttl
        http: {redirect: "https://www.example.cn/"}
      www.example.cn:
        a: [127.10.0.5]
        https: {template: corp, vars: {number: 京ICP备10206937号-1}}
        http: {page: "<html>…</html>", charset: gbk}     # or file: pages/x.html
    domains:                                             # RDAP /domain/<name> (registrable domains)
      expired-example.cn: {registered: 2015-06-01, expires: -20d, registrar: 阿里云计算有限公司,
                           registrant: 北京示例科技有限公司, kind: org}   # dates: YYYY-MM-DD or ±Nd from now
      slow-example.cn: {answer: timeout}                 # or 429, 404, 500; redacted: true hides the registrant
    domain_defaults: {registrar: …, registered: …, expires: …}   # for filed domains not listed above: the
                                                         # registrant is the subject that filed them
    registry: {subjects: […]}                            # CONTRACT §2, or registry_file: path
    expected: [{check: site.unreachable, website_number: …, domain: …}]

Web behaviours (`behaviour`): normal, hang, drip, reset, huge, gzip_bomb. `tls` on an https spec: valid
(default), expired, not_yet_valid, self_signed, wrong_host. A scheme a host does not
list is refused (connection reset / TLS handshake failure), as a server without that vhost would.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idna
import yaml

BEHAVIOURS = ("normal", "hang", "drip", "reset", "huge", "gzip_bomb")
TLS_KINDS = ("valid", "expired", "not_yet_valid", "self_signed", "wrong_host")
DOMAIN_KEYS = ("registered", "expires", "last_changed", "registrar", "registrar_id", "registrant", "kind",
               "redacted", "answer", "delay_s")
DOMAIN_ANSWERS = ("ok", "timeout", "429", "404", "500")
RCODES = ("nxdomain", "servfail", "refused")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class WorldError(Exception):
    """The world file is malformed; str() names the host and key."""


@dataclass(slots=True)
class WebSpec:
    status: int = 200
    page: str | None = None
    file: str | None = None
    template: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    charset: str = "utf-8"
    content_type: str | None = None  # default: text/html; charset=<charset>
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None
    behaviour: str = "normal"
    drip_interval_s: float = 1.0
    huge_bytes: int = 64 * 1024 * 1024
    declare_length: bool = True
    gzip: bool = False
    tls: str = "valid"
    paths: dict[str, WebSpec] = field(default_factory=dict)


@dataclass(slots=True)
class DnsSpec:
    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    cname: str | None = None
    rcode: str | None = None
    delay_s: float = 0.0
    drop: bool = False
    ttl: int = 300


@dataclass(slots=True)
class Host:
    name: str
    dns: DnsSpec
    http: WebSpec | None = None
    https: WebSpec | None = None


@dataclass(slots=True)
class RdapNetwork:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    handle: str
    name: str
    owner: str
    asn: int | None = None
    country: str = ""


@dataclass
class World:
    name: str = "world"
    hosts: dict[str, Host] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    rdap: list[RdapNetwork] = field(default_factory=list)
    registry: dict | None = None
    domains: dict[str, dict] = field(default_factory=dict)  # RDAP domain answers by registrable domain
    domain_defaults: dict = field(default_factory=dict)
    expected: list[dict] = field(default_factory=list)
    scanner: dict = field(default_factory=dict)  # config hints printed by `beian sandbox up`
    base_dir: Path = field(default_factory=Path.cwd)

    def web_addresses(self) -> list[str]:
        """Loopback addresses that must carry the HTTP/HTTPS listeners."""
        found: set[str] = set()
        for host in self.hosts.values():
            if host.http is None and host.https is None:
                continue
            for address in (*host.dns.a, *host.dns.aaaa):
                if ipaddress.ip_address(address) in LOOPBACK:
                    found.add(address)
        return sorted(found, key=ipaddress.ip_address)

    def host(self, name: str) -> Host | None:
        return self.hosts.get(name.lower().rstrip("."))


def ascii_name(name: str) -> str:
    text = name.strip().lower().rstrip(".")
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return text


_WEB_KEYS = set(WebSpec.__slots__)


def _web(data: Any, where: str) -> WebSpec:
    if isinstance(data, str):
        data = {"page": data}
    if not isinstance(data, dict):
        raise WorldError(f"{where}: expected a mapping")
    unknown = set(data) - _WEB_KEYS
    if unknown:
        raise WorldError(f"{where}.{sorted(unknown)[0]}: unknown key")
    spec = WebSpec(**{k: v for k, v in data.items() if k != "paths"})
    if spec.tls not in TLS_KINDS:
        raise WorldError(f"{where}.tls: {spec.tls!r} is not one of {', '.join(TLS_KINDS)}")
    if spec.behaviour not in BEHAVIOURS:
        raise WorldError(f"{where}.behaviour: {spec.behaviour!r} is not one of {', '.join(BEHAVIOURS)}")
    if not isinstance(spec.status, int) or not 100 <= spec.status <= 599:
        raise WorldError(f"{where}.status: {spec.status!r} is not an HTTP status")
    if spec.redirect and spec.status == 200:
        spec.status = 301
    spec.paths = {path: _web(sub, f"{where}.paths[{path}]") for path, sub in (data.get("paths") or {}).items()}
    return spec


def _addresses(values: Any, where: str, version: int) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    result = []
    for value in values:
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            raise WorldError(f"{where}: {value!r} is not an IP address") from None
        if address.version != version:
            raise WorldError(f"{where}: {value} is not IPv{version}")
        result.append(str(address))
    return tuple(result)


def _host(name: str, data: Any) -> Host:
    where = f"hosts[{name}]"
    if not isinstance(data, dict):
        raise WorldError(f"{where}: expected a mapping")
    known = {"a", "aaaa", "cname", "rcode", "delay_s", "drop", "ttl", "http", "https", "web"}
    unknown = set(data) - known
    if unknown:
        raise WorldError(f"{where}.{sorted(unknown)[0]}: unknown key")
    rcode = data.get("rcode")
    if rcode is not None and str(rcode).lower() not in RCODES:
        raise WorldError(f"{where}.rcode: {rcode!r} is not one of {', '.join(RCODES)}")
    dns = DnsSpec(
        a=_addresses(data.get("a"), f"{where}.a", 4),
        aaaa=_addresses(data.get("aaaa"), f"{where}.aaaa", 6),
        cname=ascii_name(data["cname"]) if data.get("cname") else None,
        rcode=str(rcode).lower() if rcode else None,
        delay_s=float(data.get("delay_s", 0)),
        drop=bool(data.get("drop", False)),
        ttl=int(data.get("ttl", 300)),
    )
    web = data.get("web")
    http = data.get("http", web)
    https = data.get("https", web)
    host = Host(
        name=name,
        dns=dns,
        http=_web(http, f"{where}.http") if http is not None else None,
        https=_web(https, f"{where}.https") if https is not None else None,
    )
    return host


def _rdap(items: Any) -> list[RdapNetwork]:
    result = []
    for i, item in enumerate(items or []):
        where = f"rdap[{i}]"
        if not isinstance(item, dict) or "prefix" not in item:
            raise WorldError(f"{where}: expected {{prefix, name, owner, asn, country}}")
        try:
            network = ipaddress.ip_network(str(item["prefix"]), strict=False)
        except ValueError:
            raise WorldError(f"{where}.prefix: {item['prefix']!r} is not a CIDR range") from None
        result.append(
            RdapNetwork(
                network=network,
                handle=str(item.get("handle") or f"NET-{network.network_address}-{network.prefixlen}"),
                name=str(item.get("name") or item.get("owner") or "UNKNOWN"),
                owner=str(item.get("owner") or item.get("name") or ""),
                asn=int(item["asn"]) if item.get("asn") is not None else None,
                country=str(item.get("country") or ""),
            )
        )
    return result


def _domain(name: str, data: Any) -> dict:
    where = f"domains[{name}]" if name != "domain_defaults" else name
    if not isinstance(data, dict):
        raise WorldError(f"{where}: expected a mapping")
    unknown = set(data) - set(DOMAIN_KEYS)
    if unknown:
        raise WorldError(f"{where}.{sorted(unknown)[0]}: unknown key")
    answer = str(data.get("answer", "ok"))
    if answer not in DOMAIN_ANSWERS:
        raise WorldError(f"{where}.answer: {answer!r} is not one of {', '.join(DOMAIN_ANSWERS)}")
    for key in ("registered", "expires", "last_changed"):
        if key in data:
            try:
                relative_date(data[key])
            except ValueError:
                raise WorldError(f"{where}.{key}: {data[key]!r} is not YYYY-MM-DD or ±Nd") from None
    return {**data, "answer": answer}


def relative_date(value: Any, now=None):
    """A date of the world file: YYYY-MM-DD, or "+30d" / "-20d" from now (the sandbox's clock)."""
    import datetime as dt

    from core import clock

    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=value.tzinfo or dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = str(value).strip()
    if text[:1] in "+-" and text.endswith("d") and text[1:-1].isdigit():
        return (now or clock.now()) + dt.timedelta(days=int(text[:-1]))
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def parse_world(data: dict, base_dir: Path | None = None) -> World:
    if not isinstance(data, dict):
        raise WorldError("world: expected a mapping at the top level")
    known = {"name", "hosts", "templates", "rdap", "registry", "registry_file", "expected", "scanner", "description",
             "domains", "domain_defaults"}
    unknown = {k for k in set(data) - known if not str(k).startswith("x-")}  # x-…: YAML anchors
    if unknown:
        raise WorldError(f"{sorted(unknown)[0]}: unknown top-level key")
    base = base_dir or Path.cwd()
    hosts: dict[str, Host] = {}
    for name, spec in (data.get("hosts") or {}).items():
        key = ascii_name(str(name))
        hosts[key] = _host(key, spec)
    registry = data.get("registry")
    if data.get("registry_file"):
        registry_path = base / data["registry_file"]
        try:
            registry = json.loads(registry_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise WorldError(f"registry_file: cannot read {registry_path}: {exc}") from None
    world = World(
        name=str(data.get("name") or "world"),
        hosts=hosts,
        templates={str(k): str(v) for k, v in (data.get("templates") or {}).items()},
        rdap=_rdap(data.get("rdap")),
        registry=registry,
        domains={ascii_name(str(k)): _domain(str(k), v) for k, v in (data.get("domains") or {}).items()},
        domain_defaults=_domain("domain_defaults", data.get("domain_defaults") or {}),
        expected=list(data.get("expected") or []),
        scanner=dict(data.get("scanner") or {}),
        base_dir=base,
    )
    for host in hosts.values():
        for scheme in ("http", "https"):
            spec = getattr(host, scheme)
            if spec and spec.template and spec.template not in world.templates:
                raise WorldError(f"hosts[{host.name}].{scheme}.template: no template {spec.template!r}")
    return world


def load_world(path: str | Path) -> World:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise WorldError(f"{path}: not valid {path.suffix[1:].upper() or 'YAML'}: {exc}".splitlines()[0]) from None
    try:
        return parse_world(data, path.parent)
    except WorldError as exc:
        raise WorldError(f"{path}: {exc}") from None
