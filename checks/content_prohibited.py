
"""content.prohibited: gambling, lottery betting, pornography or fraud services (critical, any subject).

Seed 001 (备案后 Q16 为什么备案号会被注销: 网站含有违法信息，管局会对违法信息的网站及主体进行注销); seed 002 (网站内容是否与
备案信息相符). No grace period: the case is escalated at once.
"""

from __future__ import annotations

from checks.content import PROHIBITED, present
from checks.filing import SITE_CHECKS
from checks.framework import CRITICAL, Finding, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="content.prohibited",
    severity=CRITICAL,
    title="网站含有违法违规内容",
    rule="网站不得含有赌博、彩票投注、色情、诈骗（如代开发票）等违法违规内容。",
    remediation="请立即删除违法违规内容。此类问题不设整改期，将直接转交运营人员处理，可能立即取消接入。",
    doc="no gambling, lottery betting, pornography or fraud services (代开发票, 办证刻章); no grace period",
    after=SITE_CHECKS,
)
def prohibited(obs: Observation, record: SiteRecord) -> Finding | None:
    found = present(obs.page, PROHIBITED)
    if not found:
        return None
    labels = "、".join(c.label for c in found)
    terms = "、".join(found[0].terms[:3])
    return Finding(f"疑似{labels}内容（命中“{terms}”）。请立即删除，此类问题不设整改期",
                   {"url": obs.fetch.final_url, "categories": [c.evidence() for c in found]}, domain=obs.homepage)
