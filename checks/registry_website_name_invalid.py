"""registry.website_name_invalid: seed 001 网站信息 Q15 and 备案驳回 Q7 naming rules.

Seed 001 (终审驳回: 如果网站名称或网站内容涉及行业或企业内容，不能进行个人性质备案).
"""

from __future__ import annotations

import re

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, name_terms
from core.icp import normalise
from core.records import SubjectView, WebsiteView

HAN = re.compile(r"[\u3400-\u9fff]")
URLISH = re.compile(r"^(https?://)?([a-z0-9-]+\.)+[a-z]{2,}(/.*)?$", re.IGNORECASE)
STATE_ORGANS = ("政府机关",)


def problems(name: str, nature: str) -> list[str]:
    text = normalise(name.strip())
    found = []
    if not text:
        return ["网站名称为空"]
    if URLISH.match(text) or "www." in text.lower():
        found.append("网站名称不能是域名或网址")
    if re.fullmatch(r"[A-Za-z0-9\s._-]+", text):
        found.append("网站名称不能为纯数字或字母")
    if len(HAN.findall(text)) < 3:
        found.append("网站名称须至少包含三个汉字")
    terms = name_terms()
    if nature not in STATE_ORGANS:
        prefix = next((t for t in terms.get("national_prefix", ()) if text.startswith(t)), None)
        if prefix:
            found.append(f"非国家机关的网站名称不能以“{prefix}”开头")
    sensitive = [t for t in terms.get("sensitive", ()) if t in text]
    if sensitive:
        found.append(f"网站名称含有敏感词“{sensitive[0]}”")
    if nature == "个人":
        corporate = [t for t in terms.get("personal", ()) if t in text]
        if corporate:
            found.append(f"个人网站名称不能带有企业或机构性质的字样“{corporate[0]}”")
    return found


@check(
    code="registry.website_name_invalid",
    severity=WARNING,
    title="网站名称不符合命名规范",
    rule="网站名称须至少三个汉字，不得为纯数字或字母、域名或网址，非国家机关不得以中国、中华、国家等字样开头，个人网站名称不得带有企业或机构性质的字样。",
    remediation="请变更网站名称，使其符合命名规范并能体现网站内容。",
    doc="website names follow the naming rules",
    needs=Needs.REGISTRY,
    scope=Scope.WEBSITE,
    notice_field="网站名称",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def website_name_invalid(website: WebsiteView, subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    found = problems(website.name, subject.nature)
    if not found:
        return None
    summary = f"“{website.name}” {found[0]}"
    evidence = {"name": website.name, "nature": subject.nature, "problems": found}
    return Finding(summary, evidence)
