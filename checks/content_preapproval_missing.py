
"""content.preapproval_missing: a unit's site carries content of a 前置审批 field (news, publishing,
medical, drugs and medical devices, finance, culture, film/TV, games, 网络预约车, 电子公告) without an
approval of the matching category on record. (For 个人 sites such content is subject_mismatch.)

Seed 001 (名词 Q14 什么是前置审批; 网站信息 Q11 如何办理前置审批, Q12 总是提示我要前置审批); seeds 003/004 Q2 (新闻、出版、
教育、医疗保健、药品和医疗器械等互联网信息服务…应经有关主管部门审核同意).
"""

from __future__ import annotations

from checks.content import PREAPPROVAL, approved, present
from checks.filing import SITE_CHECKS
from checks.framework import VIOLATION, Finding, check
from core.observation import Observation
from core.records import SiteRecord

# A state organ's 政务信息 (时政要闻, 通知公告) is its own information release, not a news service.
NEWS_EXEMPT = ("政府机关",)
@check(
    code="content.preapproval_missing",
    severity=VIOLATION,
    title="网站内容涉及前置审批但无相应审批",
    rule="涉及新闻、出版、医疗保健、药品和医疗器械、金融、文化、广播电影电视、网络游戏、电子公告等内容的网站，须取得主管部门的前置审批并在备案中登记。",
    remediation="请删除涉及前置审批的内容，或取得相应主管部门的前置审批文件后变更备案信息。",
    doc="a unit's content in a 前置审批 field (news, publishing, medical, drugs/devices, finance, games, culture, film/TV, 网络预约车, 电子公告) has an approval of that category on record",
    after=SITE_CHECKS,
)
def preapproval_missing(obs: Observation, record: SiteRecord) -> Finding | None:
    if record.nature == "个人":
        return None
    fields = tuple(f for f in PREAPPROVAL if not (f == "news" and record.nature in NEWS_EXEMPT))
    missing = [c for c in present(obs.page, fields) if not approved(c.name, record.pre_approvals)]
    if not missing:
        return None
    labels = "、".join(c.label for c in missing)
    return Finding(f"网站涉及{labels}内容（命中“{'、'.join(missing[0].terms[:3])}”），备案中无相应前置审批；请删除相关内容或取得审批后变更备案",
                   {"url": obs.fetch.final_url, "categories": [c.evidence() for c in missing],
                    "approvals_on_record": [a.category for a in record.pre_approvals]}, domain=obs.homepage)
