"""registry.subject_duplicate (beyond the contract): the same certificate under two subject numbers."""

from __future__ import annotations

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, certificate_key, subject_check


@subject_check("registry.subject_duplicate")
def subject_duplicate(subject: SubjectView, index: RegistryIndex) -> Outcome:
    if not subject.certificate_number.strip():
        return Outcome.passed("registry.subject_duplicate")
    key = certificate_key(subject.certificate_type, subject.certificate_number)
    others = sorted(index.subjects_by_certificate.get(key, set()) - {subject.subject_number})
    if not others:
        return Outcome.passed("registry.subject_duplicate")
    summary = f"{info('registry.subject_duplicate').title}：证件 {subject.certificate_number} 还备案为主体 {'、'.join(others)}"
    evidence = {"certificate_type": subject.certificate_type, "certificate_number": subject.certificate_number,
                "other_subjects": others}  # fmt: skip
    return Outcome.failed("registry.subject_duplicate", Found("registry.subject_duplicate", summary, evidence))
