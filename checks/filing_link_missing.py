
"""filing.link_missing: the right number is shown but not hyperlinked.

Seed 001 (网站信息 Q8: 备案号悬挂正确并链接到工信部 ICP 查询首页).
"""

from __future__ import annotations

from checks.filing import SITE_CHECKS, matching, with_render
from checks.framework import VIOLATION, Finding, Needs, cannot, check
from core.observation import Observation
from core.records import SiteRecord
from core.statuses import MIIT_URL


@check(
    code="filing.link_missing",
    severity=VIOLATION,
    title="备案号未链接至工信部备案管理系统",
    rule="首页展示的备案号须添加超链接，链接至工信部政务服务平台 https://beian.miit.gov.cn。",
    remediation="请为首页底部的备案号添加超链接，链接地址为 https://beian.miit.gov.cn。",
    doc="the number is hyperlinked",
    needs=Needs.SHOWN_NUMBERS,
    after=SITE_CHECKS,
)
def link_missing(obs: Observation, record: SiteRecord):
    numbers = matching(obs.page, record)
    if not numbers:
        return cannot("no matching number shown")
    if any(n.linked for n in numbers):
        return None
    return Finding(summary=f"首页显示备案号但未链接至 {MIIT_URL}",
                   evidence=with_render({"url": obs.fetch.final_url, "number": numbers[0].number,
                                         "snippet": numbers[0].snippet, "rule": link_missing.check.rule}, obs.page),
                   domain=obs.homepage)
