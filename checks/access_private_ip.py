"""access.private_ip: a filed domain resolves to a private/reserved address that is not allowed."""

from __future__ import annotations

from checks.access import answers
from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info


@check("access.private_ip")
def private_ip(obs: dict, record: SiteRecord) -> Outcome:
    found = []
    for domain, answer in answers(obs, record):
        if not answer:
            continue
        private = [o["address"] for o in answer.get("owners", []) if o["kind"] == "private"]
        if private:
            found.append(
                Found(
                    "access.private_ip",
                    f"{info('access.private_ip').title}：{domain} -> {', '.join(private)}",
                    {"domain": domain, "chain": answer.get("chain", []), "addresses": answer.get("addresses", []),
                     "private": private, "fetched": False},  # fmt: skip
                    domain=domain,
                )
            )
    return Outcome.failed("access.private_ip", *found) if found else Outcome.passed("access.private_ip")
