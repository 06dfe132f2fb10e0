"""registry.subject_duplicate (beyond the contract): the same certificate under two subject numbers.

Seed 001 (名词 Q7 一个主体有多个主体备案号的如何处理: 一个主体只能有一个主体备案号).
"""

from __future__ import annotations

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, certificate_key
from core.records import SubjectView


@check(
    code="registry.subject_duplicate",
    severity=WARNING,
    title="同一证件重复备案为多个主体",
    rule="同一主体证件只能对应一个主体备案号。",
    remediation="请将网站合并到同一主体备案号下，并注销重复的主体。",
    doc="one certificate is not filed as two subjects (beyond the contract)",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="主体证件",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def subject_duplicate(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    if not subject.certificate_number.strip():
        return None
    key = certificate_key(subject.certificate_type, subject.certificate_number)
    others = sorted(index.subjects_by_certificate.get(key, set()) - {subject.subject_number})
    if not others:
        return None
    summary = f"证件 {subject.certificate_number} 还备案为主体 {'、'.join(others)}"
    evidence = {"certificate_type": subject.certificate_type, "certificate_number": subject.certificate_number,
                "other_subjects": others}
    return Finding(summary, evidence)
