
"""site.redirect_offsite: the homepage redirects to a host outside the website's filed domains.

Seed 001 (网站信息 Q2 新增网站备案为什么要求修改…已备案的其他域名; 备案后 Q12 网站不再使用或转走): what a visitor
reaches must be the filed website; a jump to another (unfiled, or elsewhere filed) domain is not.
"""

from __future__ import annotations

from checks.framework import VIOLATION, Finding, Needs, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="site.redirect_offsite",
    severity=VIOLATION,
    title="网站首页跳转至未备案在本网站下的域名",
    rule="网站首页不得跳转到不属于本网站备案域名的地址。",
    remediation="请取消跳转，或通过变更备案将目标域名添加到本网站的备案信息中；目标域名需在其实际接入商处完成备案接入。",
    doc="the homepage does not redirect outside the website's filed domains and their subdomains",
    needs=Needs.ANSWER,
)
def redirect_offsite(obs: Observation, record: SiteRecord) -> Finding | None:
    fetch = obs.fetch
    if fetch.state != "redirect_offsite":
        return None
    target = fetch.offsite_url
    return Finding(f"跳转至 {target}",
                   {"from": (fetch.redirects or [None])[0], "to": target, "redirects": fetch.redirects,
                    "how": fetch.redirect_kind or "http", "filed_domains": record.domains}, domain=obs.homepage)
