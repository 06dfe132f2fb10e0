"""filing.psb_missing: the homepage shows no 公网安备 number.

Not an MIIT rule and not in the seeds: the public-security bureau's 联网备案 (公安部令第33号) asks every site to
show its 公网安备 number beside the ICP number (as seed 001 网站信息 Q8 asks of the ICP number). So it is
informational: a warning, and no case or notice unless `[notices] include_codes` lists it. It runs only when
the ICP number is shown (filing.number_missing is the root cause otherwise).
"""

from __future__ import annotations

from checks.filing import SITE_CHECKS
from checks.framework import WARNING, Finding, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="filing.psb_missing",
    severity=WARNING,
    title="网站首页未展示公安联网备案号",
    rule="网站开通后应在公安机关办理联网备案，并在首页底部展示公网安备号（公安机关的要求，非工信部 ICP 备案规定）。",
    remediation="请在全国互联网安全管理服务平台（https://www.beian.gov.cn）办理公安联网备案，并在网站首页底部 ICP 备案号旁展示公网安备号及其链接。",
    doc="no 公网安备 number on the homepage; informational, no case or notice unless `[notices] include_codes` lists it (the public-security bureau's rule, not MIIT's)",
    after=(*SITE_CHECKS, "filing.number_missing"),
    notify=False,
)
def psb_missing(obs: Observation, record: SiteRecord):
    page = obs.page
    if page.psb_numbers:
        return None
    return Finding(evidence={"url": obs.fetch.final_url, "footer_text": (page.footer_text or page.text[-300:])[:300]},
                   domain=obs.homepage)
