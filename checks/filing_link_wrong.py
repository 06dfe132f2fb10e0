"""filing.link_wrong: the number is linked, but not to beian.miit.gov.cn."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import MIIT_URL, info
from checks.filing import link_ok, matching, page_checkable


@check("filing.link_wrong")
def link_wrong(obs: dict, record: SiteRecord) -> Outcome:
    reason = page_checkable(obs)
    if reason:
        return Outcome.not_checked("filing.link_wrong", reason)
    linked = [n for n in matching(obs["page"], record) if n["linked"]]
    if not linked:
        return Outcome.not_checked("filing.link_wrong", "no linked matching number")
    if any(link_ok(n["link"]) for n in linked):
        return Outcome.passed("filing.link_wrong")
    number = linked[0]
    return Outcome.failed(
        "filing.link_wrong",
        Found(
            "filing.link_wrong",
            f"{info('filing.link_wrong').title}：链接至 {number['link']}，应为 {MIIT_URL}",
            {"url": obs["fetch"]["final_url"], "number": number["number"], "link": number["link"],
             "snippet": number["snippet"]},  # fmt: skip
            domain=obs["homepage"],
        ),
    )
