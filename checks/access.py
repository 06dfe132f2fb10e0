"""Shared by the access.* checks: the DNS answer recorded for each filed domain."""

from __future__ import annotations

from core.observation import DnsRecord, Observation, Owner
from core.records import SiteRecord

FOREIGN_KINDS = ("provider_offshore", "known", "unknown")


def answers(obs: Observation, record: SiteRecord) -> list[tuple[str, DnsRecord | None]]:
    """Every filed domain, and the homepage host when it is a name under one of them (www.…)."""
    names = list(record.domains)
    if record.homepage_host and record.homepage_host not in names:
        names.append(record.homepage_host)
    return [(name, obs.answer(name)) for name in names]


def owner_text(owner: Owner) -> str:
    name = owner.owner or "未知"
    if owner.kind == "provider_offshore":
        return f"{name}（{owner.region} 节点）"
    if owner.asn:
        return f"{name}，{owner.asn}"
    return name


def owners_of_kind(obs: Observation, record: SiteRecord, kinds: tuple[str, ...]) -> list[tuple[str, DnsRecord, list[Owner]]]:
    """(domain, its answer, the addresses of those kinds) for each filed domain that has any."""
    found = []
    for domain, answer in answers(obs, record):
        owners = [o for o in (answer.owners or []) if o.kind in kinds] if answer else []
        if owners:
            found.append((domain, answer, owners))
    return found
