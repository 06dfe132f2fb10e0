"""review.not_done: a website of an annual review round whose SMS the bureau had not recorded when the round
ended (湖北省非经营性互联网信息服务备案年度审核).

Seed 000 (Q2 如果未在4月15日内完成年度审核会有什么后果: 责令限期改正，逾期未改正的关闭网站并注销备案;
Q3 按网站备案号发送短信; Q13 正在新增备案的待备案成功之后再发送; Q14 信息编辑错误的重新编辑正确后发送即可).
"""

from __future__ import annotations

from checks.framework import VIOLATION, Binds, Field, Finding, Needs, cannot, check
from core.records import ReviewItem


@check(
    code="review.not_done",
    severity=VIOLATION,
    title="未完成备案年度审核",
    rule="湖北管局要求每个网站备案号在年审期限内分别发送年审短信（#接入商编号#网站备案号#备案状态#）；"
    "未在规定时间内完成年度审核的，管局将责令限期改正，逾期未改正的依法关闭网站并注销备案。",
    remediation="请立即使用备案信息中的主体负责人或网站负责人手机，按年审通知中的短信内容发送至对应运营商的湖北管局"
    "短信平台号码；若之前发送的内容有误，重新编辑正确后再次发送即可。",
    doc="every website of an annual review round (`beian annual-review`) sent its SMS before the round ended; "
    "a website still 备案中 waits, a later completion closes it",
    needs=Needs.WORKFLOW,
    notice_field="年审短信",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def not_done(item: ReviewItem) -> Finding | None:
    if item.state == "done":
        return None
    if item.state == "waiting" or not item.status:
        return cannot("备案中：待备案成功后再发送年审短信（种子 000 Q13）")
    return Finding(f"{item.website_number} 未在 {item.ends_on} 前完成年审短信（应发送：{item.sms_text}）",
                   {"round": item.round_label, "ends_on": item.ends_on, "status": item.status,
                    "sms_text": item.sms_text})
