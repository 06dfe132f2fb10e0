"""filing.unknown_at_miit: MIIT's filing query has no record of a website number we hold as 已备案.

Seeds 003/004 (Q11 首先通过系统“是否备案”的查询功能找到审核通过的网站备案号; Q20 我的网站备案信息已经提交了很久，如何进行
是否备案查询: 通过网上是否备案查询选择相应查询条件); seed 002 (超期未整改，备案被取消接入后长期未操作，工信部无备案信息怎么办).
An empty, rate-limited, captcha or error answer is "could not check", never "未备案": a definitive "no record" must
be answered on two different days, with no record found in between.
"""

from __future__ import annotations

from checks.framework import VIOLATION, Binds, Field, Finding, Needs, cannot, check
from core.records import MiitCrossCheck


@check(
    code="filing.unknown_at_miit",
    severity=VIOLATION,
    title="工信部备案系统查无此网站备案",
    rule="在我司接入的网站须在工信部备案管理系统中有有效备案；“是否备案”查询须能查到该网站备案号。",
    remediation="请登录工信部备案管理系统（https://beian.miit.gov.cn）用网站备案号或主办单位名称查询；如备案已被注销或"
    "取消接入，请重新办理备案或接入备案，完成后网站方可继续访问。",
    doc="MIIT's filing query (a configured query service, `beian miit check`) knows a website we hold as 已备案; an "
    "empty, rate-limited, captcha or error answer is could not check, and \"no record\" needs two answers on "
    "different days",
    needs=Needs.WORKFLOW,
    notice_field="网站备案号",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def unknown_at_miit(item: MiitCrossCheck) -> Finding | None:
    decided = [a for a in item.answers if a.answer in ("found", "not_found")]
    if not decided:
        reason = item.answers[-1].reason if item.answers else "尚未查询"
        return cannot(f"查询未得到明确结果：{reason}")
    if decided[-1].answer == "found":
        return None
    misses = []
    for answer in reversed(decided):
        if answer.answer != "not_found":
            break
        misses.append(answer.day)
    days = sorted(set(misses))
    if len(days) < 2:
        return cannot(f"{days[0]} 查询无记录，需在另一日再次查询确认")
    return Finding(f"{item.website_number} 在工信部备案系统中查无记录（{days[0]}、{days[-1]} 两日查询均无记录）",
                   {"not_found_days": days, "our_status": item.status})
