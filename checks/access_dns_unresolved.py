
"""access.dns_unresolved: a filed domain does not resolve (NXDOMAIN, no address, SERVFAIL).

Seed 002 (备案信息专项主要检查哪些内容: 接入信息是否真实准确——备案域名当前解析的 IP 地址的归属须与备案接入的接入服务商
一致). A domain that resolves nowhere cannot be hosted here; our resolvers' timeout is "could not check".
"""

from __future__ import annotations

from checks.access import answers
from checks.framework import VIOLATION, Binds, Field, Finding, Needs, Scope, cannot, check
from core.observation import DNS_OUR_FAILURES, Observation
from core.records import SiteRecord

OUTCOMES = {"nxdomain": "域名不存在（NXDOMAIN）", "no_address": "无 A/AAAA 记录", "servfail": "解析失败（SERVFAIL）"}
@check(
    code="access.dns_unresolved",
    severity=VIOLATION,
    title="备案域名无法解析",
    rule="已备案的域名应能正常解析并指向本接入商的服务器。",
    remediation="请在域名注册商处为该域名添加解析记录并指向本接入商分配的服务器 IP；如该域名已不再使用，请通过变更备案删除该域名。",
    doc="every filed domain resolves (NXDOMAIN, no address, SERVFAIL fail it; our timeout is \"could not check\")",
    needs=Needs.DNS,
    scope=Scope.DOMAIN,
    notice_field="域名解析",
    notice_field_lists=Field.DOMAINS,
    waiver_binds=Binds.DNS,
    confirm_scans=2,
    network_failure=True,
    after=("domain.expired",),  # per domain: an expired registration is the root cause of its DNS failure
)
def dns_unresolved(obs: Observation, record: SiteRecord):
    found, unknown = [], []
    for domain, answer in answers(obs, record):
        if answer is None or answer.outcome in DNS_OUR_FAILURES:
            unknown.append(domain)
        elif answer.outcome in OUTCOMES:
            found.append(Finding(f"{domain} {OUTCOMES[answer.outcome]}",
                                 {"domain": domain, "outcome": answer.outcome, "chain": answer.chain,
                                  "detail": answer.detail, "nameservers": obs.nameservers}, domain=domain))
    if found:
        return found
    if unknown:
        return cannot(f"our resolvers did not answer for {', '.join(unknown)}")
    return None
