
"""filing.link_wrong: the number is linked, but not to beian.miit.gov.cn.

Seed 001 (网站信息 Q8: 链接到工信部 ICP 查询首页). The old www.miibeian.gov.cn and the police's beian.gov.cn are not it.
"""

from __future__ import annotations

from checks.filing import SITE_CHECKS, link_ok, matching
from checks.framework import VIOLATION, Finding, Needs, cannot, check
from core.observation import Observation
from core.records import SiteRecord
from core.statuses import MIIT_URL


@check(
    code="filing.link_wrong",
    severity=VIOLATION,
    title="备案号链接地址错误",
    rule="备案号须链接至 https://beian.miit.gov.cn（任意路径均可）；miibeian.gov.cn 等旧地址及公安备案网站不是正确的链接地址。",
    remediation="请将备案号的链接地址改为 https://beian.miit.gov.cn（原 www.miibeian.gov.cn 地址已停用）。",
    doc="the link goes to beian.miit.gov.cn (any scheme, path or `#/route`); miibeian.gov.cn, www.beian.miit.gov.cn, beian.gov.cn, beian.mps.gov.cn are wrong",
    needs=Needs.SHOWN_NUMBERS,
    after=SITE_CHECKS,
)
def link_wrong(obs: Observation, record: SiteRecord):
    linked = [n for n in matching(obs.page, record) if n.linked]
    if not linked:
        return cannot("no linked matching number")
    if any(link_ok(n.link) for n in linked):
        return None
    number = linked[0]
    return Finding(f"链接至 {number.link}，应为 {MIIT_URL}",
                   {"url": obs.fetch.final_url, "number": number.number, "link": number.link,
                    "snippet": number.snippet}, domain=obs.homepage)
