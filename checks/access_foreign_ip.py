"""access.foreign_ip: a filed domain resolves (also through CNAMEs) outside the provider's mainland ranges."""

from __future__ import annotations

from checks.access import FOREIGN_KINDS, answers, owner_text
from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info


@check("access.foreign_ip")
def foreign_ip(obs: dict, record: SiteRecord) -> Outcome:
    found = []
    for domain, answer in answers(obs, record):
        if not answer:
            continue
        foreign = [o for o in answer.get("owners", []) if o["kind"] in FOREIGN_KINDS]
        if not foreign:
            continue
        described = "；".join(f"{o['address']}（{owner_text(o)}）" for o in foreign)
        found.append(
            Found(
                "access.foreign_ip",
                f"{info('access.foreign_ip').title}：{domain} -> {described}",
                {"domain": domain, "chain": answer.get("chain", []), "addresses": answer.get("addresses", []),
                 "foreign": foreign},  # fmt: skip
                domain=domain,
            )
        )
    return Outcome.failed("access.foreign_ip", *found) if found else Outcome.passed("access.foreign_ip")
