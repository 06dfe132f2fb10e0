"""content.preapproval_missing: a unit's site carries content of a 前置审批 field (news, publishing,
medical, drugs and medical devices, finance, culture, film/TV, games, 网络预约车, 电子公告) without an
approval of the matching category on record. (For 个人 sites such content is subject_mismatch.)"""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.content import PREAPPROVAL, approved, present

# A state organ's 政务信息 (时政要闻, 通知公告) is its own information release, not a news service.
NEWS_EXEMPT = ("政府机关",)


@check("content.preapproval_missing")
def preapproval_missing(obs: dict, record: SiteRecord) -> Outcome:
    if record.nature == "个人":
        return Outcome.passed("content.preapproval_missing")
    fields = tuple(f for f in PREAPPROVAL if not (f == "news" and record.nature in NEWS_EXEMPT))
    missing = [c for c in present(obs["page"], fields) if not approved(c.name, record.pre_approvals)]
    if not missing:
        return Outcome.passed("content.preapproval_missing")
    labels = "、".join(c.label for c in missing)
    summary = (f"{info('content.preapproval_missing').title}：网站涉及{labels}内容（命中“{'、'.join(missing[0].terms[:3])}”），"
               f"备案中无相应前置审批；请删除相关内容或取得审批后变更备案")  # fmt: skip
    evidence = {"url": obs["fetch"]["final_url"], "categories": [c.evidence() for c in missing],
                "approvals_on_record": [a.category for a in record.pre_approvals]}  # fmt: skip
    return Outcome.failed("content.preapproval_missing",
                          Found("content.preapproval_missing", summary, evidence, domain=obs["homepage"]))  # fmt: skip
