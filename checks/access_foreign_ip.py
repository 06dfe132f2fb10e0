
"""access.foreign_ip: a filed domain resolves (also through CNAMEs) outside the provider's mainland ranges.

Seed 002 (备案信息专项主要检查哪些内容: 备案域名当前解析的 IP 地址的归属须与备案接入的接入服务商一致); seed 001 (前期准备
Q6 域名是国外的，服务器使用国内的; 名词 Q3 什么是接入商). The evidence names each address's owner (RDAP).
"""

from __future__ import annotations

from checks.access import FOREIGN_KINDS, owner_text, owners_of_kind
from checks.framework import VIOLATION, Binds, Field, Finding, Needs, Scope, check
from core.observation import Observation, plain
from core.records import SiteRecord


@check(
    code="access.foreign_ip",
    severity=VIOLATION,
    title="备案域名未解析至本接入商的服务器",
    rule="在本接入商备案接入的域名，须解析至本接入商中国内地的服务器 IP（含经 CNAME 接入本接入商 CDN）；解析至其他服务商或境外（含香港）节点的，不属于本接入商的接入范围。",
    remediation="请将域名解析修改为本接入商中国内地服务器的 IP；如网站实际使用其他服务商的服务器，请在该服务商处办理备案接入，并在本接入商处取消接入。",
    doc="every address (also through CNAMEs) is in the provider's mainland ranges or behind its CDN; evidence names the owner",
    needs=Needs.DNS,
    scope=Scope.DOMAIN,
    notice_field="域名解析",
    notice_field_lists=Field.DOMAINS,
    waiver_binds=Binds.DNS,
)
def foreign_ip(obs: Observation, record: SiteRecord) -> list[Finding]:
    found = []
    for domain, answer, foreign in owners_of_kind(obs, record, FOREIGN_KINDS):
        described = "；".join(f"{o.address}（{owner_text(o)}）" for o in foreign)
        found.append(Finding(f"{domain} -> {described}", {"domain": domain, "chain": answer.chain,
                                                          "addresses": answer.addresses, "foreign": plain(foreign)},
                             domain=domain))
    return found
