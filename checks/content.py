"""Shared by the content.* checks: what a homepage is about, scored per category from its visible text.

One pass of an Aho-Corasick automaton (pyahocorasick) over the page's zones finds every lexicon term
(checks/data/content_lexicon.tsv). A term counts once per page, weighted by the most prominent zone it
appears in (title x3, headings and navigation x2, body x1, footer x0.5); a term right after a warning
word (严禁, 打击, 谨防 …) does not count. Structure adds to words: forum software, cart links, prices,
post and register forms. A category is "present" when its score reaches its threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

from core.icp import normalise
from core.observation import Page

DATA = Path(__file__).parent / "data"
THRESHOLD = 8.0
DECISIVE = 8.0
THRESHOLDS = {"enterprise": 9.0, "forum": 9.0, "shop": 10.0}
FOOTER_FACTOR = 0.5
NEGATION = re.compile(r"(严禁|禁止|打击|谨防|防范|警惕|举报|拒绝|远离|不得|严厉|抵制|杜绝|反对|不要|切勿|识别|揭秘|曝光)[^，。,.;；！!\n]{0,6}$")
SNIPPET = 18
WARNING_WORDS = re.compile(r"打击|远离|谨防|警惕|举报|严禁|防范|诈骗|陷阱|风险提示|违法|上当|受骗|提醒")
WARNING_DISCOUNT = 0.4  # prohibited terms in an article that warns about them, not in title or navigation
PROMINENT_ONLY = ("government",)  # counts only when the page presents itself so (title, headings, navigation)

LABELS = {
    "enterprise": "企业/机构介绍", "forum": "论坛/电子公告", "shop": "网店/在线交易", "government": "政府机关内容",
    "news": "新闻", "publishing": "网络出版", "medical": "医疗保健", "drugs": "药品和医疗器械", "finance": "金融",
    "games": "网络游戏", "culture": "网络文化（音乐、演出、直播、动漫）", "film_tv": "广播电影电视（影视节目）",
    "ride_hailing": "网络预约车", "gambling": "赌博", "lottery": "彩票投注", "porn": "色情", "fraud": "诈骗/违法服务",
}
PROHIBITED = ("gambling", "lottery", "porn", "fraud")
# 前置审批 fields and the approval categories (as registries spell them) that cover each.
PREAPPROVAL = {
    "news": ("新闻", "互联网新闻信息服务", "新闻信息"),
    "publishing": ("出版", "网络出版", "互联网出版"),
    "medical": ("医疗保健", "医疗", "卫生健康", "互联网医疗保健信息服务"),
    "drugs": ("药品和医疗器械", "药品", "医疗器械", "互联网药品信息服务"),
    "finance": ("金融", "金融服务"),
    "games": ("网络游戏", "文化", "网络文化"),
    "culture": ("文化", "网络文化", "网络文化经营"),
    "film_tv": ("广播电影电视", "广电", "影视", "信息网络传播视听节目", "网络视听"),
    "ride_hailing": ("网络预约车", "网约车", "网络预约出租汽车"),
    "forum": ("电子公告", "电子公告服务", "BBS"),
}


@dataclass
class Category:
    name: str
    score: float = 0.0
    terms: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    decisive: bool = False  # a term of weight >= DECISIVE was seen

    def present(self) -> bool:
        """Enough weight, from at least two distinct terms (or one decisive term, or structure)."""
        enough = self.score >= THRESHOLDS.get(self.name, THRESHOLD)
        return enough and (len(self.terms) >= 2 or self.decisive or bool(self.signals))

    def evidence(self) -> dict:
        data = {"category": self.name, "label": self.label, "score": round(self.score, 1), "terms": self.terms[:10],
                "snippets": self.snippets[:3]}
        if self.signals:
            data["signals"] = self.signals
        return data


@lru_cache(maxsize=1)
def automaton() -> ahocorasick.Automaton:
    machine = ahocorasick.Automaton()
    for line in (DATA / "content_lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, category, weight, *_ = line.split("\t")
        key = term.lower()
        entries = machine.get(key, [])
        machine.add_word(key, [*entries, (term, category, float(weight))])
    machine.make_automaton()
    return machine


def _snippet(text: str, start: int, end: int) -> str:
    return re.sub(r"\s+", " ", text[max(0, start - SNIPPET) : end + SNIPPET]).strip()


def _zones(page: Page) -> list[tuple[str, float]]:
    zones = [(page.title, 3.0), (page.meta_text, 2.0), (" ".join(page.headings), 2.0), (page.nav_text, 2.0),
             (page.text, 1.0)]
    return [(text.lower(), factor) for text, factor in zones if text]


_memo: list[tuple[Page, dict[str, Category]]] = []


def analyse(page: Page) -> dict[str, Category]:
    """Category scores for a page, memoised for the checks of one observation. The memo holds the page itself:
    keyed by id() alone, a later page allocated at a freed page's address would get the old page's scores."""
    if _memo and _memo[0][0] is page:
        return _memo[0][1]
    result = _analyse(page)
    _memo[:] = [(page, result)]
    return result


def _analyse(page: Page) -> dict[str, Category]:
    best: dict[tuple[str, str], tuple[float, float, str]] = {}  # (category, term) -> (weight, factor, snippet)
    footer = page.footer_text.lower()
    machine = automaton()
    only_in_footer: dict[str, bool] = {}  # per body term: every occurrence is in the footer
    for text, factor in _zones(page):
        for end, entries in machine.iter(text):
            for term, category, weight in entries:
                start = end - len(term) + 1
                if NEGATION.search(text[max(0, start - 12) : start]):
                    continue
                zone_factor = factor
                if factor == 1.0 and footer:
                    key = term.lower()
                    if key not in only_in_footer:
                        only_in_footer[key] = key in footer and text.count(key) == footer.count(key)
                    if only_in_footer[key]:
                        zone_factor = FOOTER_FACTOR
                current = best.get((category, term))
                if current is None or zone_factor > current[1]:
                    best[(category, term)] = (weight, zone_factor, _snippet(text, start, end + 1))
    categories: dict[str, Category] = {}
    prominent: set[str] = set()
    for (category, term), (weight, factor, snippet) in sorted(best.items(), key=lambda kv: -kv[1][0] * kv[1][1]):
        entry = categories.setdefault(category, Category(category))
        entry.score += weight * factor
        entry.terms.append(term)
        entry.decisive = entry.decisive or weight >= DECISIVE
        if factor > 1.0:
            prominent.add(category)
        if len(entry.snippets) < 3 and snippet not in entry.snippets:
            entry.snippets.append(snippet)
    warnings = len(WARNING_WORDS.findall(page.text))
    for name, entry in categories.items():
        if name in PROHIBITED and name not in prominent and warnings >= 2:
            entry.score *= WARNING_DISCOUNT
            entry.signals.append("页面以警示/提醒为主")
        if name in PROMINENT_ONLY and name not in prominent:
            entry.score = 0.0
    _structure(page, categories)
    return categories


def _structure(page: Page, categories: dict[str, Category]) -> None:
    signals = page.signals or {}
    forms = page.forms
    if signals.get("forum_software"):
        add = categories.setdefault("forum", Category("forum"))
        add.score += 10
        add.signals.append(f"论坛程序特征：{signals['forum_software']}")
    if "post" in forms and "forum" in categories:
        categories["forum"].score += 3
        categories["forum"].signals.append("发帖表单")
    shop = categories.get("shop")
    if signals.get("cart_links", 0) >= 2 or "cart" in forms:
        shop = categories.setdefault("shop", Category("shop"))
        shop.score += 5
        shop.signals.append(f"购物车/结算链接 {signals.get('cart_links', 0)} 个")
    if shop is not None and signals.get("prices", 0) >= 6:
        shop.score += 3
        shop.signals.append(f"商品价格 {signals['prices']} 处")


def present(page: Page, names: tuple[str, ...] | list[str] | None = None) -> list[Category]:
    found = [c for c in analyse(page).values() if c.present() and (names is None or c.name in names)]
    return sorted(found, key=lambda c: -c.score)


def approved(category: str, approvals) -> bool:
    accepted = PREAPPROVAL.get(category, ())
    for approval in approvals:
        name = approval.category.strip()
        if any(a in name or name in a for a in accepted if name):
            return True
    return False


def normalise_name(name: str) -> str:
    return re.sub(r"[\s·•()（）]", "", normalise(name or "")).lower()
