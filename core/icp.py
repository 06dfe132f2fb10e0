"""ICP filing numbers: recognise them in text in every real-world form, and compare them.

    京ICP备10206937号        subject number (8 digits; newer ones have 10: 粤ICP备2021012345号)
    京ICP备10206937号-1      website number (the subject number plus -N)
    京ICP备10206937号-1A     app filing (-NA), 京ICP备10206937号-1X mini-program / quick app: not websites
    京ICP证030173号          an ICP business licence (经营许可证), not a filing number
    京公网安备11010802020000号   a public-security filing: not an ICP number at all
    ICP备13013049号-1          shown without its province: found on pages (province ""), so that the page is
                              judged as showing an incomplete number (filing.number_mismatch), not none
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Abbreviations used in ICP numbers. 蜀/黔/滇/陇 are right; 川/贵/云/甘 never appear in real numbers.
PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝蜀黔滇藏陕陇青宁新"
WRONG_ABBREVIATIONS = {"川": "蜀", "贵": "黔", "云": "滇", "甘": "陇"}
_ANY_PROVINCE = PROVINCES + "".join(WRONG_ABBREVIATIONS)

_SP = r"[\s\u00a0\u3000]*"
_DASH = r"[-－—–‐‑_]"
# On normalised text (NFKC + simplified): digits ASCII, 備→备, 號→号.
NUMBER_RE = re.compile(
    rf"(?P<province>[{_ANY_PROVINCE}])?{_SP}ICP{_SP}(?P<kind>备|证|經營許可證|经营许可证)?{_SP}[:：]?{_SP}"
    rf"(?P<digits>\d(?:{_SP}\d){{5,11}}){_SP}(?P<hao>号)?"
    rf"(?:{_SP}{_DASH}{_SP}(?P<seq>\d{{1,4}})(?P<app>[AaXx](?![a-zA-Z]))?)?",
    re.IGNORECASE,
)
PSB_RE = re.compile(rf"[{PROVINCES}川贵云甘]{_SP}公网安备{_SP}\d(?:{_SP}\d){{8,16}}{_SP}号?")


@dataclass(frozen=True, slots=True)
class IcpNumber:
    province: str
    kind: str  # 备 (filing) | 证 (licence)
    digits: str
    seq: str = ""  # website sequence (-N)
    app: str = ""  # A (app) or X (mini-program / quick app)
    start: int = 0
    end: int = 0

    @property
    def subject(self) -> str:
        return f"{self.province}ICP{self.kind}{self.digits}号"

    @property
    def canonical(self) -> str:
        text = self.subject
        if self.seq:
            text += f"-{self.seq}{self.app}"
        return text

    @property
    def is_app(self) -> bool:
        return bool(self.app)


_CONVERTER = None


def _t2s(text: str) -> str:
    global _CONVERTER
    if _CONVERTER is None:
        import opencc

        _CONVERTER = opencc.OpenCC("t2s")
    return _CONVERTER.convert(text)


_CJK_OR_LATER = re.compile(r"[^\x00-\u2e7f]")


def to_simplified(text: str) -> str:
    """Traditional -> simplified (OpenCC t2s); text with no CJK character is returned as it is."""
    return _t2s(text) if _CJK_OR_LATER.search(text) else text


def normalise_once(text: str) -> str:
    """NFKC (full-width digits and letters) then traditional -> simplified (OpenCC t2s)."""
    return to_simplified(unicodedata.normalize("NFKC", text))


# cached for the short strings that recur (labels, registry fields); a page's long texts use normalise_once
normalise = lru_cache(maxsize=4096)(normalise_once)


def _kind(raw: str | None) -> str:
    if not raw:
        return "备"
    return "备" if raw == "备" else "证"


def find_numbers(text: str) -> list[IcpNumber]:
    """Every ICP number (filing or licence) in already normalised text, in order."""
    found = []
    for m in NUMBER_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group("digits"))
        kind_raw = m.group("kind")
        if kind_raw is None and not m.group("hao"):
            continue  # "京ICP 12345678" without 备/号 is too loose to be a number
        if m.group("province") is None and not (kind_raw == "备" and m.group("hao")):
            continue  # without a province only the full "ICP备12345678号" form is taken as a number
        found.append(
            IcpNumber(
                province=m.group("province") or "",
                kind=_kind(kind_raw),
                digits=digits,
                seq=m.group("seq") or "",
                app=(m.group("app") or "").upper(),
                start=m.start(),
                end=m.end(),
            )
        )
    return found


@lru_cache(maxsize=65536)
def parse_number(text: str) -> IcpNumber | None:
    """A registry field holding exactly one number (whitespace and width forgiven), else None."""
    normal = normalise(text.strip())
    numbers = find_numbers(normal)
    if len(numbers) != 1 or not numbers[0].province:
        return None  # a registry number always has its province; a bare "ICP备…号" is only ever seen on pages
    number = numbers[0]
    rest = (normal[: number.start] + normal[number.end :]).strip()
    return number if not rest else None


def canonical(text: str) -> str:
    number = parse_number(text)
    return number.canonical if number else re.sub(r"\s+", "", normalise(text))
