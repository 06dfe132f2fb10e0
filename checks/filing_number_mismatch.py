
"""filing.number_mismatch: a filing number is shown but it is not this website's or its subject's.

Seed 001 (名词 Q8 主体备案号和网站备案号的区别; 网站信息 Q8 备案号悬挂正确). An app/mini-program number (-NA/-NX) or
an ICP 经营许可证 number does not stand for the website's filing number.
"""

from __future__ import annotations

from checks.filing import SITE_CHECKS, expected, matching, with_render
from checks.framework import VIOLATION, Finding, Needs, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="filing.number_mismatch",
    severity=VIOLATION,
    title="首页展示的备案号与本网站备案信息不符",
    rule="首页展示的备案号须为本网站的网站备案号或其主体备案号；APP/小程序备案号、ICP 经营许可证号不能代替网站备案号。",
    remediation="请将首页展示的备案号改为本网站的备案号（见下表），核对省份简称与数字是否正确。",
    doc="the number shown is this website's number or its subject's (app `-NA`/`-NX` numbers and ICP证 licences are not)",
    needs=Needs.SHOWN_NUMBERS,
    after=SITE_CHECKS,
)
def number_mismatch(obs: Observation, record: SiteRecord) -> Finding | None:
    page = obs.page
    shown = page.numbers
    if not shown or matching(page, record):
        return None
    website, subject = expected(record)
    notes = []
    for number in shown:
        if number.is_app:
            notes.append(f"{number.number} 是 APP/小程序备案号")
        elif number.kind != "备":
            notes.append(f"{number.number} 是 ICP 经营许可证号，不是备案号")
        elif number.number == subject and record.require_website_number:
            notes.append(f"{number.number} 是主体备案号，本省要求展示网站备案号")
    first = shown[0]
    return Finding(f"页面显示 {first.number}，应为 {website}",
                   with_render({"url": obs.fetch.final_url, "found": [n.number for n in shown], "expected": website,
                                "subject_number": subject, "snippet": first.snippet, "notes": notes}, page),
                   domain=obs.homepage)
