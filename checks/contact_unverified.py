"""contact.unverified: a 主体负责人 or 网站负责人 did not complete the contact self-verification (a link and a
six-digit code by email, the code by SMS) before its deadline.

Seed 002 (如何完成备案联系方式自助核验: 获取验证码并填写，若有多个网站负责人则需要一并进行核验; 备案信息专项主要检查哪些内容:
联系方式是否真实准确，负责人手机号码须为备案本人电话，并且有效可拨通; 收到核查通知不修改备案信息有什么影响: 超出整改期备案可能被
取消接入或被管局注销).
"""

from __future__ import annotations

from checks.framework import VIOLATION, Binds, Field, Finding, Needs, Scope, cannot, check
from core.records import ContactState

ROLES = {"principal": "主体负责人", "leader": "网站负责人"}


@check(
    code="contact.unverified",
    severity=VIOLATION,
    title="负责人联系方式未完成核验",
    rule="主体负责人及每个网站负责人的手机号码须为备案本人电话且有效可拨通，须在期限内完成联系方式自助核验。",
    remediation="请负责人打开核验邮件中的链接并填写收到的六位验证码完成核验；如手机号码或邮箱已不再使用，请提交变更备案更新负责人联系方式。"
    "超出整改期仍未核验的，备案可能被取消接入或被管局注销。",
    doc="every 主体负责人 and 网站负责人 completed the contact self-verification (`beian contacts verify`) before "
    "its deadline; a bounced email or a rejected SMS is in the evidence",
    needs=Needs.WORKFLOW,
    scope=Scope.SUBJECT,
    notice_field="负责人联系方式",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def unverified(contact: ContactState) -> Finding | None:
    if contact.state == "verified":
        return None
    if contact.state != "expired":
        return cannot("核验期限未到")
    who = ROLES.get(contact.role, contact.role) + (f"（{contact.website_number}）" if contact.website_number else "")
    failed = []
    if contact.email_state == "bounced":
        failed.append(f"核验邮件被退回（{contact.email}）")
    if contact.sms_state == "rejected":
        failed.append(f"核验短信被拒收（{contact.mobile}：{contact.sms_detail}）")
    detail = f"{who} {contact.name} 未在 {contact.deadline} 前完成联系方式核验" + (f"；{'；'.join(failed)}" if failed else "")
    return Finding(detail, {"role": contact.role, "name": contact.name, "mobile": contact.mobile, "email": contact.email,
                            "deadline": contact.deadline, "email_state": contact.email_state,
                            "sms_state": contact.sms_state, "sms_detail": contact.sms_detail})
