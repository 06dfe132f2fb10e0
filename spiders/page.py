"""What a homepage shows: visible text, the ICP numbers in it with their links, title, headings.

Runs in the crawl stage (lxml, on the hot path); the checks only read the facts recorded here.
Visible means what a reader sees: no comments, scripts, styles, templates, hidden elements or inputs.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from typing import NamedTuple
from urllib.parse import urljoin

from lxml import etree

from core.icp import PSB_RE, find_numbers, normalise, normalise_once, to_simplified
from core.observation import NumberSeen, Page

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article", "header",
               "footer", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "dl", "form", "aside", "main",
               "blockquote", "pre", "hr", "center", "address", "figure", "figcaption"}
_ONCLICK_URL = re.compile(r"""(?:https?:)?//[^'"\s)]+""", re.IGNORECASE)
_META_REFRESH = re.compile(r"""^\s*\d+\s*[;,]\s*url\s*=\s*['"]?([^'"]+)""", re.IGNORECASE)
_JS_LOCATION = re.compile(r"""(?:window\.|document\.|top\.)?location(?:\.href)?\s*=\s*['"]([^'"]+)['"]""")
SNIPPET = 60
MAX_TEXT = 200_000


class _Segment(NamedTuple):
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


_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "canvas", "select", "textarea",
              "button", "head", "title")
_TEXT_NODES = etree.XPath("//text()")
_REGION_TEXT = etree.XPath(".//text()")  # used after the invisible elements are dropped
_STRING = etree.XPath("string()", smart_strings=False)  # lxml.html's text_content()
_STYLE_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", " ")
_FOOTER_FOLD = str.maketrans("FOTER", "foter")

# The element classes below are found in one Python pass over the elements: XPath predicates with
# translate() cost more per page than the whole parse.


def _hidden(element: etree._Element) -> bool:
    """hidden, or an inline style (ASCII case and spaces ignored) with display:none or visibility:hidden."""
    if element.get("hidden") is not None:
        return True
    style = element.get("style")
    if not style:
        return False
    style = style.translate(_STYLE_FOLD)
    return "display:none" in style or "visibility:hidden" in style


def _is_footer(tag: str, element: etree._Element) -> bool:
    if tag == "footer":
        return True
    cls, ident = element.get("class"), element.get("id")
    if cls is not None and ("footer" in cls.translate(_FOOTER_FOLD) or "copyright" in cls or cls == "foot"
                            or "bottom" in cls):
        return True
    return ident is not None and (ident == "foot" or "footer" in ident.translate(_FOOTER_FOLD))


def _is_nav(tag: str, element: etree._Element) -> bool:
    return tag == "nav" or element.get("id") in ("nav", "menu") or element.get("class") in ("nav", "menu")


_MARKED = etree.XPath("//*[@class or @id] | //footer | //nav")  # candidates, in document order
_STYLED = etree.XPath("//*[@hidden or @style]")


def _regions(root: etree._Element) -> tuple[list, list]:
    """The page's nav and footer elements, in document order."""
    navs, footers = [], []
    for element in _MARKED(root):
        tag = element.tag
        if _is_nav(tag, element):
            navs.append(element)
        if _is_footer(tag, element):
            footers.append(element)
    return navs, footers


def _drop_tree(element: etree._Element) -> None:
    """Remove an element and its children, keeping its tail text (lxml.html's drop_tree)."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    parent.remove(element)


_JOIN = "\x1f"  # a separator NFKC and OpenCC leave alone, and that no dictionary phrase spans


def _normalised_each(texts: list[str]) -> list[str]:
    """normalise() of each text, in one NFKC + OpenCC pass over them all instead of one call per text node
    (a page has hundreds): the same result, since neither conversion looks across the separator."""
    if not texts:
        return []
    joined = _JOIN.join(texts)
    if joined.count(_JOIN) == len(texts) - 1:
        # NFKC one text at a time: its quick check passes for almost every node, while one failing
        # character would send a whole joined page down the slow path
        if not unicodedata.is_normalized("NFKC", joined):
            joined = _JOIN.join(unicodedata.normalize("NFKC", text) for text in texts)
        values = to_simplified(joined).split(_JOIN)
        if len(values) == len(texts):
            return values
    return [normalise(text) for text in texts]


def _outermost(elements: list) -> list:
    chosen = set(elements)
    return [e for e in elements if not any(a in chosen for a in e.iterancestors())]


class _Segments:
    """Visible text as one string, with a way back from a position to the element it came from."""

    def __init__(self, root: etree._Element, base_url: str) -> None:
        self.base_url = base_url
        self.items: list[_Segment] = []  # the text nodes that are not blank, with their nodes beside them
        self.nodes: list = []
        parts: list[str] = []
        position = 0
        # Drop what a reader cannot see (keeping each element's tail), then take every text node in C:
        # the hot path of every scan. The tree is not used for anything else afterwards.
        invisible = list(root.iter(*_DROP_TAGS))
        invisible += [e for e in _STYLED(root) if _hidden(e)]
        for element in invisible:
            if element.getparent() is not None:
                _drop_tree(element)
        blocks: list[bool] = []
        nodes: list = []
        for node in _TEXT_NODES(root):
            owner = node.getparent()
            if owner is None:
                continue
            tag = owner.tag
            blocks.append(isinstance(tag, str) and tag.lower() in _BLOCK_TAGS)
            nodes.append(node)
        for node, block, value in zip(nodes, blocks, _normalised_each(nodes), strict=True):
            if block:
                parts.append("\n")
                position += 1
            if "&" in value and _ENTITY.search(value):
                value = _decoded(value)
            if not value.isspace():  # a blank node is part of the text, never of a number or a label
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
            texts.append(normalise_once(value))
    return " ".join(texts)


def _snippet(text: str, start: int, end: int) -> str:
    left = text[max(0, start - SNIPPET) : start].split("\n")[-1]
    right = text[end : end + SNIPPET].split("\n")[0]
    return re.sub(r"\s+", " ", f"{left}{text[start:end]}{right}").strip()


# huge_tree: libxml2 otherwise stops at 256 levels of nesting and drops everything deeper (old CMS output
# nests hundreds of unclosed <font> tags), which would hide a footer's number.
# A plain etree parser: lxml.html's element classes cost a Python lookup for every element proxy.
_PARSER = etree.HTMLParser(huge_tree=True)
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
        root = etree.fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return facts
    if root is None:
        return facts
    title = root.find(".//title")
    title_text = _STRING(title) if title is not None else ""
    facts.title = _decoded(title_text.strip()) if title_text else ""
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
    raw = html if isinstance(html, str) else html.decode("utf-8", "replace")
    lowered = raw.lower()
    facts.signals = _signals(raw, lowered, hrefs, facts.generator)
    for form in root.iter("form"):
        facts.forms.append(_form_kind(form))
    segments = _Segments(root, base_url)
    text = segments.text
    facts.text = re.sub(r"[ \t\r\f\v\u00a0\u3000]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()
    navs, footers = _regions(root)
    facts.nav_text = _region_text(navs)[:5000]
    facts.footer_text = _region_text(footers)[:5000]
    for tag in ("h1", "h2", "h3"):
        for heading in root.iter(tag):
            value = normalise(_STRING(heading).strip())
            if value:
                facts.headings.append(value[:200])
    facts.numbers = _numbers(segments)
    facts.psb_numbers = [re.sub(r"\s+", "", m.group(0)) for m in PSB_RE.finditer(text)]
    visible = {n.number for n in facts.numbers}
    for number in _numbers_in_markup(raw, lowered):
        if number not in visible and number not in facts.numbers_in_hidden:
            facts.numbers_in_hidden.append(number)
    facts.app_shell = _looks_like_app_shell(root, facts, bundles)
    facts.signals["prices"] = len(PRICE.findall(facts.text)) if _PRICE_MARKS.search(facts.text) else 0
    facts.headings, facts.text = facts.headings[:20], facts.text[:MAX_TEXT]  # what an observation keeps
    return facts


_ICP_MARKS = ("icp", "ｉｃｐ")
_MARKUP_WINDOW = 200  # characters of raw HTML either side of an "ICP": wider than any number written out


def _numbers_in_markup(raw: str, lowered: str) -> list[str]:
    """Every number anywhere in the raw HTML (comments, scripts, hidden markup included), in order.

    Only the windows around each "ICP" are normalised and searched, not the whole document: every number
    contains "ICP" (or its full-width form), and whole-page NFKC + OpenCC was a large share of a scan's CPU.
    """
    if len(lowered) != len(raw):  # lower() changed the length (rare scripts): positions would not line up
        lowered = "".join(ch.lower()[:1] or ch for ch in raw)
    spans: list[list[int]] = []
    for mark in _ICP_MARKS:
        at = lowered.find(mark)
        while at >= 0:
            spans.append([max(0, at - _MARKUP_WINDOW), at + len(mark) + _MARKUP_WINDOW])
            at = lowered.find(mark, at + len(mark))
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    found: list[str] = []
    for start, end in merged:
        for number in find_numbers(normalise_once(raw[start:end])):
            if number.canonical not in found:
                found.append(number.canonical)
    return found


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
_PRICE_MARKS = re.compile("[¥￥元]")  # every price contains one; PRICE itself has no literal to start from
PRICE = re.compile(r"[¥￥]\s*\d+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?\s*元(?![素旦宵])")


# Every alternative of _FORUM_SOFTWARE contains one of these: the regex (no literal prefix, IGNORECASE)
# runs only on pages where one of them occurs, not over every page's whole HTML.
_FORUM_LITERALS = ("powered by", "discuz", "phpwind", "phpbb", "mybb", "forum.php?mod=", "viewthread.php",
                   "thread-", "showtopic=", "/viewtopic.php")


def _forum_software(text: str, lowered: str) -> re.Match | None:
    if not any(literal in lowered for literal in _FORUM_LITERALS):
        return None
    return _FORUM_SOFTWARE.search(text)


def _signals(raw: str, lowered: str, hrefs: list[str], generator: str) -> dict:
    forum = _forum_software(raw, lowered) or _forum_software(generator or "", (generator or "").lower())
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
        if mount and len(_STRING(element).strip()) < 20:
            return True
    return bundles and len(facts.text) < 50
