"""registry.number_invalid: subject and website number formats (8 or 10 digits, 号, -N), and a website
number must extend its subject's number. ICP证 and B2 licence numbers are not filing numbers.

Seed 001 (名词 Q8 主体备案号和网站备案号的区别).
"""

from __future__ import annotations

import re

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, also_for_websites, check
from checks.registry import RegistryIndex
from core.icp import WRONG_ABBREVIATIONS, normalise, parse_number
from core.records import SubjectView, WebsiteView

LICENCE = re.compile(r"ICP证|[AB][12]\s*-\s*\d{8}", re.IGNORECASE)


def subject_problem(text: str) -> str | None:
    if LICENCE.search(normalise(text)):
        return "这是增值电信业务经营许可证号（ICP证/B2），不是备案号"
    number = parse_number(text)
    if number is None:
        return "不是“省份简称ICP备数字号”格式"
    if number.province in WRONG_ABBREVIATIONS:
        return f"省份简称应为“{WRONG_ABBREVIATIONS[number.province]}”，不是“{number.province}”"
    if len(number.digits) not in (8, 10):
        return f"数字部分应为 8 或 10 位，实为 {len(number.digits)} 位"
    if number.seq:
        return "主体备案号不应带 -N 后缀"
    if "号" not in normalise(text):
        return "缺少“号”字"
    return None


@check(
    code="registry.number_invalid",
    severity=WARNING,
    title="备案号格式错误",
    rule="主体备案号形如 京ICP备12345678号（8 或 10 位数字），网站备案号为主体备案号加 -N。",
    remediation="请核对备案号；网站备案号须以其主体备案号开头。",
    doc="filing numbers are well formed and a website number extends its subject's",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="备案号",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def subject_number_invalid(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    problem = subject_problem(subject.subject_number)
    if problem is None:
        return None
    summary = f"主体备案号 {subject.subject_number} {problem}"
    return Finding(summary, {"number": subject.subject_number, "problem": problem})


@also_for_websites("registry.number_invalid")
def website_number_invalid(website: WebsiteView, subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    text = website.website_number
    number = parse_number(text)
    problem = None
    if number is None:
        problem = "不是“主体备案号-N”格式"
    elif number.is_app:
        problem = "这是 APP/小程序备案号，不是网站备案号"
    elif not number.seq:
        problem = "网站备案号应带 -N 后缀"
    else:
        subject_number = parse_number(subject.subject_number)
        if subject_number is not None and number.subject != subject_number.subject:
            problem = f"网站备案号应以其主体备案号 {subject_number.canonical} 开头"
        else:
            base = subject_problem(number.subject)
            problem = base if base and subject_number is None else None
    if problem is None:
        return None
    summary = f"网站备案号 {text} {problem}"
    return Finding(summary, {"number": text, "subject_number": subject.subject_number, "problem": problem})
