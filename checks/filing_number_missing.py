"""filing.number_missing: no ICP filing number visible on the homepage."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.filing import expected, page_checkable, with_render


@check("filing.number_missing")
def number_missing(obs: dict, record: SiteRecord) -> Outcome:
    reason = page_checkable(obs)
    if reason:
        return Outcome.not_checked("filing.number_missing", reason)
    page = obs["page"]
    if page.get("numbers"):
        return Outcome.passed("filing.number_missing")  # a number is shown; whether it is right is mismatch's job
    website, _subject = expected(record)
    evidence = with_render({
        "url": obs["fetch"]["final_url"],
        "expected": website,
        "footer_text": (page.get("footer_text") or page.get("text", "")[-300:])[:300],
    }, page)
    detail = ""
    if page.get("psb_numbers"):
        evidence["psb_numbers"] = page["psb_numbers"]
        detail = "（仅展示了公安备案号）"
    if page.get("numbers_in_hidden"):
        evidence["numbers_in_hidden"] = page["numbers_in_hidden"]
        detail = "（备案号仅出现在注释、脚本或隐藏元素中，页面上不可见）"
    return Outcome.failed(
        "filing.number_missing",
        Found("filing.number_missing", f"{info('filing.number_missing').title}{detail}", evidence, domain=obs["homepage"]),
    )
