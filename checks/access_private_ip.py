
"""access.private_ip: a filed domain resolves to a private/reserved address that is not allowed.

Seed 002 (接入信息是否真实准确): a filed domain must point at the provider's public servers; a private,
loopback or link-local address serves nobody, and is never fetched (fetch.allow_ranges aside).
"""

from __future__ import annotations

from checks.access import owners_of_kind
from checks.framework import VIOLATION, Binds, Field, Finding, Needs, Scope, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="access.private_ip",
    severity=VIOLATION,
    title="备案域名解析至内网或保留地址",
    rule="备案域名须解析至可公开访问的服务器地址；解析至内网、回环、链路本地等保留地址的，网站无法被公众访问。",
    remediation="请将域名解析修改为本接入商分配的公网 IP 地址。",
    doc="no filed domain resolves to a private/reserved address that is not allowed; such addresses are never fetched",
    needs=Needs.DNS,
    scope=Scope.DOMAIN,
    notice_field="域名解析",
    notice_field_lists=Field.DOMAINS,
    waiver_binds=Binds.DNS,
)
def private_ip(obs: Observation, record: SiteRecord) -> list[Finding]:
    found = []
    for domain, answer, owners in owners_of_kind(obs, record, ("private",)):
        private = [o.address for o in owners]
        found.append(Finding(f"{domain} -> {', '.join(private)}", {"domain": domain, "chain": answer.chain,
                                                                   "addresses": answer.addresses, "private": private,
                                                                   "fetched": False}, domain=domain))
    return found
