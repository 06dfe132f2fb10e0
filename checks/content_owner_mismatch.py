"""content.owner_mismatch: the site names another organization as its operator or copyright holder.

Organization names are read from ownership lines (©, Copyright, 版权所有, 主办单位, 运营 …) and compared
with the subject's name after normalisation (繁简, full width, spaces). A short form of the subject's
own name (示例科技 for 北京示例科技有限公司) is the same owner; the web designer (技术支持) is not an owner.

Seed 001 (网站信息 Q10: 主办单位网站内容需是本公司网站…不能涉及其他单位); seed 002 (主体信息是否真实准确).
"""

from __future__ import annotations

import re

from checks.content import normalise_name
from checks.filing import SITE_CHECKS
from checks.framework import VIOLATION, Finding, check
from core.observation import Observation, Page
from core.records import SiteRecord

OWNER_LINE = re.compile(r"(©|copyright|版权所有|版权归|主办单位|主办方|主办：|主办:|运营单位|运营方|运营主体|所有权归)", re.IGNORECASE)
NOT_OWNER = re.compile(r"(技术支持|技术服务|网站建设|网站设计|设计制作|建站|制作维护|powered by|友情链接|合作伙伴|承办|协办|法律顾问)[:：]?\s*$",
                       re.IGNORECASE)
SUFFIX = r"(?:股份有限公司|有限责任公司|有限公司|集团公司|集团|研究院|研究所|事务所|工作室|协会|学会|基金会|医院|学校|大学|学院|委员会|合作社)"
ORG = re.compile(rf"[\u4e00-\u9fa5A-Za-z0-9（）()·&]{{2,30}}?{SUFFIX}")
REGION = re.compile(r"^(?:中国)?(?:[\u4e00-\u9fa5]{2,3}?(?:省|市|自治区|特别行政区)|北京|天津|上海|重庆|广东|浙江|江苏|深圳|广州|杭州|成都)+")
LEGAL = re.compile(rf"{SUFFIX}$")
NEAR_BEFORE, NEAR_AFTER = 3, 24  # characters between an ownership marker and the name it marks


def core(name: str) -> str:
    text = normalise_name(name)
    text = LEGAL.sub("", text)
    stripped = REGION.sub("", text)
    return stripped if len(stripped) >= 2 else text


def owner_names(page: Page, near_only: bool = True) -> list[tuple[str, str]]:
    """(organization name, the line it stands in) from the page's ownership lines: the names standing at an
    ownership marker, or (near_only=False) every name on such a line."""
    lines = re.split(r"[\n|｜]|\s{2,}", page.footer_text) + page.text.splitlines()[-15:]
    found: list[tuple[str, str]] = []
    for line in lines:
        markers = [m.span() for m in OWNER_LINE.finditer(line)]
        if not markers:
            continue
        for match in ORG.finditer(line):
            # the owner stands at its marker ("XX公司 版权所有", "版权所有：XX", "Copyright © 2020 XX"); names further
            # along the line are a link farm, a partner list or a lawyer, not the owner
            if near_only and not any(match.end() > start - NEAR_BEFORE and match.start() < end + NEAR_AFTER
                                     for start, end in markers):
                continue
            before = line[: match.start()]
            if NOT_OWNER.search(before[-12:]):
                continue
            name = re.sub(r"^(?:版权所有|主办单位|主办方|运营单位|copyright|©|\d{4}|[-–—\s:：©])+", "", match.group(0), flags=re.IGNORECASE)
            if len(name) >= 4 and all(name != n for n, _ in found):
                found.append((name, line.strip()[:120]))
    return found


def same_owner(name: str, subject_name: str) -> bool:
    """The subject's own name, a short form of it (示例科技), or it inside a longer form (示例科技（北京）有限公司).
    A name with a different region (深圳云帆… for 杭州云帆…) is another company."""
    page, subject = normalise_name(name), normalise_name(subject_name)
    if not page or not subject:
        return True
    if page in subject or subject in page:
        return True
    region = REGION.match(page)
    if region and not subject.startswith(region.group(0)):
        return False  # the same trade name registered in another city is another company
    page_core = normalise_name(LEGAL.sub("", page))
    return bool(page_core) and len(page_core) >= 2 and (page_core in subject or core(subject_name) in page)


@check(
    code="content.owner_mismatch",
    severity=VIOLATION,
    title="网站内容显示的主办者与备案主体不符",
    rule="网站展示的主办单位、版权所有者应与备案主体一致。",
    remediation="请将网站上的主办单位/版权信息改为备案主体名称，或由实际主办者办理备案。",
    doc="the copyright/主办 line names the subject (or a short form of it), not another organization",
    after=SITE_CHECKS,
)
def owner_mismatch(obs: Observation, record: SiteRecord) -> Finding | None:
    names = owner_names(obs.page)
    others = [(n, line) for n, line in names if not same_owner(n, record.subject_name)]
    if record.nature != "个人" and any(same_owner(n, record.subject_name) for n, _ in owner_names(obs.page, False)):
        others = []  # the subject itself is named as owner; other names are partners or predecessors
    if not others:
        return None
    name, _line = others[0]
    return Finding(f"页面显示“{name}”为主办/版权方，备案主体为“{record.subject_name}”；请改为备案主体名称，或由实际主办者办理备案",
                   {"url": obs.fetch.final_url, "names": [n for n, _ in others], "lines": [ln for _, ln in others][:3],
                    "subject_name": record.subject_name}, domain=obs.homepage)
