"""registry.province_mismatch: the filing number's province against the certificate's region
(USCC characters 3-4, resident ID digits 1-2, GB/T 2260) and the subject's province field."""

from __future__ import annotations

import re

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import (
    RegistryIndex,
    SubjectView,
    province_by_code,
    province_by_name,
    provinces,
    subject_check,
)
from checks.registry_certificate_invalid import USCC_TYPES, problem
from core.icp import parse_number


def certificate_region(kind: str, number: str) -> tuple[str, str] | None:
    """(GB/T 2260 province code, where it was read) for certificates that carry a region."""
    text = re.sub(r"[\s-]", "", number).upper()
    if problem(kind, number) is not None:
        return None  # an invalid number is certificate_invalid's finding, not a region
    if kind == "居民身份证":
        return text[:2], "身份证号码前两位"
    if kind in USCC_TYPES and len(text) == 18:
        return text[2:4], "统一社会信用代码第 3-4 位"
    return None


@subject_check("registry.province_mismatch")
def province_mismatch(subject: SubjectView, index: RegistryIndex) -> Outcome:
    number = parse_number(subject.subject_number)
    filed = provinces().get(number.province) if number else None
    if filed is None:
        return Outcome.not_checked("registry.province_mismatch", "subject number has no valid province")
    mismatches = []
    declared = province_by_name(subject.province)
    if declared is not None and declared.abbreviation != filed.abbreviation:
        mismatches.append({"field": "province", "value": subject.province, "region": declared.names[0]})
    region = certificate_region(subject.certificate_type, subject.certificate_number)
    if region is not None:
        code, where = region
        holder = province_by_code(code)
        # codes 10 and 00 are central registrations (国家级登记机关): no province to compare
        if holder is not None and holder.abbreviation != filed.abbreviation:
            mismatches.append({"field": "certificate_number", "value": subject.certificate_number, "region": holder.names[0],
                               "read_from": where})  # fmt: skip
    if not mismatches:
        return Outcome.passed("registry.province_mismatch")
    first = mismatches[0]
    summary = (f"{info('registry.province_mismatch').title}：备案号为{filed.names[0]}（{filed.abbreviation}），"
               f"{'证件' if first['field'] == 'certificate_number' else '主体所在省份'}属于{first['region']}")  # fmt: skip
    evidence = {"filing_province": filed.names[0], "abbreviation": filed.abbreviation, "mismatches": mismatches}
    return Outcome.failed("registry.province_mismatch", Found("registry.province_mismatch", summary, evidence))
