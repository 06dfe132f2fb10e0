"""Shared by the filing.* checks: which numbers on the page belong to this website."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.icp import canonical
from core.observation import NumberSeen, Page
from core.records import SiteRecord

MIIT_HOST = "beian.miit.gov.cn"
# filing.* run on a real page only: the site checks are their root causes
SITE_CHECKS = ("site.unreachable", "site.redirect_offsite", "site.placeholder")


def expected(record: SiteRecord) -> tuple[str, str]:
    return canonical(record.website_number), canonical(record.subject_number)


def matching(page: Page, record: SiteRecord) -> list[NumberSeen]:
    """The website filing numbers shown that are this website's (or its subject's, where the province allows)."""
    website, subject = expected(record)
    accepted = {website} if record.require_website_number else {website, subject}
    return [n for n in page.numbers if n.kind == "备" and not n.is_app and n.number in accepted]


def link_ok(url: str | None) -> bool:
    """Any URL on beian.miit.gov.cn, either scheme, any path or #/route."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https", "") and (parts.hostname or "").lower().rstrip(".") == MIIT_HOST


def with_render(evidence: dict, page: Page) -> dict:
    """The evidence, plus how the page was read when a browser rendered it: what the static HTML lacked."""
    render = page.render
    if render is not None and render.state == "rendered":
        evidence["rendered"] = {"state": "rendered", "static_lacked": render.static_lacked,
                                "static_numbers": render.static.get("numbers", [])}
    return evidence
