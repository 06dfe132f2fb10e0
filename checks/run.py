"""Evaluate the checks for one website, applying CONTRACT §4's one-finding-per-root-cause rules.

- 已注销: nothing is checked. 备案中: only whether the site is already live.
- access.*: every filed domain, always.
- site.*: when the homepage host resolved to an address we could fetch. A homepage whose DNS fails or
  points at a private address is reported by access.* alone.
- filing.* and content.*: only on a real page (not unreachable, placeholder, or redirected away).
A code that is not evaluated ("suppressed") leaves its open findings alone; "passed" closes them.
"""

from __future__ import annotations

import importlib
import pkgutil

import checks
from checks.base import CHECKS, FAILED, NOT_CHECKED, PASSED, Outcome, SiteRecord
from scanner.registry.records import CANCELLED, PENDING

ACCESS = ("access.dns_unresolved", "access.private_ip", "access.foreign_ip")
SITE = ("site.unreachable", "site.redirect_offsite", "site.placeholder")
PAGE_FAMILIES = ("filing.", "content.")


_loaded = False


def load_all() -> None:
    """Import every check module so its @check registers (once per process)."""
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(checks.__path__):
        if module.name not in ("base", "catalog", "run", "registry"):
            importlib.import_module(f"checks.{module.name}")
    _loaded = True


def implemented() -> list[str]:
    from checks.registry import SUBJECT_CHECKS, WEBSITE_CHECKS

    load_all()
    return sorted(set(CHECKS) | set(SUBJECT_CHECKS) | set(WEBSITE_CHECKS))


def _page_codes() -> list[str]:
    return [code for code in CHECKS if code.startswith(PAGE_FAMILIES)]


def evaluate(obs: dict, record: SiteRecord) -> list[Outcome]:
    load_all()
    if record.status == CANCELLED:
        return []
    if record.status == PENDING:
        return [CHECKS["site.live_while_pending"](obs, record)]
    outcomes = [CHECKS[code](obs, record) for code in ACCESS]
    fetch = obs["fetch"]
    if fetch["state"] == "not_fetched" and fetch.get("failure") in ("dns", "private"):
        return outcomes  # the homepage's DNS is the root cause, already reported (or not ours to judge)
    site = {code: CHECKS[code](obs, record) for code in SITE}
    outcomes.extend(site.values())
    if site["site.unreachable"].state != PASSED or site["site.redirect_offsite"].state == FAILED:
        return outcomes
    if site["site.placeholder"].state != PASSED:
        return outcomes
    outcomes.extend(CHECKS[code](obs, record) for code in _page_codes())
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {PASSED: 0, FAILED: 0, NOT_CHECKED: 0}
    for outcome in outcomes:
        counts[outcome.state] += 1
    return counts
