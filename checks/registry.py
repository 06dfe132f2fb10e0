"""Shared by the registry.* checks: the registry as the checks see it, cross-subject indexes, rule data.

Registry checks (declared with needs=Needs.REGISTRY) need no crawl: pure functions over the stored filing
data. Subject-scope checks take (subject, index); website-scope checks take (website, subject, index).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.records import SubjectView, WebsiteView
from core.statuses import LIVE

DATA = Path(__file__).parent / "data"


def mobile_key(text: str) -> str:
    """A mobile number reduced to its 11 national digits (or the raw digits when it is not one)."""
    digits = re.sub(r"\D", "", text or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def certificate_key(kind: str, number: str) -> str:
    compact = re.sub(r"[\s-]", "", number).upper()
    return f"{kind.strip()}|{compact}"


@dataclass
class RegistryIndex:
    """Facts across subjects: which subjects use a mobile number or a certificate."""

    subjects_by_mobile: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    subjects_by_certificate: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def build(cls, subjects) -> RegistryIndex:
        index = cls()
        for subject in subjects:
            for contact in subject.contacts:
                key = mobile_key(contact.mobile)
                if len(key) == 11:
                    index.subjects_by_mobile[key].add(subject.subject_number)
            if subject.certificate_number.strip():
                key = certificate_key(subject.certificate_type, subject.certificate_number)
                index.subjects_by_certificate[key].add(subject.subject_number)
        return index


@dataclass(frozen=True)
class Province:
    abbreviation: str
    code: str
    names: tuple[str, ...]


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    result = {}
    for line in (DATA / "provinces.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            abbreviation, code, *names = line.split("\t")
            result[abbreviation] = Province(abbreviation, code, tuple(names))
    return result


def province_by_code(code: str) -> Province | None:
    return next((p for p in provinces().values() if p.code == code), None)


def province_by_name(name: str) -> Province | None:
    text = name.strip()
    if not text:
        return None
    return next((p for p in provinces().values() if any(text.startswith(n) for n in p.names)), None)


@lru_cache(maxsize=1)
def mobile_segments() -> frozenset[str]:
    lines = (DATA / "mobile_segments.tsv").read_text(encoding="utf-8").splitlines()
    return frozenset(line.split("\t")[0] for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def segment_carriers() -> dict[str, str]:
    """3-digit segment -> carrier (中国移动, 中国联通, 中国电信, 中国广电), from the segment table."""
    lines = (DATA / "mobile_segments.tsv").read_text(encoding="utf-8").splitlines()
    return {parts[0]: parts[1] for parts in (line.split("\t") for line in lines if line.strip() and not line.startswith("#"))}


@lru_cache(maxsize=4096)
def carrier_of(mobile: str) -> str | None:
    """The carrier a mainland mobile number belongs to by its segment: libphonenumber's carrier data (zh), the
    segment table where it has none; None for a number that is not a mainland mobile. A number ported to
    another carrier (携号转网) keeps its segment's carrier here: no public data says otherwise."""
    import phonenumbers
    from phonenumbers import carrier

    digits = mobile_key(mobile)
    if len(digits) != 11 or not digits.startswith("1"):
        return None
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    name = carrier.name_for_number(number, "zh") if phonenumbers.is_valid_number(number) else ""
    return name or segment_carriers().get(digits[:3])


@lru_cache(maxsize=1)
def approved_suffixes() -> frozenset[str]:
    lines = (DATA / "miit_suffixes.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def name_terms() -> dict[str, tuple[str, ...]]:
    rules: dict[str, list[str]] = defaultdict(list)
    for line in (DATA / "website_names.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            term, rule, *_ = line.split("\t")
            rules[rule].append(term)
    return {rule: tuple(terms) for rule, terms in rules.items()}


def live_websites(subject: SubjectView) -> list[WebsiteView]:
    return [w for w in subject.websites if w.status in LIVE]
