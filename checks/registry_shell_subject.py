"""registry.shell_subject: a subject with no website that is not cancelled (空壳主体)."""

from __future__ import annotations

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, live_websites, subject_check


@subject_check("registry.shell_subject")
def shell_subject(subject: SubjectView, index: RegistryIndex) -> Outcome:
    if live_websites(subject):
        return Outcome.passed("registry.shell_subject")
    cancelled = [w.website_number for w in subject.websites]
    summary = f"{info('registry.shell_subject').title}：{subject.subject_number} 下没有已备案或备案中的网站"
    return Outcome.failed("registry.shell_subject", Found("registry.shell_subject", summary,
                                                          {"cancelled_websites": cancelled}))  # fmt: skip
