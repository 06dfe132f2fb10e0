
"""site.placeholder: the homepage loads but is not a real site (default page, 建设中, for sale, empty).

Seed 001 (网站信息 Q8 网站内容设置有什么要求: 网站内容…与主体性质相符; 备案后 Q16: 网站无法访问或内容与备案
不符会被注销): a filed website must carry real content, not a server or panel default page. The terms are in
checks/data/placeholder.tsv (checks/placeholder.py).
"""

from __future__ import annotations

from checks.framework import VIOLATION, Finding, Needs, cannot, check
from checks.placeholder import CHALLENGE, KIND_NAMES, placeholder_kind
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="site.placeholder",
    severity=VIOLATION,
    title="网站首页为空白、默认页或建设中页面",
    rule="已备案网站须有与备案信息相符的实际内容，不得为服务器默认页、建设中、域名出售或空白页面。",
    remediation="请上线与备案的网站名称、服务内容相符的正式网站内容；暂不开站的，请申请注销网站备案或取消接入。",
    doc="not a server/panel default page, a panel's stopped-site page, an error page served as the homepage, 建设中, "
        "domain-for-sale, directory listing or empty page (`checks/data/placeholder.tsv`); a firewall's browser check in "
        "front of the site is \"could not check\"",
    needs=Needs.PAGE,
    confirm_scans=2,
)
def placeholder(obs: Observation, record: SiteRecord) -> Finding | None:
    found = placeholder_kind(obs.page)
    if found is None:
        return None
    kind, term = found
    if kind == CHALLENGE:
        return cannot(f"首页被防火墙的浏览器验证页挡住（“{term}”），无法读取网站内容")
    fetch, page = obs.fetch, obs.page
    return Finding(f"{KIND_NAMES.get(kind, kind)}（{fetch.final_url}）",
                   {"url": fetch.final_url, "status": fetch.status, "kind": kind, "matched": term,
                    "title": page.title, "text_excerpt": page.text[:200]}, domain=obs.homepage)
