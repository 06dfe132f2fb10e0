"""Is a page a placeholder (server or panel default page, 建设中, for sale, directory listing, empty)?

The terms are in checks/data/placeholder.tsv. Used by site.placeholder and site.live_while_pending, and
given to the crawl so that it prefers a real page over a placeholder when https and http differ."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.icp import normalise
from core.observation import Page

DATA = Path(__file__).parent / "data" / "placeholder.tsv"
NEAR_EMPTY = 300  # visible characters
EMPTY = 12
CHALLENGE = "challenge"  # a firewall's browser check: could not check, not a placeholder
KIND_NAMES = {
    "server_default": "Web 服务器默认页面", "panel_default": "主机面板默认页面", "directory_listing": "目录列表",
    "domain_for_sale": "域名出售/停放页面", "under_construction": "建设中页面", "empty": "空白页面",
    "stopped_site": "网站已被停止运行（主机面板停止页）", "interception": "接入商拦截页（网站未备案或被暂停访问）", "error_page": "错误页面（如 404 Not Found）作为首页",
}


@dataclass(frozen=True)
class Term:
    text: str
    strong: bool
    where: str
    kind: str


@lru_cache(maxsize=1)
def terms() -> tuple[Term, ...]:
    result = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, strength, where, kind, *_ = line.split("\t")
        # the page's text is normalised (NFKC: "，" becomes ","), so the terms are too
        result.append(Term(normalise(text).lower(), strength == "strong", where, kind))
    return tuple(result)


def placeholder_kind(page: Page) -> tuple[str, str] | None:
    """(kind, matched term) when the page is a placeholder, else None."""
    title = page.title.lower()
    text = page.text.lower()
    if page.app_shell:
        # built by JavaScript: not judged on its static shell, except by what its own title states outright
        # (a for-sale or stopped-site title is the page's message, whatever the script would draw under it)
        for term in terms():
            if term.strong and term.where in ("title", "any") and term.kind != CHALLENGE and term.text in title:
                return term.kind, term.text
        return None
    near_empty = len(text) < NEAR_EMPTY
    for term in terms():
        where = {"title": (title,), "text": (text,), "any": (title, text)}[term.where]
        if any(term.text in value for value in where) and (term.strong or near_empty):
            return term.kind, term.text
    if len(text.replace(" ", "")) < EMPTY and not page.numbers:
        return "empty", text
    return None
