"""Shared by the filing.* checks: which numbers on the page belong to this website."""

from __future__ import annotations

from urllib.parse import urlsplit

from checks.base import SiteRecord
from core.icp import canonical

MIIT_HOST = "beian.miit.gov.cn"


def expected(record: SiteRecord) -> tuple[str, str]:
    return canonical(record.website_number), canonical(record.subject_number)


def filing_numbers(page: dict) -> list[dict]:
    """ICP filing numbers of websites (not licences 证, not app/mini-program numbers)."""
    return [n for n in page.get("numbers", []) if n["kind"] == "备" and not n["is_app"]]


def matching(page: dict, record: SiteRecord) -> list[dict]:
    website, subject = expected(record)
    accepted = {website} if record.require_website_number else {website, subject}
    return [n for n in page.get("numbers", []) if n["kind"] == "备" and not n["is_app"] and n["number"] in accepted]


def link_ok(url: str | None) -> bool:
    """Any URL on beian.miit.gov.cn, either scheme, any path or #/route."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https", "") and (parts.hostname or "").lower().rstrip(".") == MIIT_HOST


def page_checkable(obs: dict) -> str | None:
    """None when filing checks can run on this observation, else the reason they cannot."""
    fetch = obs["fetch"]
    if fetch["state"] != "page":
        return "no page"
    page = obs["page"]
    render = page.get("render") or {}
    if render.get("state") in ("failed", "empty"):
        return f"页面需在浏览器中渲染后才能判断，但未能完成：{render.get('reason', '')}"
    if page.get("app_shell") and not page.get("numbers") and render.get("state") != "rendered":
        return "页面内容由 JavaScript 生成，静态 HTML 无法判断（未渲染：" + (render.get("reason") or "渲染未开启") + "）"
    return None


def with_render(evidence: dict, page: dict) -> dict:
    """The evidence, plus how the page was read when a browser rendered it: what the static HTML lacked."""
    render = page.get("render")
    if render and render.get("state") == "rendered":
        evidence["rendered"] = {"state": "rendered", "static_lacked": render.get("static_lacked", []),
                                "static_numbers": render.get("static", {}).get("numbers", [])}  # fmt: skip
    return evidence
