"""registry.phone_shared: one mobile number on different subjects (一个手机号码只能备案 1 个主体)."""

from __future__ import annotations

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, mobile_key, subject_check


@subject_check("registry.phone_shared")
def phone_shared(subject: SubjectView, index: RegistryIndex) -> Outcome:
    shared = {}
    for contact in subject.contacts:
        key = mobile_key(contact.mobile)
        others = index.subjects_by_mobile.get(key, set()) - {subject.subject_number}
        if len(key) == 11 and others:
            shared[key] = sorted(others)
    if not shared:
        return Outcome.passed("registry.phone_shared")
    mobile, others = next(iter(shared.items()))
    summary = f"{info('registry.phone_shared').title}：{mobile} 同时用于主体 {'、'.join(others)}"
    evidence = {"shared": [{"mobile": m, "other_subjects": o} for m, o in shared.items()]}
    return Outcome.failed("registry.phone_shared", Found("registry.phone_shared", summary, evidence))
