"""content.prohibited: gambling, lottery betting, pornography or fraud services (critical, any subject)."""

from __future__ import annotations

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info
from checks.content import PROHIBITED, present


@check("content.prohibited")
def prohibited(obs: dict, record: SiteRecord) -> Outcome:
    found = present(obs["page"], PROHIBITED)
    if not found:
        return Outcome.passed("content.prohibited")
    labels = "、".join(c.label for c in found)
    terms = "、".join(found[0].terms[:3])
    summary = f"{info('content.prohibited').title}：疑似{labels}内容（命中“{terms}”）。请立即删除，此类问题不设整改期"
    evidence = {"url": obs["fetch"]["final_url"], "categories": [c.evidence() for c in found]}
    return Outcome.failed("content.prohibited", Found("content.prohibited", summary, evidence, domain=obs["homepage"]))
