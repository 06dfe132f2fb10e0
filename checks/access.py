"""Shared by the access.* checks: the DNS answer recorded for each filed domain."""

from __future__ import annotations

from checks.base import SiteRecord

OUR_FAILURES = ("timeout",)
FOREIGN_KINDS = ("provider_offshore", "known", "unknown")


def answers(obs: dict, record: SiteRecord) -> list[tuple[str, dict | None]]:
    """Every filed domain, and the homepage host when it is a name under one of them (www.…)."""
    dns = obs.get("dns") or {}
    names = list(record.domains)
    if record.homepage_host and record.homepage_host not in names:
        names.append(record.homepage_host)
    return [(name, dns.get(name)) for name in names]


def owner_text(entry: dict) -> str:
    owner = entry.get("owner") or "未知"
    if entry.get("kind") == "provider_offshore":
        return f"{owner}（{entry.get('region')} 节点）"
    if entry.get("asn"):
        return f"{owner}，{entry['asn']}"
    return owner
