"""access.dns_unresolved: a filed domain does not resolve (NXDOMAIN, no address, SERVFAIL)."""

from __future__ import annotations

from checks.access import OUR_FAILURES, answers
from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info

OUTCOMES = {"nxdomain": "域名不存在（NXDOMAIN）", "no_address": "无 A/AAAA 记录", "servfail": "解析失败（SERVFAIL）"}


@check("access.dns_unresolved")
def dns_unresolved(obs: dict, record: SiteRecord) -> Outcome:
    found, unknown = [], []
    for domain, answer in answers(obs, record):
        if answer is None or answer["outcome"] in OUR_FAILURES:
            unknown.append(domain)
            continue
        if answer["outcome"] in OUTCOMES:
            found.append(
                Found(
                    "access.dns_unresolved",
                    f"{info('access.dns_unresolved').title}：{domain} {OUTCOMES[answer['outcome']]}",
                    {"domain": domain, "outcome": answer["outcome"], "chain": answer.get("chain", []),
                     "detail": answer.get("detail", ""), "nameservers": obs.get("nameservers", [])},  # fmt: skip
                    domain=domain,
                )
            )
    if found:
        return Outcome.failed("access.dns_unresolved", *found)
    if unknown:
        return Outcome.not_checked("access.dns_unresolved", f"our resolvers did not answer for {', '.join(unknown)}")
    return Outcome.passed("access.dns_unresolved")
