"""domain.expired: a filed domain's registration has expired (RDAP `expiration` event before the crawl).

Seed 001 (三、备案审核相关 FAQ, 6 域名问题驳回怎么办: 网站备案域名在域名注册有效期内; 二、备案流程类 "您的域名已过期，
新的域名持有者向管局提交注销申请"). When its DNS fails too, this is the root cause: access.dns_unresolved comes after
it and says nothing on that domain (the judge keeps the order per domain).
"""

from __future__ import annotations

from checks.domain import REGISTRATION_CHECK, evidence, looked_up, observed_at, parse_time, verdict
from checks.framework import VIOLATION, Finding, cannot, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="domain.expired",
    severity=VIOLATION,
    title="备案域名注册已过期",
    rule="备案域名须在注册有效期内；域名过期后可能被他人注册并冒用原备案信息。",
    remediation="请立即在域名注册商处为该域名续费；如不再使用该域名，请通过变更备案删除该域名或申请注销备案，避免原备案信息被他人违规使用。",
    doc="the registration has expired (RDAP `expiration` event before the crawl); when DNS also fails, this is reported instead of `access.dns_unresolved`, with the expiry date",
    **REGISTRATION_CHECK,
)
def expired(obs: Observation, record: SiteRecord):
    now = observed_at(obs)
    if now is None:
        return cannot("the observation has no time")
    registrations, unknown = looked_up(obs)
    found = []
    for registration in registrations:
        expires = parse_time(registration.expires)
        if expires is None:
            unknown.append(f"{registration.domain}: RDAP gives no expiration date")
        elif expires <= now:
            dns = {name: obs.answer(name).outcome for name in registration.filed if obs.answer(name) is not None}
            found.append(Finding(f"{registration.domain} 已于 {expires.date().isoformat()} 到期",
                                 evidence(registration, dns=dns), domain=registration.domain))
    return verdict(found, unknown)
