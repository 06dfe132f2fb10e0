"""registry.phone_invalid: a mobile number is malformed or its segment cannot receive the MIIT SMS;
landline fields are checked for form.

A mobile the SMS gateway rejected at the contact verification (`beian contacts verify`) fails too, with the
gateway's reason.

Seed 002 (联系方式是否真实准确: 手机号码须为备案本人电话，并且有效可拨通); seed 001 (主体信息 Q7 备案手机号码必须填写本省的么).
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, mobile_key, mobile_segments
from core.records import SubjectView

ROLES = {"principal": "主体负责人", "leader": "网站负责人"}


def mobile_problem(text: str) -> str | None:
    """None when the number is a mainland mobile that can receive the verification SMS."""
    digits = mobile_key(text)
    if len(digits) != 11 or not digits.startswith("1"):
        return "不是 11 位中国内地手机号码"
    # libphonenumber's CN mobile metadata is decided by the leading digits of an 11-digit number, so
    # one real parse per 5-digit block stands for the whole block (a registry has millions of numbers).
    block = digits[:5]
    if block not in _BLOCKS:
        _BLOCKS[block] = _phonenumbers_problem(digits)
    return _BLOCKS[block]


_BLOCKS: dict[str, str | None] = {}


def _phonenumbers_problem(digits: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return "无法识别的号码"
    kind = phonenumbers.number_type(number)  # UNKNOWN for an invalid number: one pass over the metadata
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "不是有效的手机号码"
    if digits[:3] not in mobile_segments() or digits.startswith("1349"):
        return f"号段 {digits[:3]} 不支持接收工信部备案核验短信（如虚拟运营商、物联网号段）"
    return None


@lru_cache(maxsize=65536)
def landline_problem(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return "无法识别的电话号码"
    return None if phonenumbers.is_valid_number(number) else "不是有效的固定电话号码（应含区号，如 010-12345678）"


@check(
    code="registry.phone_invalid",
    severity=WARNING,
    title="手机号码格式错误或无法接收核验短信",
    rule="备案负责人手机号须为有效的中国内地手机号，且号段支持工信部短信核验。",
    remediation="请将负责人手机号码变更为本人实名登记、可接收工信部核验短信的中国内地手机号码。",
    doc="mobile numbers are valid and in a segment that receives MIIT verification SMS",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="负责人手机号码",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def phone_invalid(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    problems = []
    for contact in subject.contacts:
        where = ROLES.get(contact.role, contact.role) + (f"（{contact.website_number}）" if contact.website_number else "")
        if contact.mobile.strip():
            problem = mobile_problem(contact.mobile.strip()) or (
                f"联系方式核验短信被拒收（{contact.sms_rejected}）" if contact.sms_rejected else None)
            if problem:
                problems.append({"contact": where, "name": contact.name, "field": "mobile",
                                 "value": contact.mobile, "problem": problem})
        if contact.phone.strip():
            problem = landline_problem(contact.phone.strip())
            if problem:
                problems.append({"contact": where, "name": contact.name, "field": "phone",
                                 "value": contact.phone, "problem": problem})
    if not problems:
        return None
    first = problems[0]
    summary = f"{first['contact']}号码 {first['value']} {first['problem']}"
    return Finding(summary, {"problems": problems})
