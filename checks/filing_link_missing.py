"""filing.link_missing: the right number is shown but not hyperlinked."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import MIIT_URL, info
from checks.filing import matching, page_checkable, with_render


@check("filing.link_missing")
def link_missing(obs: dict, record: SiteRecord) -> Outcome:
    reason = page_checkable(obs)
    if reason:
        return Outcome.not_checked("filing.link_missing", reason)
    numbers = matching(obs["page"], record)
    if not numbers:
        return Outcome.not_checked("filing.link_missing", "no matching number shown")
    if any(n["linked"] for n in numbers):
        return Outcome.passed("filing.link_missing")
    return Outcome.failed(
        "filing.link_missing",
        Found(
            "filing.link_missing",
            f"首页显示备案号但未链接至 {MIIT_URL}",
            with_render({"url": obs["fetch"]["final_url"], "number": numbers[0]["number"],
                         "snippet": numbers[0]["snippet"], "rule": info("filing.link_missing").rule}, obs["page"]),
            domain=obs["homepage"],
        ),
    )
