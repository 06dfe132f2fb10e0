"""registry.phone_shared: one mobile number on different subjects (一个手机号码只能备案 1 个主体).

Seed 001 (网站信息 Q13 备案的网站负责人手机号码能重复使用吗: 一个手机号码只能备案 1 个主体).
"""

from __future__ import annotations

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, mobile_key
from core.records import SubjectView


@check(
    code="registry.phone_shared",
    severity=WARNING,
    title="同一手机号码用于多个备案主体",
    rule="一个手机号码只能用于一个备案主体的负责人。",
    remediation="请为各备案主体的负责人分别登记本人的手机号码。",
    doc="one mobile number is not used by different subjects",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="负责人手机号码",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def phone_shared(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    shared = {}
    for contact in subject.contacts:
        key = mobile_key(contact.mobile)
        others = index.subjects_by_mobile.get(key, set()) - {subject.subject_number}
        if len(key) == 11 and others:
            shared[key] = sorted(others)
    if not shared:
        return None
    mobile, others = next(iter(shared.items()))
    summary = f"{mobile} 同时用于主体 {'、'.join(others)}"
    evidence = {"shared": [{"mobile": m, "other_subjects": o} for m, o in shared.items()]}
    return Finding(summary, evidence)
