
"""site.unreachable: the homepage does not load (refused, timed out, TLS failure, HTTP 4xx/5xx).

Seed 001 (备案后 Q16 为什么备案号会被注销) and the access rule 已备案网站必须开站: a filed website that does not
open is a reason for the bureau to cancel the filing. Our own failures (resolver timeout, a page over our size
cap) are "could not check", never this finding (the framework's FETCH need).
"""

from __future__ import annotations

from checks.framework import VIOLATION, Finding, Needs, check
from core.observation import Observation, plain
from core.records import SiteRecord

FAILURES = {
    "refused": "连接被拒绝", "reset": "连接被重置", "timeout": "连接或响应超时", "tls": "HTTPS 握手失败",
    "http_status": "服务器返回错误状态码", "dns": "首页域名无法解析", "error": "无法建立连接",
    "redirects": "重定向次数过多（循环跳转）",
}
@check(
    code="site.unreachable",
    severity=VIOLATION,
    title="网站首页无法访问",
    rule="已备案网站必须开站：首页应能正常打开（连接被拒绝、超时、TLS 失败、HTTP 4xx/5xx 均视为无法访问）。",
    remediation="请检查服务器、Web 服务与域名解析，确保网站首页可以正常访问；如网站已不再使用，请申请注销网站备案或取消接入，勿保留无法访问的已备案网站。",
    doc="已备案网站必须开站: the homepage loads (refused, timeout, TLS failure, HTTP 4xx/5xx fail it)",
    needs=Needs.FETCH,
    confirm_scans=2,
    network_failure=True,
)
def unreachable(obs: Observation, record: SiteRecord) -> Finding | None:
    fetch = obs.fetch
    if fetch.state in ("page", "redirect_offsite"):
        return None
    failure = fetch.failure or "error"
    detail = FAILURES.get(failure, failure)
    if failure == "http_status" and fetch.status:
        detail = f"HTTP {fetch.status}"
    url = fetch.final_url or f"http://{obs.homepage}/"
    return Finding(f"{detail}（{url}）",
                   {"url": url, "failure": failure, "status": fetch.status, "reason": fetch.reason or None,
                    "attempts": plain(fetch.attempts)}, domain=obs.homepage)
