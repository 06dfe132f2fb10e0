"""site.redirect_offsite: the homepage redirects to a host outside the website's filed domains."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info


@check("site.redirect_offsite")
def redirect_offsite(obs: dict, record: SiteRecord) -> Outcome:
    fetch = obs["fetch"]
    if fetch["state"] == "page":
        return Outcome.passed("site.redirect_offsite")
    if fetch["state"] != "redirect_offsite":
        return Outcome.not_checked("site.redirect_offsite", "no page")
    target = fetch["offsite_url"]
    return Outcome.failed(
        "site.redirect_offsite",
        Found(
            "site.redirect_offsite",
            f"{info('site.redirect_offsite').title}：跳转至 {target}",
            {"from": fetch.get("redirects", [None])[0], "to": target, "redirects": fetch.get("redirects", []),
             "how": fetch.get("redirect_kind", "http"), "filed_domains": record.domains},  # fmt: skip
            domain=obs["homepage"],
        ),
    )
