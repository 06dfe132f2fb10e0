"""The types every check shares, and the registry of checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, NOT_CHECKED = "passed", "failed", "not_checked"


@dataclass(frozen=True)
class PreApproval:
    category: str
    number: str = ""


@dataclass
class SiteRecord:
    """What the registry says about one website and its subject (as the checks need it)."""

    website_id: int
    website_number: str
    website_name: str
    status: str
    domains: list[str]
    homepage_host: str
    subject_number: str
    subject_name: str
    nature: str
    province: str = ""
    service_content: str = ""
    pre_approvals: list[PreApproval] = field(default_factory=list)
    require_website_number: bool = False  # the subject's province requires the -N number on the homepage


@dataclass
class Found:
    code: str
    summary: str
    evidence: dict[str, Any]
    domain: str | None = None


@dataclass
class Outcome:
    code: str
    state: str  # passed | failed | not_checked
    findings: list[Found] = field(default_factory=list)
    reason: str = ""  # for not_checked: why we could not tell

    @classmethod
    def passed(cls, code: str) -> Outcome:
        return cls(code, PASSED)

    @classmethod
    def failed(cls, code: str, *findings: Found) -> Outcome:
        return cls(code, FAILED, list(findings))

    @classmethod
    def not_checked(cls, code: str, reason: str) -> Outcome:
        return cls(code, NOT_CHECKED, reason=reason)


CheckFn = Callable[[dict, SiteRecord], Outcome]
CHECKS: dict[str, CheckFn] = {}


def check(code: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        CHECKS[code] = fn
        return fn

    return register
