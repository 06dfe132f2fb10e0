
"""filing.number_missing: no ICP filing number visible on the homepage.

Seed 001 (网站信息 Q8 网站内容设置有什么要求: 备案号悬挂正确并链接到工信部 ICP 查询首页); seed 002 (收到核查通知…). A
number only in comments, scripts or hidden elements is not shown; a 公网安备 number is the police's, not MIIT's.
"""

from __future__ import annotations

from checks.filing import SITE_CHECKS, expected, with_render
from checks.framework import VIOLATION, Finding, Needs, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="filing.number_missing",
    severity=VIOLATION,
    title="网站首页未展示备案号",
    rule="网站开通后应在首页底部中间位置悬挂备案号（主体备案号或网站备案号），并链接至 https://beian.miit.gov.cn。",
    remediation="请在网站首页底部悬挂本网站的备案号，并为其添加指向 https://beian.miit.gov.cn 的超链接。备案号须为页面上可见的文字，写在注释、脚本或隐藏元素中的不计。公安备案号（公网安备）不能代替 ICP 备案号。",
    doc="an ICP filing number is visible on the homepage (not in comments, scripts, styles or hidden elements; a 公网安备 number does not count)",
    needs=Needs.SHOWN_NUMBERS,
    after=SITE_CHECKS,
)
def number_missing(obs: Observation, record: SiteRecord) -> Finding | None:
    page = obs.page
    if page.numbers:
        return None  # a number is shown; whether it is the right one is filing.number_mismatch's job
    website, _subject = expected(record)
    evidence = with_render({"url": obs.fetch.final_url, "expected": website,
                            "footer_text": (page.footer_text or page.text[-300:])[:300]}, page)
    detail = ""
    if page.psb_numbers:
        evidence["psb_numbers"] = page.psb_numbers
        detail = "（仅展示了公安备案号）"
    if page.numbers_in_hidden:
        evidence["numbers_in_hidden"] = page.numbers_in_hidden
        detail = "（备案号仅出现在注释、脚本或隐藏元素中，页面上不可见）"
    return Finding(summary=f"{number_missing.check.title}{detail}", evidence=evidence, domain=obs.homepage)
