"""site.placeholder: the homepage loads but is not a real site (default page, 建设中, for sale, empty)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from checks.base import Found, Outcome, SiteRecord, check
from checks.catalog import info

DATA = Path(__file__).parent / "data" / "placeholder.tsv"
NEAR_EMPTY = 300  # visible characters
EMPTY = 12
KIND_NAMES = {
    "server_default": "Web 服务器默认页面", "panel_default": "主机面板默认页面", "directory_listing": "目录列表",
    "domain_for_sale": "域名出售/停放页面", "under_construction": "建设中页面", "empty": "空白页面",
}  # fmt: skip


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
        result.append(Term(text.lower(), strength == "strong", where, kind))
    return tuple(result)


def placeholder_kind(page: dict) -> tuple[str, str] | None:
    """(kind, matched term) when the page is a placeholder, else None."""
    title = (page.get("title") or "").lower()
    text = (page.get("text") or "").lower()
    if page.get("app_shell"):
        return None  # built by JavaScript: not judged on its static shell
    near_empty = len(text) < NEAR_EMPTY
    for term in terms():
        where = {"title": (title,), "text": (text,), "any": (title, text)}[term.where]
        if any(term.text in value for value in where) and (term.strong or near_empty):
            return term.kind, term.text
    if len(text.replace(" ", "")) < EMPTY and not page.get("numbers"):
        return "empty", text
    return None


@check("site.placeholder")
def placeholder(obs: dict, record: SiteRecord) -> Outcome:
    fetch = obs["fetch"]
    if fetch["state"] != "page":
        return Outcome.not_checked("site.placeholder", "no page")
    found = placeholder_kind(obs["page"])
    if found is None:
        return Outcome.passed("site.placeholder")
    kind, term = found
    page = obs["page"]
    return Outcome.failed(
        "site.placeholder",
        Found(
            "site.placeholder",
            f"{info('site.placeholder').title}：{KIND_NAMES.get(kind, kind)}（{fetch['final_url']}）",
            {"url": fetch["final_url"], "status": fetch.get("status"), "kind": kind, "matched": term,
             "title": page.get("title", ""), "text_excerpt": page.get("text", "")[:200]},  # fmt: skip
            domain=obs["homepage"],
        ),
    )
