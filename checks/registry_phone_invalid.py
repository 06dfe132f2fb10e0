"""registry.phone_invalid: a mobile number is malformed or its segment cannot receive the MIIT SMS;
landline fields are checked for form."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, mobile_key, mobile_segments, subject_check

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
    ):  # fmt: skip
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


@subject_check("registry.phone_invalid")
def phone_invalid(subject: SubjectView, index: RegistryIndex) -> Outcome:
    problems = []
    for contact in subject.contacts:
        where = ROLES.get(contact.role, contact.role) + (f"（{contact.website_number}）" if contact.website_number else "")
        if contact.mobile.strip():
            problem = mobile_problem(contact.mobile.strip())
            if problem:
                problems.append({"contact": where, "name": contact.name, "field": "mobile",
                                 "value": contact.mobile, "problem": problem})  # fmt: skip
        if contact.phone.strip():
            problem = landline_problem(contact.phone.strip())
            if problem:
                problems.append({"contact": where, "name": contact.name, "field": "phone",
                                 "value": contact.phone, "problem": problem})  # fmt: skip
    if not problems:
        return Outcome.passed("registry.phone_invalid")
    first = problems[0]
    summary = f"{info('registry.phone_invalid').title}：{first['contact']}号码 {first['value']} {first['problem']}"
    return Outcome.failed("registry.phone_invalid", Found("registry.phone_invalid", summary, {"problems": problems}))
