"""filing.number_mismatch: a filing number is shown but it is not this website's or its subject's."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.filing import expected, matching, page_checkable, with_render


@check("filing.number_mismatch")
def number_mismatch(obs: dict, record: SiteRecord) -> Outcome:
    reason = page_checkable(obs)
    if reason:
        return Outcome.not_checked("filing.number_mismatch", reason)
    page = obs["page"]
    shown = page.get("numbers") or []
    if not shown or matching(page, record):
        return Outcome.passed("filing.number_mismatch")
    website, subject = expected(record)
    notes = []
    for number in shown:
        if number["is_app"]:
            notes.append(f"{number['number']} 是 APP/小程序备案号")
        elif number["kind"] != "备":
            notes.append(f"{number['number']} 是 ICP 经营许可证号，不是备案号")
        elif number["number"] == subject and record.require_website_number:
            notes.append(f"{number['number']} 是主体备案号，本省要求展示网站备案号")
    first = shown[0]
    return Outcome.failed(
        "filing.number_mismatch",
        Found(
            "filing.number_mismatch",
            f"{info('filing.number_mismatch').title}：页面显示 {first['number']}，应为 {website}",
            with_render({"url": obs["fetch"]["final_url"], "found": [n["number"] for n in shown], "expected": website,
                         "subject_number": subject, "snippet": first["snippet"], "notes": notes}, page),
            domain=obs["homepage"],
        ),
    )
