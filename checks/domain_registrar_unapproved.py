"""domain.registrar_unapproved: the sponsoring registrar is not an MIIT-approved 域名注册服务机构
(checks/data/miit_registrars.tsv, with its source and date).

Seed 001 (三、备案审核相关 FAQ, 6 域名问题驳回怎么办: 网站备案域名的注册商必须为中国工信部批复的域名注册服务机构 …
更换其他可备案域名进行备案，或者将该域名转入至工信部已批复的域名注册服务机构).
"""

from __future__ import annotations

from checks.domain import (
    REGISTRATION_CHECK,
    approved_registrars,
    evidence,
    looked_up,
    normalise_name,
    verdict,
)
from checks.framework import WARNING, Finding, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="domain.registrar_unapproved",
    severity=WARNING,
    title="域名注册商不是工信部批复的域名注册服务机构",
    rule="备案域名的注册商必须为工信部批复的域名注册服务机构。",
    remediation="请将该域名转入工信部已批复的域名注册服务机构（可在工业和信息化部网站查询名单），完成实名认证后告知我们；或更换为其他可备案的域名并变更备案。",
    doc="the sponsoring registrar is not an MIIT-approved 域名注册服务机构 (`checks/data/miit_registrars.tsv`, its source and date in the file)",
    after=("domain.expired",),
    **REGISTRATION_CHECK,
)
def registrar_unapproved(obs: Observation, record: SiteRecord):
    names, ids = approved_registrars()
    registrations, unknown = looked_up(obs)
    found = []
    for registration in registrations:
        if not registration.registrar and not registration.registrar_id:
            unknown.append(f"{registration.domain}: RDAP names no registrar")
            continue
        if registration.registrar_id in ids or normalise_name(registration.registrar) in names:
            continue
        found.append(Finding(f"{registration.domain} 的注册商为“{registration.registrar or registration.registrar_id}”",
                             evidence(registration, registrar_id=registration.registrar_id), domain=registration.domain))
    return verdict(found, unknown)
