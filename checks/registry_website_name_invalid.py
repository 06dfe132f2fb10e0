"""registry.website_name_invalid: seed 001 网站信息 Q15 and 备案驳回 Q7 naming rules."""

from __future__ import annotations

import re

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, WebsiteView, name_terms, website_check
from core.icp import normalise

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


@website_check("registry.website_name_invalid")
def website_name_invalid(website: WebsiteView, subject: SubjectView, index: RegistryIndex) -> Outcome:
    found = problems(website.name, subject.nature)
    if not found:
        return Outcome.passed("registry.website_name_invalid")
    summary = f"{info('registry.website_name_invalid').title}：“{website.name}” {found[0]}"
    evidence = {"name": website.name, "nature": subject.nature, "problems": found}
    return Outcome.failed("registry.website_name_invalid", Found("registry.website_name_invalid", summary, evidence))
