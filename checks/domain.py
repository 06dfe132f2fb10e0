"""Shared by the domain.* checks: the registrations the crawl looked up, the moment it looked, name rules."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from checks.framework import Binds, Field, Needs, Scope, cannot
from core.observation import Observation, Registration

DATA = Path(__file__).resolve().parent / "data"
COMPANY = re.compile(r"(公司|集团|企业|工作室|中心|协会|学会|学校|大学|学院|医院|研究院|研究所|委员会|政府|局|厅|部|"
                     r"co\.?,? ?ltd|inc\b|llc|limited|corporation|company)", re.I)


# What every domain.* check declares alike: it reads the RDAP registration of each filed domain, its findings
# are about a domain, the notice lists those domains, and a waiver is bound to the record.
REGISTRATION_CHECK = {"needs": Needs.REGISTRATION, "scope": Scope.DOMAIN, "notice_field": "备案域名",
                      "notice_field_lists": Field.FOUND_DOMAINS, "waiver_binds": Binds.RECORD}

def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def observed_at(obs: Observation) -> datetime | None:
    """When the crawl saw it: the "now" of date-relative checks (recorded inputs judge the same forever)."""
    return parse_time(obs.at)


def looked_up(obs: Observation) -> tuple[list[Registration], list[str]]:
    """(registrations RDAP answered, "domain: why not" for the rest)."""
    ok, unknown = [], []
    for registration in (obs.domains or {}).values():
        if registration.ok:
            ok.append(registration)
        else:
            unknown.append(f"{registration.domain}: {registration.reason or registration.state}")
    return ok, unknown


def evidence(registration: Registration, **more) -> dict:
    data = {"domain": registration.domain, "filed": registration.filed, "rdap_server": registration.server,
            "registered": registration.registered, "expires": registration.expires,
            "last_changed": registration.last_changed, "registrar": registration.registrar,
            "registrant": registration.registrant, "cached": registration.cached}
    data.update(more)
    return data


def normalise_name(name: str) -> str:
    """An organisation or person name for comparison: NFKC, case, spaces, punctuation and brackets dropped."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\s\W_]+", "", text)


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


def looks_like_unit(name: str) -> bool:
    return bool(COMPANY.search(name or ""))


@cache
def approved_registrars() -> tuple[frozenset[str], frozenset[str]]:
    """(normalised names and aliases, IANA ids) of MIIT-approved registrars (checks/data/miit_registrars.tsv)."""
    names: set[str] = set()
    ids: set[str] = set()
    for line in (DATA / "miit_registrars.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        names.add(normalise_name(parts[0]))
        if len(parts) > 1:
            names.update(normalise_name(alias) for alias in parts[1].split("|") if alias.strip())
        if len(parts) > 2 and parts[2].strip():
            ids.add(parts[2].strip())
    return frozenset(names), frozenset(ids)


def verdict(found: list, unknown: list[str]):
    """Each domain check's end: its findings, else "could not check" for the domains RDAP could not tell about,
    else passed."""
    if found:
        return found
    if unknown:
        return cannot("; ".join(unknown))
    return None
