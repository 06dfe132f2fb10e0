"""content.subject_mismatch: the content does not fit the subject's nature (seed 001 网站信息 Q2/Q7,
seeds 003/004 Q2): a 个人 site carries no enterprise, forum, shop or 前置审批 content; a company site
does not present itself as a government body."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.content import PREAPPROVAL, present

PERSONAL_FORBIDDEN = ("enterprise", "forum", "shop", "government", *PREAPPROVAL)
GOVERNMENT_NATURES = ("政府机关",)


@check("content.subject_mismatch")
def subject_mismatch(obs: dict, record: SiteRecord) -> Outcome:
    page = obs["page"]
    if record.nature == "个人":
        found = present(page, PERSONAL_FORBIDDEN)
        advice = "个人备案网站只能发布个人非经营性内容，请删除上述内容，或以单位主体办理备案"
    elif record.nature not in GOVERNMENT_NATURES:
        found = present(page, ("government",))
        advice = f"{record.nature}网站不得以政府机关名义发布政务内容，请删除相关内容"
    else:
        found = []
    if not found:
        return Outcome.passed("content.subject_mismatch")
    labels = "、".join(c.label for c in found)
    summary = f"{info('content.subject_mismatch').title}：{record.nature}网站出现{labels}内容（命中“{'、'.join(found[0].terms[:3])}”）；{advice}"
    evidence = {"url": obs["fetch"]["final_url"], "nature": record.nature, "categories": [c.evidence() for c in found]}
    return Outcome.failed("content.subject_mismatch",
                          Found("content.subject_mismatch", summary, evidence, domain=obs["homepage"]))  # fmt: skip
