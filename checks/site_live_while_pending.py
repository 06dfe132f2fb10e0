
"""site.live_while_pending: the filing is still 备案中 but the website already serves a real page.

Seed 001 (网站信息 Q16 办理备案期间需要关闭网站吗; 备案审核 Q1: 若为首次备案，您的网站在备案未成功之前不能做解析).
"""

from __future__ import annotations

from checks.framework import VIOLATION, Finding, Needs, cannot, check
from checks.placeholder import CHALLENGE, placeholder_kind
from core.observation import Observation
from core.records import SiteRecord
from core.statuses import PENDING


@check(
    code="site.live_while_pending",
    severity=VIOLATION,
    title="备案审核期间网站已开通访问",
    rule="备案审核通过（取得备案号）前，网站不得开通访问。",
    remediation="请在备案审核通过前关闭网站访问（如停止 Web 服务或暂停解析），取得备案号后再开通并在首页悬挂备案号。",
    doc="a 备案中 website is not yet open",
    needs=Needs.FETCH,
    statuses=(PENDING,),
)
def live_while_pending(obs: Observation, record: SiteRecord) -> Finding | None:
    fetch = obs.fetch
    found = placeholder_kind(obs.page) if fetch.state == "page" else None
    if found is not None and found[0] == CHALLENGE:
        return cannot("首页被防火墙的浏览器验证页挡住，无法判断是否已开通网站")
    if fetch.state != "page" or found is not None:
        return None  # closed, unreachable, or only a default page: fine while the filing is pending
    page = obs.page
    return Finding(f"{fetch.final_url} 返回 HTTP {fetch.status}",
                   {"url": fetch.final_url, "status": fetch.status, "title": page.title,
                    "text_excerpt": page.text[:200], "filing_status": record.status}, domain=obs.homepage)
