"""What the crawl saw of one website in one scan, typed: the DNS answer per name with each address's class
and owner, each HTTP attempt, the fetch result, the page's facts and how it was rendered.

The crawl builds it (spiders/), the checks read it (checks/), the store keeps it as JSON (`dump`/`load`, the
only encoding: the scan writer, cases and reports all go through them). Wherever something could not be
observed there is a reason: `Fetch.failure` and `Fetch.ours` (our failure, not the site's), `DnsRecord.outcome`,
`Render.state`/`reason` — as in sslyze, an attempt is completed or has an error with its reason.

Stored observations of version 1 (plain dicts with the same keys) load unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

VERSION = 2


class FetchState(StrEnum):
    PAGE = "page"  # an HTML (or other) page answered 2xx
    REDIRECT_OFFSITE = "redirect_offsite"  # the homepage sent us outside the filed domains
    FAILED = "failed"  # we connected (or tried to) and it failed
    NOT_FETCHED = "not_fetched"  # nothing was connected to: DNS or the address policy decided


class Failure(StrEnum):
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    TLS = "tls"
    REFUSED = "refused"
    RESET = "reset"
    ERROR = "error"
    REDIRECTS = "redirects"  # too many redirects (a loop)
    DNS = "dns"  # the homepage host did not resolve
    PRIVATE = "private"  # it resolved to a private/reserved address outside fetch.allow_ranges
    BLOCKED = "blocked"  # outside fetch.only_ranges: our policy, could not check


# DNS outcomes. TIMEOUT is our failure (could not check); the others are the domain's.
DNS_OK, DNS_NXDOMAIN, DNS_NO_ADDRESS, DNS_SERVFAIL, DNS_TIMEOUT = "ok", "nxdomain", "no_address", "servfail", "timeout"
DNS_OUR_FAILURES = frozenset({DNS_TIMEOUT})
NOT_CONNECTED = (Failure.DNS, Failure.PRIVATE, Failure.BLOCKED)


def _load(cls, data: dict | None):
    """A dataclass from a dict, ignoring keys it does not know (observations from newer versions)."""
    if data is None:
        return None
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _dump(obj) -> dict:
    """Fields that differ from their defaults, recursively; keeps stored observations small."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if (value is None and f.default is None) or (f.name in obj._omit_empty and value in ("", [], {}, False, 0)):
            continue
        if hasattr(value, "_omit_empty"):
            value = _dump(value)
        elif isinstance(value, list) and value and hasattr(value[0], "_omit_empty"):
            value = [_dump(v) for v in value]
        elif isinstance(value, dict) and value and hasattr(next(iter(value.values())), "_omit_empty"):
            value = {k: _dump(v) for k, v in value.items()}
        out[f.name] = value
    return out


@dataclass
class Owner:
    """One address, classified: provider (mainland or offshore), provider CDN, private, known, unknown."""

    address: str
    kind: str
    owner: str = ""
    network: str = ""
    region: str = ""
    asn: str = ""
    country: str = ""
    source: str = ""  # config | cname | known_networks | rdap | reserved | error
    _omit_empty = ("owner", "network", "region", "asn", "country", "source")


@dataclass
class DnsRecord:
    outcome: str = DNS_OK
    chain: list[str] = field(default_factory=list)  # CNAME targets in order
    addresses: list[str] = field(default_factory=list)  # A then AAAA
    detail: str = ""
    owners: list[Owner] | None = None  # not classified for 备案中 websites
    _omit_empty = ("detail",)

    @classmethod
    def load(cls, data: dict) -> DnsRecord:
        record = _load(cls, data)
        if record.owners is not None:
            record.owners = [o if isinstance(o, Owner) else _load(Owner, o) for o in record.owners]
        return record


@dataclass
class Attempt:
    """One request of the homepage (or of a redirect target)."""

    url: str
    status: int | None = None
    address: str | None = None
    elapsed_ms: int | None = None
    bytes: int | None = None
    failure: str | None = None
    error: str | None = None
    ours: bool = False
    location: str | None = None
    _omit_empty = ("ours",)


@dataclass
class Fetch:
    state: str
    attempts: list[Attempt] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    elapsed_ms: int = 0
    final_url: str | None = None
    status: int | None = None
    address: str | None = None
    content_type: str | None = None
    bytes: int | None = None
    failure: str | None = None
    ours: bool = False
    reason: str = ""
    offsite_url: str | None = None
    redirect_kind: str | None = None
    _omit_empty = ("ours", "reason")

    @classmethod
    def load(cls, data: dict) -> Fetch:
        fetch = _load(cls, data)
        fetch.attempts = [a if isinstance(a, Attempt) else _load(Attempt, a) for a in fetch.attempts]
        return fetch

    @property
    def connected_failure(self) -> bool:
        """The site was tried and failed for a reason of its own (not DNS, not our policy, not our failure)."""
        return self.state == FetchState.FAILED and not self.ours


@dataclass
class NumberSeen:
    """An ICP number as it stands on the page."""

    number: str  # canonical form
    subject: str
    kind: str  # 备 | 证
    is_app: bool
    text: str  # as it stands on the page, normalised
    linked: bool
    link: str | None
    snippet: str
    region: str
    _omit_empty = ()


@dataclass
class Render:
    """How a browser showed the page, when the static HTML lacked what the checks look for."""

    state: str  # rendered | failed | empty | off
    reason: str = ""
    ms: int = 0
    requests: int = 0
    bytes: int = 0
    blocked: list[str] = field(default_factory=list)
    static_lacked: list[str] = field(default_factory=list)
    static: dict = field(default_factory=dict)  # text_chars, numbers, app_shell of the static HTML
    _omit_empty = ("reason", "blocked", "static")

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "empty")


@dataclass
class Page:
    """The facts of one page, as the checks need them (visible text normalised: NFKC + simplified)."""

    title: str = ""
    headings: list[str] = field(default_factory=list)
    text: str = ""
    nav_text: str = ""
    footer_text: str = ""
    numbers: list[NumberSeen] = field(default_factory=list)
    psb_numbers: list[str] = field(default_factory=list)
    numbers_in_hidden: list[str] = field(default_factory=list)  # in comments, scripts or hidden markup
    meta_refresh: str | None = None
    script_redirect: str | None = None
    links: int = 0
    scripts: int = 0
    forms: list[str] = field(default_factory=list)  # login, register, post, search, cart
    generator: str = ""
    meta_text: str = ""  # meta keywords and description (where hijackers stuff their terms)
    app_shell: bool = False
    signals: dict = field(default_factory=dict)  # forum software, cart links, prices
    render: Render | None = None
    _omit_empty = ()

    @classmethod
    def load(cls, data: dict) -> Page:
        page = _load(cls, data)
        page.numbers = [n if isinstance(n, NumberSeen) else _load(NumberSeen, n) for n in page.numbers]
        if isinstance(page.render, dict):
            page.render = _load(Render, page.render)
        return page


# Registration lookup states: OK answered; the others are "could not check" (never a finding).
REG_OK, REG_NOT_FOUND, REG_ERROR, REG_RATE_LIMITED, REG_TIMEOUT, REG_UNSUPPORTED = (
    "ok", "not_found", "error", "rate_limited", "timeout", "unsupported",
)


@dataclass
class Registration:
    """What RDAP says about one registrable domain of the website (the filed names under it in `filed`), or
    why it could not be looked up (`state` other than ok, with `reason`). Dates are ISO 8601 (UTC)."""

    domain: str
    state: str = REG_OK
    reason: str = ""
    filed: list[str] = field(default_factory=list)
    server: str = ""  # the RDAP base URL asked
    registered: str | None = None  # RDAP event "registration"
    expires: str | None = None  # "expiration"
    last_changed: str | None = None  # "last changed"
    registrar: str = ""
    registrar_id: str = ""  # IANA registrar id (publicIds)
    registrant: str = ""  # the registrant entity's name; empty when absent or redacted
    registrant_kind: str = ""  # org | individual | "" (vCard kind)
    redacted: list[str] = field(default_factory=list)  # RFC 9537 redacted field names
    status: list[str] = field(default_factory=list)
    cached: bool = False  # from the store's RDAP cache, not asked in this scan
    _omit_empty = ("reason", "filed", "server", "registrar", "registrar_id", "registrant", "registrant_kind",
                   "redacted", "status", "cached")

    @property
    def ok(self) -> bool:
        return self.state == REG_OK


@dataclass
class Certificate:
    """The certificate an https answer of one host presented (seen on the crawl's own connection)."""

    host: str
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_before: str = ""  # ISO 8601 UTC
    not_after: str = ""
    self_signed: bool = False  # issuer is the subject and its own key signs it
    trusted: bool = False  # it chains to certifi's roots or fetch.extra_ca (leaf signed by one of them)
    host_matches: bool = True  # a SAN (or, without SANs, the CN) covers the host
    error: str = ""  # why the certificate could not be read
    _omit_empty = ("sans", "self_signed", "trusted", "error")


@dataclass
class Observation:
    homepage: str
    dns: dict[str, DnsRecord] = field(default_factory=dict)  # per name as filed
    nameservers: list[str] = field(default_factory=list)
    fetch: Fetch | None = None
    page: Page | None = None
    at: str = ""  # when the crawl saw it (ISO 8601), the "now" of the date-relative checks
    # per registrable domain; None = not looked up (domain checks off, or a website in 备案中)
    domains: dict[str, Registration] | None = None
    tls: dict[str, Certificate] = field(default_factory=dict)  # per host that answered https
    v: int = VERSION
    _omit_empty = ("at", "tls")

    def answer(self, name: str) -> DnsRecord | None:
        return self.dns.get(name)


def dump(obs: Observation) -> dict:
    """The observation as plain JSON-ready data (the stored form)."""
    return _dump(obs)


def load(data: dict) -> Observation:
    """An observation from its stored form (version 1 or 2)."""
    obs = _load(Observation, data)
    obs.dns = {name: DnsRecord.load(entry) for name, entry in (obs.dns or {}).items()}
    if isinstance(obs.fetch, dict):
        obs.fetch = Fetch.load(obs.fetch)
    if isinstance(obs.page, dict):
        obs.page = Page.load(obs.page)
    if obs.domains is not None:
        obs.domains = {k: v if isinstance(v, Registration) else _load(Registration, v) for k, v in obs.domains.items()}
    obs.tls = {k: v if isinstance(v, Certificate) else _load(Certificate, v) for k, v in (obs.tls or {}).items()}
    return obs


def plain(value: Any) -> Any:
    """A part of an observation (a dataclass, or a list of them) as JSON-ready data, for evidence."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "_omit_empty"):
        return _dump(value)
    return value
