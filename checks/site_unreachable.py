"""site.unreachable: the homepage does not load (refused, timed out, TLS failure, HTTP 4xx/5xx)."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info

FAILURES = {
    "refused": "连接被拒绝", "reset": "连接被重置", "timeout": "连接或响应超时", "tls": "HTTPS 握手失败",
    "http_status": "服务器返回错误状态码", "dns": "首页域名无法解析", "error": "无法建立连接",
}  # fmt: skip


@check("site.unreachable")
def unreachable(obs: dict, record: SiteRecord) -> Outcome:
    fetch = obs["fetch"]
    if fetch["state"] in ("page", "redirect_offsite"):
        return Outcome.passed("site.unreachable")
    if fetch["state"] == "not_fetched" or fetch.get("ours"):
        return Outcome.not_checked("site.unreachable", fetch.get("reason") or "not fetched")
    failure = fetch.get("failure") or "error"
    detail = FAILURES.get(failure, failure)
    if failure == "http_status" and fetch.get("status"):
        detail = f"HTTP {fetch['status']}"
    url = fetch.get("final_url") or f"http://{obs['homepage']}/"
    return Outcome.failed(
        "site.unreachable",
        Found(
            "site.unreachable",
            f"{info('site.unreachable').title}：{detail}（{url}）",
            {"url": url, "failure": failure, "status": fetch.get("status"), "reason": fetch.get("reason"),
             "attempts": fetch.get("attempts", [])},  # fmt: skip
            domain=obs["homepage"],
        ),
    )
