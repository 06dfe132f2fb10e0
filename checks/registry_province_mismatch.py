"""registry.province_mismatch: the filing number's province against the certificate's region
(USCC characters 3-4, resident ID digits 1-2, GB/T 2260) and the subject's province field.

Seed 001 (主体信息 Q1 备案所属省份根据什么判断: 以主办单位证件地址为准).
"""

from __future__ import annotations

import re

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, cannot, check
from checks.registry import RegistryIndex, province_by_code, province_by_name, provinces
from checks.registry_certificate_invalid import USCC_TYPES, problem
from core.icp import parse_number
from core.records import SubjectView


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


@check(
    code="registry.province_mismatch",
    severity=WARNING,
    title="备案省份与证件所属地区不符",
    rule="备案号的省份须与主体证件（统一社会信用代码登记机关、身份证签发地或居住证所在地）所属地区一致。",
    remediation="请核对主体所在省份；证件与备案省份不一致的，需提供当地居住证等材料，或在证件所属省份办理备案。",
    doc="the filing province matches the certificate's region",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="主体所在省份 / 证件住所地",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def province_mismatch(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    number = parse_number(subject.subject_number)
    filed = provinces().get(number.province) if number else None
    if filed is None:
        return cannot("subject number has no valid province")
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
                               "read_from": where})
    if not mismatches:
        return None
    first = mismatches[0]
    summary = (f"备案号为{filed.names[0]}（{filed.abbreviation}），"
               f"{'证件' if first['field'] == 'certificate_number' else '主体所在省份'}属于{first['region']}")
    evidence = {"filing_province": filed.names[0], "abbreviation": filed.abbreviation, "mismatches": mismatches}
    return Finding(summary, evidence)
