"""domain.holder_mismatch: RDAP names a registrant (域名持有者) that is not the filing subject.

Seed 001 (三、备案审核相关 FAQ, 6 域名问题驳回怎么办: 备案主体信息应与域名注册人（域名持有者）实名认证信息相符;
单位注册的域名仅可用于本单位为主体的 ICP 备案，无法用于个人备案); seed 002 (专项核查: 网站内容、域名持有者是否与备案信息
相符). Names are compared normalised (NFKC, case, spaces and punctuation). A redacted or absent registrant, or one
named only in Latin script for a Chinese subject, is "could not check", never a finding.
"""

from __future__ import annotations

from checks.domain import (
    REGISTRATION_CHECK,
    evidence,
    has_cjk,
    looked_up,
    looks_like_unit,
    normalise_name,
    verdict,
)
from checks.framework import WARNING, Finding, check
from core.observation import Observation
from core.records import SiteRecord

PERSONAL = "个人"


@check(
    code="domain.holder_mismatch",
    severity=WARNING,
    title="域名持有者与备案主体不一致",
    rule="备案主体信息应与域名注册人（域名持有者）的实名认证信息一致；单位注册的域名不能用于个人备案。",
    remediation="请登录域名注册商网站或联系域名注册商，将域名实名认证信息（域名所有者）修改为备案主办单位的中文全称（英文为其拼音全称）；或通过变更备案使备案主体与域名持有者一致。域名持有者已更换的，请由新持有者重新办理备案。",
    doc="RDAP names a registrant that is not the subject (normalised names; a unit's domain on a 个人 filing); a redacted or absent registrant is \"could not check\", never a finding",
    after=("domain.expired",),
    **REGISTRATION_CHECK,
)
def holder_mismatch(obs: Observation, record: SiteRecord):
    registrations, unknown = looked_up(obs)
    subject = normalise_name(record.subject_name)
    found = []
    for registration in registrations:
        holder = registration.registrant
        if not holder:
            why = "redacted" if registration.redacted else "absent"
            unknown.append(f"{registration.domain}: registrant {why} in RDAP")
            continue
        if has_cjk(record.subject_name) and not has_cjk(holder):
            unknown.append(f"{registration.domain}: registrant {holder!r} is not named in Chinese")
            continue
        unit_on_personal = record.nature == PERSONAL and (registration.registrant_kind == "org" or looks_like_unit(holder))
        if normalise_name(holder) != subject or unit_on_personal:
            detail = f"{registration.domain} 的持有者为“{holder}”，备案主体为“{record.subject_name}”"
            if unit_on_personal:
                detail += "（单位注册的域名不能用于个人备案）"
            found.append(Finding(detail, evidence(registration, subject=record.subject_name, nature=record.nature,
                                                  registrant_kind=registration.registrant_kind),
                                 domain=registration.domain))
    return verdict(found, unknown)
