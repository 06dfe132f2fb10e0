"""One declaration per check, and the registry that holds them all.

A check is a pure function plus its metadata, declared together in one module of `checks/`:

    @check(code="filing.link_missing", severity=VIOLATION, needs=READABLE_PAGE, after=SITE_CHECKS,
           title="备案号未链接至工信部备案管理系统", rule="…", remediation="…", doc="the number is hyperlinked")
    def link_missing(obs: Observation, record: SiteRecord) -> Result: ...

The function returns `None` (passed), a `Finding` or a list of them (failed; detail and evidence, never the
code), or `cannot("why")` (could not check). What the declaration says, the framework does: it calls the
function only for the filing statuses it applies to, only when what it `needs` was observed ("could not
check, reason" otherwise), and only when the checks it comes `after` passed (one finding per root cause,
CONTRACT §4; "not applicable" otherwise) — between two domain-scope checks the order holds per domain: the
later one reports nothing on a domain the earlier one failed (or a name under it). The notice's 相关字段,
what a waiver binds to, how many scans confirm a finding, whether a failure counts against crawl health
and whether it goes into notices at all are read from the declaration by the casework; the README's check table is generated from it (`python -m checks.table`).
Model: zlint (one lint per file, metadata beside it), Mozilla http-observatory (one analyzer per test).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from core.statuses import (
    CRITICAL,
    FAILED,
    FILED,
    LIVE,
    NOT_APPLICABLE,
    NOT_CHECKED,
    PASSED,
    VIOLATION,
    WARNING,
)

__all__ = ["CRITICAL", "VIOLATION", "WARNING", "Check", "Finding", "Outcome", "cannot", "check", "get", "all_checks"]


class Needs(StrEnum):
    """What a check reads, and so what must have been observed before it can run."""

    DNS = "dns"  # the DNS answers of the filed domains
    FETCH = "fetch"  # the homepage was tried: its host resolved to an address we may fetch
    ANSWER = "answer"  # the homepage answered: a page or a redirect
    PAGE = "page"  # a page was fetched
    READABLE_PAGE = "readable_page"  # a page whose visible content we can read (rendered when it needed it)
    # the filing numbers a visitor sees can be read: shown in the static HTML (whatever rendering then did),
    # or, when the static HTML shows none, on the page as rendered
    SHOWN_NUMBERS = "shown_numbers"
    REGISTRY = "registry"  # the registry alone: no crawl
    REGISTRATION = "registration"  # the filed domains' registration data (RDAP), looked up by the crawl
    # the state of a provider workflow with the customer (annual review round, contact verification, MIIT
    # cross-check): never run by a scan; the workflow calls `evaluate_workflow` on its own records
    WORKFLOW = "workflow"


class Scope(StrEnum):
    """What a finding is about: a website (its homepage), each filed domain, or the subject."""

    WEBSITE = "website"
    DOMAIN = "domain"
    SUBJECT = "subject"


class Field(StrEnum):
    """What the notice's 相关字段 column lists after the declared field name."""

    NONE = ""
    HOMEPAGE = "homepage"  # 网站首页：http://<homepage>/
    DOMAINS = "domains"  # the finding's domains, else the website's filed domains
    FOUND_DOMAINS = "found_domains"  # the finding's domains only


class Binds(StrEnum):
    """What an operator's waiver is bound to: it lapses when that changes."""

    RECORD = "record"
    PAGE = "page"  # the record and what the latest scan saw of the homepage
    DNS = "dns"  # the record and the latest DNS answers


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    title: str  # 问题描述 (short, Chinese)
    rule: str  # what the rule says, for notices (Chinese)
    remediation: str  # 整改要求 (Chinese)
    doc: str  # the rule as the README's check table states it
    fn: Callable[..., Any]
    needs: Needs = Needs.READABLE_PAGE
    scope: Scope = Scope.WEBSITE
    after: tuple[str, ...] = ()  # codes that must have passed first (root-cause order)
    statuses: tuple[str, ...] = (FILED,)  # filing statuses it applies to
    confirm_scans: int = 1  # scans in a row that must see a finding before a case opens
    network_failure: bool = False  # a finding counts against the crawl-health gate
    notice_field: str = "网站首页"
    notice_field_lists: Field = Field.HOMEPAGE
    waiver_binds: Binds = Binds.PAGE
    notify: bool = True  # False: informational, no case or notice unless [notices] include_codes names it
    website_fn: Callable[..., Any] | None = None  # a subject-scope registry check's part for each website

    @property
    def family(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def on_registry(self) -> bool:
        return self.needs == Needs.REGISTRY

    @property
    def on_workflow(self) -> bool:
        return self.needs == Needs.WORKFLOW

    def summary(self, finding: Finding) -> str:
        if finding.summary:
            return finding.summary
        return f"{self.title}：{finding.detail}" if finding.detail else self.title


@dataclass
class Finding:
    """What a failed check reports: what was seen (`detail`, appended to the title) and the evidence."""

    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    domain: str | None = None
    summary: str = ""  # the whole line, when the title does not start it
    code: str = ""  # filled in by the framework


@dataclass(frozen=True)
class CouldNotCheck:
    reason: str


def cannot(reason: str) -> CouldNotCheck:
    """The check could not decide (our failure, or nothing it could read); never a finding."""
    return CouldNotCheck(reason)


Result = Finding | list[Finding] | CouldNotCheck | None


@dataclass
class Outcome:
    code: str
    state: str  # passed | failed | not_checked | not_applicable
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""

    @property
    def decided(self) -> bool:
        """Passed or failed: the findings store closes or opens on it; other states leave it alone."""
        return self.state in (PASSED, FAILED)


_CHECKS: dict[str, Check] = {}
_loaded = False


def check(*, code: str, severity: str, title: str, rule: str, remediation: str, doc: str, **declared: Any):
    """Declare the decorated function as the check `code` (see the module docstring for the fields)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if code in _CHECKS and _CHECKS[code].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"check {code} is declared twice")
        if declared.get("needs") == Needs.REGISTRY:
            declared.setdefault("statuses", LIVE)
        declaration = Check(code=code, severity=severity, title=title, rule=rule, remediation=remediation, doc=doc,
                            fn=fn, **declared)
        if declaration.needs in (Needs.REGISTRY, Needs.WORKFLOW) and declaration.scope == Scope.DOMAIN:
            raise ValueError(f"{code}: a registry or workflow check is about a website or a subject")
        _CHECKS[code] = declaration
        fn.check = declaration
        return fn

    return register


def also_for_websites(code: str):
    """The same registry check's part for each website of the subject (its findings carry the website)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        declaration = _CHECKS[code]
        if declaration.scope != Scope.SUBJECT or not declaration.on_registry:
            raise ValueError(f"{code}: only a subject-scope registry check has a part for each website")
        _CHECKS[code] = replace(declaration, website_fn=fn)
        fn.check = _CHECKS[code]
        return fn

    return register


def load_all() -> None:
    """Import every module of `checks/` so that its declarations register (once per process)."""
    global _loaded
    if _loaded:
        return
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{__package__}.{module.name}")
    _loaded = True


def all_checks() -> list[Check]:
    load_all()
    return sorted(_CHECKS.values(), key=lambda c: c.code)


def get(code: str) -> Check:
    load_all()
    return _CHECKS[code]


def codes() -> list[str]:
    return [c.code for c in all_checks()]


def run(declaration: Check, *args: Any, fn: Callable[..., Any] | None = None) -> Outcome:
    """Call one check (or its part `fn`) and turn what it returned into an Outcome carrying its code."""
    result = (fn or declaration.fn)(*args)
    if result is None:
        return Outcome(declaration.code, PASSED)
    if isinstance(result, CouldNotCheck):
        return Outcome(declaration.code, NOT_CHECKED, reason=result.reason)
    found = result if isinstance(result, list) else [result]
    if not found:
        return Outcome(declaration.code, PASSED)
    for item in found:
        item.code = declaration.code
        item.summary = declaration.summary(item)
    return Outcome(declaration.code, FAILED, found)


def skipped(declaration: Check, reason: str) -> Outcome:
    return Outcome(declaration.code, NOT_APPLICABLE, reason=reason)


def not_checked(declaration: Check, reason: str) -> Outcome:
    return Outcome(declaration.code, NOT_CHECKED, reason=reason)
