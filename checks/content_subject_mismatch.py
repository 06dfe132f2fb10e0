
"""content.subject_mismatch: the content does not fit the subject's nature.

Seed 001 (网站信息 Q10 什么是内容信息与主体性质相符; 网站信息 Q3 单位注册的域名可以用于个人备案吗: 个人作为主体不能办理公司性质
的网站或经营性质的网站的备案; 终审驳回: 网站内容需符合个人性质，不能出现单位、团体内容，不能涉及论坛、经营性等前置审批内容);
seeds 003/004 Q2. A 个人 site carries no enterprise, forum, shop or 前置审批 content; a company site does not
present itself as a government body.
"""

from __future__ import annotations

from checks.content import PREAPPROVAL, present
from checks.filing import SITE_CHECKS
from checks.framework import VIOLATION, Finding, check
from core.observation import Observation
from core.records import SiteRecord

PERSONAL_FORBIDDEN = ("enterprise", "forum", "shop", "government", *PREAPPROVAL)
# Whom "presents itself as a government body" is about: a company. Public institutions (事业单位: universities,
# hospitals, schools), 社会团体 and the like legitimately publish 信息公开, 办事指南 and 通知公告.
POSING_AS_GOVERNMENT = ("企业",)
@check(
    code="content.subject_mismatch",
    severity=VIOLATION,
    title="网站内容与主体性质不符",
    rule="个人备案网站只能发布个人相关的非经营性内容，不得出现企业、论坛、商城等内容；单位网站内容须与单位性质相符。",
    remediation="请删除与备案主体性质不符的内容，或以相应的单位主体重新办理备案。",
    doc="a 个人 site carries no enterprise, forum, shop, government or 前置审批 content; a company site does not present itself as a government body (public institutions may publish 信息公开)",
    after=SITE_CHECKS,
)
def subject_mismatch(obs: Observation, record: SiteRecord) -> Finding | None:
    page = obs.page
    if record.nature == "个人":
        found = present(page, PERSONAL_FORBIDDEN)
        advice = "个人备案网站只能发布个人非经营性内容，请删除上述内容，或以单位主体办理备案"
    elif record.nature in POSING_AS_GOVERNMENT:
        found = present(page, ("government",))
        advice = f"{record.nature}网站不得以政府机关名义发布政务内容，请删除相关内容"
    else:
        found = []
    if not found:
        return None
    labels = "、".join(c.label for c in found)
    return Finding(f"{record.nature}网站出现{labels}内容（命中“{'、'.join(found[0].terms[:3])}”）；{advice}",
                   {"url": obs.fetch.final_url, "nature": record.nature, "categories": [c.evidence() for c in found]},
                   domain=obs.homepage)
