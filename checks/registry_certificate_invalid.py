"""registry.certificate_invalid: USCC and resident ID numbers fail format or check digit (python-stdnum);
other certificate types are checked for form.

Seed 002 (备案信息专项主要检查哪些内容: 主办单位证件号码须与实际主体有效证件一致); seed 001 (前期准备 Q15 证件材料上传有哪些规范).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex
from core.records import SubjectView

USCC_TYPES = ("统一社会信用代码", "营业执照", "事业单位法人证书", "社会团体法人登记证书", "民办非企业单位登记证书",
              "基金会法人登记证书", "律师事务所执业许可证", "组织机构代码证")
FORMS = {
    "护照": re.compile(r"^[A-Z0-9]{5,17}$"),
    "港澳居民来往内地通行证": re.compile(r"^[HM]\d{8}(\d{2})?$"),
    "台湾居民来往大陆通行证": re.compile(r"^\d{8}(\d{2})?$"),
    "外国人永久居留身份证": re.compile(r"^([A-Z]{3}\d{12}|9\d{17})$"),
    "港澳居民居住证": re.compile(r"^8[123]\d{15}[\dX]$"),
    "台湾居民居住证": re.compile(r"^83\d{15}[\dX]$"),
}


def resident_id_problem(text: str) -> str | None:
    """Format, birth date and check digit, and a region code that exists or existed at any time. The region
    code is where the card was issued, not where the holder was born: a district created after the holder's
    birth year is valid (python-stdnum's `ric.validate` rejects those, so it is not used whole)."""
    if len(text) != 18:
        raise InvalidLength()
    if not text[:17].isdigit():
        raise InvalidFormat()
    if text[-1] != ric.calc_check_digit(text):
        raise InvalidChecksum()
    born = ric.get_birth_date(text)  # InvalidComponent for an impossible date
    if born.year < 1890 or born > date.today():
        return "出生日期不合理"
    if "county" not in _region(text[:6]):
        return "身份证号码的地区码不存在"
    return None


@lru_cache(maxsize=4096)
def _region(code: str) -> dict[str, str]:
    results = numdb.get("cn/loc").info(code)
    return {k: v for _part, props in results for k, v in props.items()}


@lru_cache(maxsize=8192)
def problem(kind: str, number: str) -> str | None:
    text = re.sub(r"[\s-]", "", number).upper()
    if not text:
        return "证件号码为空"
    try:
        if kind == "居民身份证" or (not kind and len(text) == 18 and text[:17].isdigit()):
            return resident_id_problem(text)
        if kind in USCC_TYPES and len(text) == 18:
            uscc.validate(text)
            return None
    except ValidationError as exc:
        return {"InvalidChecksum": "校验位错误", "InvalidLength": "长度错误", "InvalidFormat": "格式错误",
                "InvalidComponent": "包含无效的日期或代码"}.get(type(exc).__name__, str(exc))
    if kind in USCC_TYPES:
        return "统一社会信用代码应为 18 位" if len(text) != 18 else None
    pattern = FORMS.get(kind)
    if pattern and not pattern.match(text):
        return f"不符合{kind}号码格式"
    return None


@check(
    code="registry.certificate_invalid",
    severity=WARNING,
    title="证件号码格式或校验位错误",
    rule="主体证件号码须真实有效：统一社会信用代码、居民身份证号码须通过格式与校验位核验。",
    remediation="请核对并更正主体证件号码，确保与证件原件一致。",
    doc="USCC and resident ID numbers pass format and check digit (a resident ID's region code may postdate the birth year)",
    needs=Needs.REGISTRY,
    scope=Scope.SUBJECT,
    notice_field="主体证件号码",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def certificate_invalid(subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    found = problem(subject.certificate_type, subject.certificate_number)
    if found is None:
        return None
    summary = f"{subject.certificate_type or '证件'} {subject.certificate_number} {found}"
    evidence = {"certificate_type": subject.certificate_type, "certificate_number": subject.certificate_number,
                "problem": found}
    return Finding(summary, evidence)
