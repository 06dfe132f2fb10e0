"""What a homepage shows: visible text, the ICP numbers in it with their links, title, headings.

Runs in the crawl stage (lxml, on the hot path); the checks only read the facts recorded here.
Visible means what a reader sees: no comments, scripts, styles, templates, hidden elements or inputs.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from core.icp import PSB_RE, find_numbers, normalise
from core.observation import NumberSeen, Page

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article", "header",
               "footer", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "dl", "form", "aside", "main",
               "blockquote", "pre", "hr", "center", "address", "figure", "figcaption"}
_ONCLICK_URL = re.compile(r"""(?:https?:)?//[^'"\s)]+""", re.IGNORECASE)
_META_REFRESH = re.compile(r"""^\s*\d+\s*[;,]\s*url\s*=\s*['"]?([^'"]+)""", re.IGNORECASE)
_JS_LOCATION = re.compile(r"""(?:window\.|document\.|top\.)?location(?:\.href)?\s*=\s*['"]([^'"]+)['"]""")
SNIPPET = 60
MAX_TEXT = 200_000


@dataclass
class _Segment:
    text: str
    start: int  # offset in the page's visible text; links and regions are looked up lazily by index


def _link_of(element: etree._Element, base_url: str) -> str | None:
    """The target of an <a>: its href, else a URL named in its onclick; "#" when it goes nowhere."""
    href = (element.get("href") or "").strip()
    if href and href != "#" and not href.lower().startswith("javascript:"):
        return urljoin(base_url, href) if base_url else href
    match = _ONCLICK_URL.search(element.get("onclick") or "")
    if match:
        url = match.group(0)
        return "https:" + url if url.startswith("//") else url
    return href or None


_LOWER = "translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz')"  # and drop spaces
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "canvas", "select", "textarea",
              "button", "head", "title")
_HIDDEN_ELEMENTS = etree.XPath(
    f"//*[@hidden or contains({_LOWER}, 'display:none') or contains({_LOWER}, 'visibility:hidden')]"
)
_TEXT_NODES = etree.XPath("//text()")
_REGION_TEXT = etree.XPath(".//text()")  # used after the invisible elements are dropped
_FOOTERS = etree.XPath(
    "//footer | //*[contains(translate(@class, 'FOTER', 'foter'), 'footer') or contains(translate(@id, 'FOTER', 'foter'), "
    "'footer') or contains(@class, 'copyright') or @id = 'foot' or @class = 'foot' or contains(@class, 'bottom')]"
)
_NAVS = etree.XPath("//nav | //*[@id = 'nav' or @class = 'nav' or @class = 'menu' or @id = 'menu']")


def _outermost(elements: list) -> list:
    chosen = set(elements)
    return [e for e in elements if not any(a in chosen for a in e.iterancestors())]


class _Segments:
    """Visible text as one string, with a way back from a position to the element it came from."""

    def __init__(self, root: etree._Element, base_url: str) -> None:
        self.base_url = base_url
        self.items: list[_Segment] = []
        self.nodes: list = []
        parts: list[str] = []
        position = 0
        # Drop what a reader cannot see (keeping each element's tail), then take every text node in C:
        # the hot path of every scan. The tree is not used for anything else afterwards.
        for element in list(root.iter(*_DROP_TAGS)) + _HIDDEN_ELEMENTS(root):
            if element.getparent() is not None:
                element.drop_tree()
        for node in _TEXT_NODES(root):
            owner = node.getparent()
            if owner is None:
                continue
            tag = owner.tag if isinstance(owner.tag, str) else ""
            if tag.lower() in _BLOCK_TAGS:
                parts.append("\n")
                position += 1
            value = normalise(str(node))
            if "&" in value and _ENTITY.search(value):
                value = _decoded(value)
            self.items.append(_Segment(value, position))
            self.nodes.append(node)
            parts.append(value)
            position += len(value)
        self.text = "".join(parts)

    def container(self, index: int) -> etree._Element:
        node = self.nodes[index]
        owner = node.getparent()
        return owner.getparent() if node.is_tail and owner.getparent() is not None else owner

    def link(self, index: int) -> str | None:
        element = self.container(index)
        while element is not None:
            if isinstance(element.tag, str) and element.tag.lower() == "a":
                return _link_of(element, self.base_url)
            element = element.getparent()
        return None

    def region(self, index: int) -> str:
        element = self.container(index)
        while element is not None:
            if isinstance(element.tag, str):
                found = _region(element, "body")
                if found != "body":
                    return found
            element = element.getparent()
        return "body"

    def covering(self, start: int, end: int) -> list[int]:
        return [i for i, s in enumerate(self.items) if s.start < end and s.start + len(s.text) > start and s.text.strip()]


def _region(element: etree._Element, inherited: str) -> str:
    if inherited != "body":
        return inherited
    tag = element.tag if isinstance(element.tag, str) else ""
    marker = f"{element.get('id') or ''} {element.get('class') or ''}".lower()
    if tag == "footer" or "footer" in marker or "foot" in marker.split() or "copyright" in marker:
        return "footer"
    if tag == "nav" or "nav" in marker.split() or "menu" in marker.split():
        return "nav"
    return "body"


def _region_text(elements: list) -> str:
    texts = []
    for element in _outermost(elements):
        value = " ".join(t.strip() for t in _REGION_TEXT(element) if t.strip())
        if value:
            texts.append(normalise(value))
    return " ".join(texts)


def _snippet(text: str, start: int, end: int) -> str:
    left = text[max(0, start - SNIPPET) : start].split("\n")[-1]
    right = text[end : end + SNIPPET].split("\n")[0]
    return re.sub(r"\s+", " ", f"{left}{text[start:end]}{right}").strip()


# huge_tree: libxml2 otherwise stops at 256 levels of nesting and drops everything deeper (old CMS output
# nests hundreds of unclosed <font> tags), which would hide a footer's number.
_PARSER = lxml.html.HTMLParser(huge_tree=True)
_FILING_LABEL = re.compile(r"^\s*(?:网站|本站)?\s*(?:icp)?\s*(?:备案号?码?|备案编号|备案信息|备案查询|工信部备案号?|工信部)\s*[:：]?\s*$",
                           re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9a-fA-F]{2,6}|[a-zA-Z]{2,8});")


# What a framework build's script looks like (webpack/vite/next/nuxt/umi), as opposed to a library include.
_BUNDLE = re.compile(r"(?:/_next/|/_nuxt/|/static/js/|\.chunk\.js|/assets/index[.-]|(?:^|/)(?:app|main|index|chunk|bundle|vendors?|runtime|"
                     r"polyfills|umi)[.~-][0-9a-f]{6,})", re.IGNORECASE)


def _decoded(text: str) -> str:
    """Normalised text with HTML entities that survived parsing decoded (SEO spam double-encodes them)."""
    if "&" in text and _ENTITY.search(text):
        text = html_lib.unescape(text)
    return normalise(text)


def extract(html: str | bytes, base_url: str = "") -> Page:
    facts = Page()
    if not html or not html.strip():
        return facts
    try:
        root = lxml.html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return facts
    title = root.find(".//title")
    facts.title = _decoded(title.text_content().strip()) if title is not None and title.text_content() else ""
    described = []
    for meta in root.iter("meta"):
        equiv = (meta.get("http-equiv") or "").lower()
        name = (meta.get("name") or "").lower()
        if equiv == "refresh":
            match = _META_REFRESH.match(meta.get("content") or "")
            if match:
                facts.meta_refresh = urljoin(base_url, match.group(1).strip())
        elif name == "generator":
            facts.generator = (meta.get("content") or "")[:200]
        elif name in ("keywords", "description"):
            described.append((meta.get("content") or "")[:1000])
    facts.meta_text = _decoded(" ".join(described))
    scripts = list(root.iter("script"))
    facts.scripts = len(scripts)
    bundles = any((s.get("type") or "") == "module" or _BUNDLE.search(s.get("src") or "") for s in scripts)
    for script in scripts:
        match = _JS_LOCATION.search(script.text or "")
        if match and len((script.text or "").strip()) < 500:
            facts.script_redirect = urljoin(base_url, match.group(1))
            break
    hrefs = [(a.get("href") or "").lower() for a in root.iter("a")]
    facts.links = len(hrefs)
    facts.signals = _signals(html, hrefs, facts.generator)
    for form in root.iter("form"):
        facts.forms.append(_form_kind(form))
    segments = _Segments(root, base_url)
    text = segments.text
    facts.text = re.sub(r"[ \t\r\f\v\u00a0\u3000]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()
    facts.nav_text = _region_text(_NAVS(root))[:5000]
    facts.footer_text = _region_text(_FOOTERS(root))[:5000]
    for tag in ("h1", "h2", "h3"):
        for heading in root.iter(tag):
            value = normalise(heading.text_content().strip())
            if value:
                facts.headings.append(value[:200])
    facts.numbers = _numbers(segments)
    facts.psb_numbers = [re.sub(r"\s+", "", m.group(0)) for m in PSB_RE.finditer(text)]
    raw = html if isinstance(html, str) else html.decode("utf-8", "replace")
    if re.search(r"ICP|ＩＣＰ", raw, re.IGNORECASE):
        visible = {n.number for n in facts.numbers}
        for number in find_numbers(normalise(raw)):
            if number.canonical not in visible and number.canonical not in facts.numbers_in_hidden:
                facts.numbers_in_hidden.append(number.canonical)
    facts.app_shell = _looks_like_app_shell(root, facts, bundles)
    facts.signals["prices"] = len(PRICE.findall(facts.text))
    facts.headings, facts.text = facts.headings[:20], facts.text[:MAX_TEXT]  # what an observation keeps
    return facts


def _numbers(segments: _Segments) -> list[NumberSeen]:
    text = segments.text
    result = []
    for number in find_numbers(text):
        covering = segments.covering(number.start, number.end)
        # the digits decide: a link around "京ICP备" alone while the digits sit outside it still counts
        digit_segments = [i for i in covering if any(ch.isdigit() for ch in segments.items[i].text)] or covering
        links = [link for link in (segments.link(i) for i in digit_segments) if link]
        link = links[0] if links else _adjacent_link(segments, number.start, number.end)
        regions = [segments.region(i) for i in covering]
        region = "footer" if "footer" in regions else (regions[0] if regions else "body")
        result.append(
            NumberSeen(
                number=number.canonical,
                subject=number.subject,
                kind=number.kind,
                is_app=number.is_app,
                text=re.sub(r"\s+", " ", text[number.start : number.end]).strip(),
                linked=link is not None,
                link=link,
                snippet=_snippet(text, number.start, number.end),
                region=region,
            )
        )
    return result


def _adjacent_link(segments: _Segments, start: int, end: int) -> str | None:
    """The link of a filing label right beside the number on the same line ("<a>备案号：</a>京ICP备…") is the
    number's link. Any other neighbouring link (the organisation's name, 周边交通, 举报中心) is not: a number
    counts as linked only by an anchor around it or around its label."""
    text = segments.text
    for index, segment in enumerate(segments.items):
        seg_end = segment.start + len(segment.text)
        if seg_end <= start:
            gap = text[seg_end:start]
        elif segment.start >= end:
            gap = text[end : segment.start]
        else:
            continue
        if len(gap) > 3 or "\n" in gap or not _FILING_LABEL.match(segment.text):
            continue
        if "公网安备" in segment.text or "公安备" in segment.text:
            continue  # the 公网安备 number's own link beside it, in the next block, is not the ICP number's
        link = segments.link(index)
        if link:
            return link
    return None


def _form_kind(form: etree._Element) -> str:
    names = " ".join(
        f"{el.get('name') or ''} {el.get('type') or ''} {el.get('id') or ''}" for el in form.iter("input", "textarea")
    ).lower()
    action = (form.get("action") or "").lower()
    if "password" in names:
        return "register" if any(k in names + action for k in ("confirm", "repass", "register", "reg", "signup")) else "login"
    if any(k in action for k in ("cart", "checkout", "order", "buy")):
        return "cart"
    if "textarea" in names or form.find(".//textarea") is not None:
        return "post"
    if any(k in names for k in ("search", "keyword", "q ", "wd ")):
        return "search"
    return "other"


_FORUM_SOFTWARE = re.compile(
    r"powered by\s*<[^>]*>?\s*(discuz!?|phpwind|phpbb|mybb|vbulletin|xenforo)|(discuz!?|phpwind|phpbb|mybb)\s*x?\d"
    r"|forum\.php\?mod=|viewthread\.php|thread-\d+-\d+-\d+\.html|showtopic=|/viewtopic\.php",
    re.IGNORECASE,
)
_CART_HREF = re.compile(r"cart|checkout|buynow|addtocart|order/confirm|trade/buy")
PRICE = re.compile(r"[¥￥]\s*\d+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?\s*元(?![素旦宵])")


def _signals(html: str | bytes, hrefs: list[str], generator: str) -> dict:
    raw = html if isinstance(html, str) else html.decode("utf-8", "replace")
    forum = _FORUM_SOFTWARE.search(raw) or _FORUM_SOFTWARE.search(generator or "")
    return {
        "forum_software": forum.group(0)[:60] if forum else "",
        "cart_links": sum(1 for h in hrefs if _CART_HREF.search(h)),
    }


def _looks_like_app_shell(root: etree._Element, facts: Page, bundles: bool) -> bool:
    """Built by JavaScript: little visible text and an empty mount element (<div id="app"></div>), or almost no
    text and a framework build (module scripts, hashed bundles). A short page that merely loads jQuery or
    Bootstrap is what it shows, and is judged on it."""
    if len(facts.text) > 200 or facts.scripts == 0:
        return False
    for element in root.iter("div", "main", "section", "app"):
        marker = (element.get("id") or "").lower()
        mount = marker in ("app", "root", "__next", "__nuxt", "application") or element.get("data-reactroot") is not None
        if mount and len(element.text_content().strip()) < 20:
            return True
    return bundles and len(facts.text) < 50
