"""domain.expiring: a filed domain's registration expires within `[domains] expiry_warn_days` (default 90).

Seed 001 (三、备案审核相关 FAQ, 6 域名问题驳回怎么办: 网站备案域名在域名注册有效期内（一般为有效期不少于 3 个月）).
"""

from __future__ import annotations

from checks.domain import REGISTRATION_CHECK, evidence, looked_up, observed_at, parse_time, verdict
from checks.framework import WARNING, Finding, cannot, check
from core.observation import Observation
from core.records import SiteRecord


@check(
    code="domain.expiring",
    severity=WARNING,
    title="备案域名即将到期",
    rule="备案域名须在注册有效期内，且剩余有效期一般不少于 3 个月。",
    remediation="请尽快在域名注册商处为该域名续费（建议续费一年以上），避免域名过期后网站无法访问、备案被注销或域名被他人抢注。",
    doc="the registration expires in less than `[domains] expiry_warn_days` (default 90 days, the seed's 3 months)",
    after=("domain.expired",),
    **REGISTRATION_CHECK,
)
def expiring(obs: Observation, record: SiteRecord):
    now = observed_at(obs)
    if now is None:
        return cannot("the observation has no time")
    registrations, unknown = looked_up(obs)
    found = []
    for registration in registrations:
        expires = parse_time(registration.expires)
        if expires is None:
            unknown.append(f"{registration.domain}: RDAP gives no expiration date")
            continue
        days = (expires - now).days
        if expires > now and days < record.expiry_warn_days:
            found.append(Finding(f"{registration.domain} 将于 {expires.date().isoformat()} 到期",  # days left: evidence
                                 evidence(registration, days_left=days, warn_days=record.expiry_warn_days),
                                 domain=registration.domain))
    return verdict(found, unknown)
