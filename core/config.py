"""Configuration: TOML per CONTRACT §5, validated into frozen dataclasses.

Lookup order: --config, $BEIAN_CONFIG, ./beian.toml, built-in defaults.
Every error names the key it is about and fits on one line.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_CODE = re.compile(r"[a-z]+\.[a-z_]+")

DEFAULT_DATABASE = "sqlite:///beian.db"
MAINLAND = "CN"


class ConfigError(Exception):
    """A configuration problem; str() is a single line naming the key."""




def _network(value: Any, key: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a CIDR string, got {value!r}")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a valid CIDR range") from None


def _networks(value: Any, key: str) -> tuple:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of CIDR strings")
    return tuple(_network(v, f"{key}[{i}]") for i, v in enumerate(value))


def _provider_range(value: Any, key: str) -> ProviderRange:
    # "203.0.113.0/24", "203.0.113.0/24 HK" or {cidr = "...", region = "HK"}
    if isinstance(value, dict):
        unknown = set(value) - {"cidr", "region"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}: unknown key")
        cidr, region = value.get("cidr"), value.get("region", MAINLAND)
    elif isinstance(value, str) and " " in value.strip():
        cidr, region = value.split(None, 1)
    else:
        cidr, region = value, MAINLAND
    if not isinstance(region, str) or not region.strip():
        raise ConfigError(f"{key}: region must be a non-empty string such as CN or HK")
    return ProviderRange(_network(cidr, key), region.strip().upper())


def _nameserver(value: Any, key: str) -> tuple[str, int]:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected 'host' or 'host:port'")
    text = value.strip()
    host, port = text, 53
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], key)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(port_text, key)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not an IP address (host or host:port)") from None
    return host, port


def _port(text: str, key: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{key}: bad port {text!r}")
    return int(text)


def _positive(value: Any, key: str, *, integer: bool = False, allow_zero: bool = False) -> Any:
    ok_types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        raise ConfigError(f"{key}: expected a {'whole ' if integer else ''}number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key}: must be {'zero or more' if allow_zero else 'positive'}, got {value!r}")
    return value


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(value)


def _url(value: Any, key: str, schemes: tuple[str, ...]) -> str:
    text = _string(value, key).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{key}: {text!r} is not a URL of scheme {'/'.join(schemes)}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{key}: {text!r} has a bad port") from None
    return text.rstrip("/")


def _database(value: Any) -> str:
    text = _string(value, "database").strip()
    if not (text.startswith("sqlite:") or text.startswith("postgresql")):
        raise ConfigError(f"database: {text!r} must be a sqlite:/// or postgresql+psycopg:// URL")
    return text





def _email(value: Any, key: str) -> str:
    text = _string(value, key).strip()
    local, _, domain = text.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in text):
        raise ConfigError(f"{key}: {text!r} is not an email address")
    return text


def _time_of_day(value: Any, key: str) -> str:
    text = _string(value, key).strip()
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(f"{key}: {text!r} is not a time of day HH:MM")
    return f"{int(hours):02d}:{int(minutes):02d}"


def _dates(value: Any, key: str) -> tuple[str, ...]:
    from datetime import date

    out = []
    for i, item in enumerate(_list(value, key)):
        text = item.isoformat() if isinstance(item, date) else item
        try:
            out.append(date.fromisoformat(text).isoformat())
        except (TypeError, ValueError):
            raise ConfigError(f"{key}[{i}]: {item!r} is not a date YYYY-MM-DD") from None
    return tuple(out)


def _share(value: Any, key: str) -> float:
    number = _positive(value, key, allow_zero=True)
    if number > 1:
        raise ConfigError(f"{key}: a share between 0 and 1, got {value!r}")
    return float(number)


def _confirm_scans(value: Any, key: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table of check code = scans")
    merged = {}
    for code, scans in value.items():
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ConfigError(f"{key}.{code}: not a check code (family.name)")
        merged[code] = _positive(scans, f"{key}.{code}", integer=True)
    return tuple(sorted(merged.items()))


def check_codes(config: Config, known: set[str] | list[str]) -> None:
    """Config keys that name check codes must name existing ones (the checks are a layer above this one)."""
    for code, _scans in config.cases.confirm_scans:
        if code not in known:
            raise ConfigError(f"{config.source}: cases.confirm_scans.{code}: unknown check code")
    for key in ("include_codes", "exclude_codes"):
        for i, code in enumerate(getattr(config.notices, key)):
            if code not in known:
                raise ConfigError(f"{config.source}: notices.{key}[{i}]: {code!r} is an unknown check code")


def _codes(value: Any, key: str) -> tuple[str, ...]:
    out = []
    for i, code in enumerate(_list(value, key)):
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ConfigError(f"{key}[{i}]: {code!r} is not a check code (family.name)")
        out.append(code)
    return tuple(out)


def _rdap_urls(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table of TLD = RDAP base URL (\"*\" for every other TLD)")
    out = []
    for tld, url in value.items():
        name = str(tld).strip().lower().strip(".")
        if not name or not (name == "*" or re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", name)):
            raise ConfigError(f"{key}.{tld}: not a TLD (e.g. cn, com.cn) or \"*\"")
        out.append((name, _url(url, f"{key}.{tld}", ("http", "https")).rstrip("/")))
    return tuple(sorted(out))


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _render_enabled(value: Any, key: str) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in ("auto", "on", "off"):
        return value
    raise ConfigError(f"{key}: expected \"auto\", true or false, got {value!r}")


def _listen(value: Any, key: str) -> str:
    text = _string(value, key).strip()
    host, _, port = text.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ConfigError(f"{key}: {text!r} is not address:port (e.g. 127.0.0.1:8700)") from None
    _port(port, key)
    return text


def cron_trigger(expression: str):
    """An APScheduler CronTrigger in Asia/Shanghai from 5 fields, or 6 with seconds first."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone="Asia/Shanghai")
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday,
                           timezone="Asia/Shanghai")
    raise ValueError("expected 5 fields (minute hour day month weekday) or 6 (seconds first)")


def _cron(value: Any, key: str) -> str:
    text = _string(value, key).strip()
    if not text:
        return ""  # the job is off
    try:
        cron_trigger(text)
    except ValueError as exc:
        raise ConfigError(f"{key}: {text!r} is not a cron expression: {exc}") from None
    return text


def _list(value: Any, key: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list")
    return value


def _positive_float(value: Any, key: str) -> float:
    return float(_positive(value, key))


def _positive_int(value: Any, key: str) -> int:
    return _positive(value, key, integer=True)


def _count(value: Any, key: str) -> int:
    return _positive(value, key, integer=True, allow_zero=True)


def setting(default: Any, parse: Callable[[Any, str], Any]) -> Any:
    """A config key: its default, and the function that validates a TOML value for it (declared once)."""
    return field(default=default, metadata={"parse": parse})


@dataclass(frozen=True)
class ProviderRange:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    region: str = MAINLAND  # only mainland (CN) ranges count as the provider's own for filing

    @property
    def mainland(self) -> bool:
        return self.region == MAINLAND


@dataclass(frozen=True)
class ProviderConfig:
    name: str = setting("示例云", _string)
    code: str = setting("", _string)
    ip_ranges: tuple[ProviderRange, ...] = setting((), lambda v, k: tuple(_provider_range(x, f"{k}[{i}]") for i, x in enumerate(_list(v, k))))
    cdn_cname_suffixes: tuple[str, ...] = setting((), lambda v, k: tuple(s.lower().strip(".") for s in _strings(v, k)))


@dataclass(frozen=True)
class DnsConfig:
    nameservers: tuple[tuple[str, int], ...] = setting((), lambda v, k: tuple(_nameserver(x, f"{k}[{i}]") for i, x in enumerate(_list(v, k))))  # empty = the system's resolvers
    timeout_s: float = setting(3.0, _positive_float)


@dataclass(frozen=True)
class FetchConfig:
    timeout_s: float = setting(10.0, _positive_float)
    allow_ranges: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = setting((), _networks)
    # When non-empty, nothing outside these ranges is ever fetched (e.g. a provider that only crawls
    # its own address space, or a sandbox that must never leave loopback).
    only_ranges: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = setting((), _networks)
    max_bytes: int = setting(2 * 1024 * 1024, _positive_int)
    max_redirects: int = setting(5, _count)
    # requests at once, all websites together; a scan lowers it to what the open-file limit allows (after
    # raising the soft limit): thousands of sockets, most of them waiting on slow or dead hosts
    concurrency: int = setting(4096, _positive_int)
    per_ip_concurrency: int = setting(8, _positive_int)
    retries: int = setting(1, _count)
    user_agent: str = setting("beian-scanner/0.1 (+{contact_url})", _string)
    contact_url: str = setting("https://example.com/beian-scanner", lambda v, k: _url(v, k, ("http", "https")))
    extra_ca: str = setting("", _string)  # PEM file of CAs trusted beside certifi's when judging certificates (the sandbox CA)


@dataclass(frozen=True)
class OwnershipConfig:
    rdap_url: str = setting("", lambda v, k: _url(v, k, ("http", "https")))
    known_networks: str = setting("", _string)  # extra prefix -> network-name file (TSV), beside the built-in one
    cache_ttl_days: int = setting(30, _count)


@dataclass(frozen=True)
class NoticesConfig:
    smtp_url: str = setting("", lambda v, k: _url(v, k, ("smtp", "smtps", "smtp+starttls")))  # smtp://, smtps:// or smtp+starttls://[user:password@]host[:port]; empty = .eml files
    sender: str = setting("beian@examplecloud.cn", lambda v, k: _email(v, k))
    sender_name: str = setting("", _string)  # display name; default: the provider's name
    outbox_dir: str = setting("outbox", _string)
    operator_email: str = setting("", lambda v, k: _email(v, k) if v else "")  # escalations and alerts also go here when set
    rate_per_minute: float = setting(60.0, _positive_float)
    max_attempts: int = setting(8, _positive_int)  # per message, for 4xx/5xx replies; then it is marked failed and an alert raised
    retry_base_s: float = setting(300.0, lambda v, k: float(_positive(v, k, allow_zero=True)))  # backoff: base * 2^(attempt-1), capped at 6 hours
    timeout_s: float = setting(30.0, _positive_float)
    # Codes whose checks declare `notify=False` (informational) get cases and notices only when listed here;
    # codes listed in exclude_codes never do.
    include_codes: tuple[str, ...] = setting((), _codes)
    exclude_codes: tuple[str, ...] = setting((), _codes)


@dataclass(frozen=True)
class DeadlinesConfig:
    working_days: int = setting(10, _positive_int)
    reminder_days: int = setting(3, _count)  # working days before the deadline
    time_of_day: str = setting("18:00", lambda v, k: _time_of_day(v, k))  # Asia/Shanghai, on the last working day
    # chinese-calendar covers the years it was released for; later years fall back to weekends plus
    # this operator-maintained table (dates "YYYY-MM-DD"): holidays, and weekend days that are 调休 workdays.
    holidays: tuple[str, ...] = setting((), lambda v, k: _dates(v, k))
    workdays: tuple[str, ...] = setting((), lambda v, k: _dates(v, k))


@dataclass(frozen=True)
class CasesConfig:
    # The operator's overrides of the scans in a row that must see a finding before a case opens (each check
    # declares its default: checks.framework.Check.confirm_scans).
    confirm_scans: tuple[tuple[str, int], ...] = setting((), lambda v, k: _confirm_scans(v, k))
    # Crawl-health gate: a scan whose failure share (unreachable, DNS failure, could not check) is above
    # max(min_share, baseline * factor, baseline + margin) holds its notices and raises an alert.
    health_min_share: float = setting(0.15, _share)
    health_factor: float = setting(3.0, _positive_float)
    health_margin: float = setting(0.10, _share)
    health_baseline_scans: int = setting(5, _positive_int)
    # Chinese working days after a registry change of a website or its subject during which its findings wait
    # (listed as pending) instead of opening cases: the bureau's approval reaches the provider 1-2 working days
    # late (scanner/sync_grace.py). 0: no grace.
    sync_grace_days: int = setting(2, _count)


@dataclass(frozen=True)
class ServeConfig:
    listen: str = setting("127.0.0.1:8700", lambda v, k: _listen(v, k))
    token: str = setting("", _string)  # empty: the API listens on loopback only
    # Cron expressions in Asia/Shanghai: 5 fields (minute hour day month weekday), or 6 with seconds first.
    nightly_scan: str = setting("0 2 * * *", lambda v, k: _cron(v, k))
    sweep: str = setting("30 8 * * *", lambda v, k: _cron(v, k))  # reminders, deadlines passed, notices; then delivery
    weekly_report: str = setting("0 9 * * mon", lambda v, k: _cron(v, k))
    notices_after_scan: bool = setting(True, lambda v, k: _bool(v, k))
    max_parallel_scans: int = setting(2, _positive_int)  # the nightly scan and one operator rescan side by side
    poll_s: float = setting(2.0, _positive_float)

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True)
class RenderConfig:
    """Headless Chromium for homepages whose footer or content exists only after JavaScript runs."""

    enabled: str = setting("auto", lambda v, k: _render_enabled(v, k))  # "auto": on when Chromium and playwright are found; "on": required; "off"
    chromium_path: str = setting("", _string)  # empty: $BEIAN_CHROMIUM, then chromium / chromium-browser / google-chrome on PATH
    pages: int = setting(4, _positive_int)  # pages rendered at once (one browser per scan; split between its workers)
    timeout_s: float = setting(15.0, _positive_float)  # per page: load, scripts, the requests they make
    max_bytes: int = setting(8 * 1024 * 1024, _positive_int)  # per page, everything its scripts fetch
    max_requests: int = setting(60, _positive_int)  # per page
    max_pages: int = setting(20000, _count)  # per scan; past it pages are judged on their static HTML
    user: str = setting("beian-render", _string)  # a scan running as root runs the browser as this user (created when missing)


def _screenshot_kb(value: Any, key: str) -> int:
    kb = _positive(value, key, integer=True)
    if not 20 <= kb <= 150:
        raise ConfigError(f"{key}: between 20 and 150 (KB per image), got {value!r}")
    return kb


def _jpeg_quality(value: Any, key: str) -> int:
    quality = _positive(value, key, integer=True)
    if not 10 <= quality <= 95:
        raise ConfigError(f"{key}: a JPEG quality between 10 and 95, got {value!r}")
    return quality


@dataclass(frozen=True)
class ScreenshotsConfig:
    """Evidence screenshots of homepages with a filing.* or content.* finding, in the rendering browser."""

    enabled: bool = setting(True, _bool)  # on whenever rendering can run (the same browser takes them)
    max_per_scan: int = setting(500, _count)  # websites per scan (split between its workers); 0 = none
    concurrency: int = setting(2, _positive_int)  # pages at once (per scan worker), beside the rendering of the crawl
    quality: int = setting(50, _jpeg_quality)  # JPEG quality to start from; lowered until an image fits max_kb
    max_kb: int = setting(140, _screenshot_kb)  # per image (first viewport, footer region), at most 150
    retention_days: int = setting(90, _count)  # kept this long after the last case of the website closed


@dataclass(frozen=True)
class FilingConfig:
    # Provinces (ICP abbreviations such as 京, 粤) whose bureau requires the website number, not just the
    # subject number, on the homepage.
    require_website_number: tuple[str, ...] = setting((), _strings)


@dataclass(frozen=True)
class RegistryConfig:
    # `beian registry import` refuses a file that would mark more than this share of the stored live
    # websites (or subjects) removed, unless --allow-mass-removal is given: a truncated or mis-built
    # export must not empty the registry.
    max_removal_share: float = setting(0.2, _share)


@dataclass(frozen=True)
class DomainsConfig:
    """Registration data of the filed domains (RDAP), for the domain.* checks."""

    enabled: bool = setting(True, _bool)
    # RDAP base URL per TLD ("cn", "com.cn"; "*" for every other); a TLD not listed: the IANA bootstrap
    rdap_urls: tuple[tuple[str, str], ...] = setting((), _rdap_urls)
    expiry_warn_days: int = setting(90, _positive_int)
    cache_ttl_days: int = setting(7, _count)
    concurrency: int = setting(8, _positive_int)  # RDAP queries at once
    per_server_per_s: float = setting(5.0, _positive_float)  # queries per second to one RDAP server
    timeout_s: float = setting(10.0, _positive_float)


@dataclass(frozen=True)
class ContactsConfig:
    """Contact self-verification (负责人联系方式核验, seed 002): a link and a six-digit code by email, the code by SMS."""

    secret: str = setting("", _string)  # HMAC key of the verification links and codes; required to send them
    public_url: str = setting("", lambda v, k: _url(v, k, ("http", "https")))  # what customers open: `beian serve` as they reach it; empty: http://<serve.listen>
    working_days: int = setting(10, _positive_int)  # the verification period, Chinese working days ([deadlines] time_of_day)
    max_attempts: int = setting(5, _positive_int)  # wrong codes before a verification locks
    sms_webhook_url: str = setting("", lambda v, k: _url(v, k, ("http", "https")))  # POST {"to", "text"}; empty: email only
    sms_token: str = setting("", _string)  # Authorization: Bearer … for the webhook
    sms_timeout_s: float = setting(10.0, _positive_float)


def _secret(value: Any, key: str) -> str:
    text = _string(value, key)
    if text and len(text) < 16:
        raise ConfigError(f"{key}: at least 16 characters (it signs links customers open), or empty")
    return text


@dataclass(frozen=True)
class CustomerConfig:
    """Customer self-service (issue 23): each notice and reminder carries a personal, signed, expiring link to a page
    of that customer's open cases, with a 申请复查 button per case."""

    secret: str = setting("", _secret)  # HMAC key of the links; empty: contacts.secret; both empty: no links in notices
    public_url: str = setting("", lambda v, k: _url(v, k, ("http", "https")))  # empty: contacts.public_url, then http://<serve.listen>
    link_days: int = setting(30, _positive_int)  # a link opens its page for this many days after the mail
    case_interval_minutes: int = setting(60, _positive_int)  # per case: at most one 申请复查 in this many minutes
    per_day: int = setting(10, _positive_int)  # per customer (recipient): 申请复查 in any 24 hours


@dataclass(frozen=True)
class LookupConfig:
    """The MIIT cross-check (是否备案查询, seeds 003/004) through a filing query service. Off unless `url` is set: the
    product never asks a public service on its own."""

    url: str = setting("", lambda v, k: _url(v, k, ("http", "https")))  # base URL of the query service; empty = off
    token: str = setting("", _string)  # credentials: Authorization: Bearer …
    rate_per_s: float = setting(1.0, _positive_float)  # queries per second, at most
    timeout_s: float = setting(10.0, _positive_float)


@dataclass(frozen=True)
class ClusterConfig:
    """One scan across many machines (scanner.cluster): websites leased from a Redis queue, results in PostgreSQL."""

    redis_url: str = setting("", lambda v, k: _url(v, k, ("redis", "rediss")))  # empty: no cluster
    lease_s: float = setting(300.0, _positive_float)  # a website leased this long without a result goes back to the queue
    node_name: str = setting("", _string)  # this machine in progress, `beian scans` and /metrics; empty: the host name
    max_leases: int = setting(3, _positive_int)  # leases that ended without a result before a website is given up
    nightly: bool = setting(False, _bool)  # `beian serve` runs the nightly scan with --distributed (on the workers)


@dataclass(frozen=True)
class Config:
    database: str = DEFAULT_DATABASE
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    ownership: OwnershipConfig = field(default_factory=OwnershipConfig)
    notices: NoticesConfig = field(default_factory=NoticesConfig)
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    cases: CasesConfig = field(default_factory=CasesConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    screenshots: ScreenshotsConfig = field(default_factory=ScreenshotsConfig)
    filing: FilingConfig = field(default_factory=FilingConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    domains: DomainsConfig = field(default_factory=DomainsConfig)
    contacts: ContactsConfig = field(default_factory=ContactsConfig)
    customer: CustomerConfig = field(default_factory=CustomerConfig)
    lookup: LookupConfig = field(default_factory=LookupConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    source: str = "<defaults>"


_SECTIONS = {f.name: f.default_factory for f in fields(Config) if f.name not in ("database", "source")}


def parse_config(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a TOML-shaped dict into a Config; raises ConfigError naming the key."""
    kwargs: dict[str, Any] = {"source": source}
    for key, value in data.items():
        if key == "database":
            kwargs["database"] = _database(value)
            continue
        section_class = _SECTIONS.get(key)
        if section_class is None:
            raise ConfigError(f"{key}: unknown key")
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a [{key}] table")
        keys = {f.name: f for f in fields(section_class) if "parse" in f.metadata}
        section: dict[str, Any] = {}
        for sub, sub_value in value.items():
            declared = keys.get(sub)
            if declared is None:
                raise ConfigError(f"{key}.{sub}: unknown key")
            section[sub] = declared.metadata["parse"](sub_value, f"{key}.{sub}")
        kwargs[key] = section_class(**section)
    config = Config(**kwargs)
    if config.cluster.redis_url and not config.database.startswith("postgres"):
        raise ConfigError("cluster.redis_url: a cluster needs a PostgreSQL database (database = \"postgresql+psycopg://…\")")
    return config


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Find and load the configuration (see module docstring); ConfigError on any problem."""
    candidate: Path | None = None
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: config file not found")
    elif os.environ.get("BEIAN_CONFIG"):
        candidate = Path(os.environ["BEIAN_CONFIG"])
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: config file named by $BEIAN_CONFIG not found")
    elif Path("beian.toml").is_file():
        candidate = Path("beian.toml")
    if candidate is None:
        return Config()
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{candidate}: not UTF-8 text") from None
    try:
        return parse_config(data, str(candidate))
    except ConfigError as exc:
        raise ConfigError(f"{candidate}: {exc}") from None


def database_url(config: Config) -> str:
    """The SQLAlchemy URL, with the psycopg (v3) driver made explicit for bare postgresql:// URLs."""
    url = config.database
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def user_agent(config: Config) -> str:
    return config.fetch.user_agent.replace("{contact_url}", config.fetch.contact_url)
