"""site.live_while_pending: the filing is still 备案中 but the website already serves a real page."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.placeholder import placeholder_kind


@check("site.live_while_pending")
def live_while_pending(obs: dict, record: SiteRecord) -> Outcome:
    fetch = obs["fetch"]
    if fetch["state"] == "not_fetched" or fetch.get("ours"):
        return Outcome.not_checked("site.live_while_pending", fetch.get("reason") or "not fetched")
    if fetch["state"] != "page":
        return Outcome.passed("site.live_while_pending")  # closed, unreachable or not resolvable: fine
    if placeholder_kind(obs["page"]) is not None:
        return Outcome.passed("site.live_while_pending")
    page = obs["page"]
    return Outcome.failed(
        "site.live_while_pending",
        Found(
            "site.live_while_pending",
            f"{info('site.live_while_pending').title}：{fetch['final_url']} 返回 HTTP {fetch.get('status')}",
            {"url": fetch["final_url"], "status": fetch.get("status"), "title": page.get("title", ""),
             "text_excerpt": page.get("text", "")[:200], "filing_status": record.status},  # fmt: skip
            domain=obs["homepage"],
        ),
    )
