"""registry.shell_subject: a subject with no website that is not cancelled (空壳主体).

Seed 001 (名词 Q11 什么是空壳主体？空壳主体的备案怎么操作).
"""

from __future__ import annotations

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, live_websites
from core.records import SubjectView


@check(
    code="registry.shell_subject",
    severity=WARNING,
    title="空壳主体：主体下无网站",
    rule="备案主体下须至少有一个已备案网站，无网站的主体为空壳主体，将被注销。",
    remediation="请新增网站备案，或申请注销该主体备案。",
    doc="a subject has at least one website (空壳主体)",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="主体下的网站",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def shell_subject(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    if live_websites(subject):
        return None
    cancelled = [w.website_number for w in subject.websites]
    summary = f"{subject.subject_number} 下没有已备案或备案中的网站"
    return Finding(summary, {"cancelled_websites": cancelled})
