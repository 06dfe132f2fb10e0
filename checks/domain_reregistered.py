"""domain.reregistered: a filed domain was registered (RDAP `registration` event) after the website's filing
was approved (the registry's 审核通过日期), or, without that date, after the website first appeared in our
registry: the domain expired and someone else registered it, and is using the old filing.

Seed 001 (五、备案后 FAQ, 2 已备案的域名到期后，被其他用户注册，其备案信息还存在吗: 备案信息通常会保留一段时间 …
避免原来的备案信息被其他人违规使用; 三、备案审核相关 FAQ: 抢注的域名，即购买了已有备案号的域名).
"""

from __future__ import annotations

from datetime import UTC, datetime

from checks.domain import REGISTRATION_CHECK, evidence, looked_up, parse_time, verdict
from checks.framework import VIOLATION, Finding, cannot, check
from core.observation import Observation
from core.records import SiteRecord


def _since(record: SiteRecord) -> tuple[datetime | None, str]:
    """(the moment the filing is known to have existed, what that moment is)."""
    if record.approved_at:
        try:
            day = datetime.fromisoformat(record.approved_at)
            return day.replace(tzinfo=day.tzinfo or UTC), "approved_at"
        except ValueError:
            pass
    return parse_time(record.first_seen), "first_seen"


@check(
    code="domain.reregistered",
    severity=VIOLATION,
    title="备案域名在备案通过后被重新注册",
    rule="域名到期后被他人重新注册的，原备案信息不能继续使用；新持有者须以自己的主体重新办理备案。",
    remediation="该域名的注册时间晚于本网站备案通过的时间，说明域名已被重新注册。如您是该域名的新持有者，请以您的主体信息重新提交备案（原备案信息不能继续使用）；如域名仍归原备案主体所有，请联系我们核实，并在域名注册商处核对注册信息后变更备案。",
    doc="the domain was registered (RDAP `registration` event) after the website's filing was approved (`approved_at`), or after the record first appeared in our registry: a new holder is using an old filing",
    after=("domain.expired",),
    **REGISTRATION_CHECK,
)
def reregistered(obs: Observation, record: SiteRecord):
    since, basis = _since(record)
    if since is None:
        return cannot("the record has neither approved_at nor a first-seen time")
    registrations, unknown = looked_up(obs)
    found = []
    for registration in registrations:
        registered = parse_time(registration.registered)
        if registered is None:
            unknown.append(f"{registration.domain}: RDAP gives no registration date")
        elif registered > since:
            what = "备案通过" if basis == "approved_at" else "进入本接入商备案库"
            found.append(Finding(
                f"{registration.domain} 注册于 {registered.date().isoformat()}，晚于{what}的 {since.date().isoformat()}",
                evidence(registration, compared_with=basis, since=since.isoformat()), domain=registration.domain))
    return verdict(found, unknown)
