"""Finding links in message text and HTML.

Plain text is searched for http, https and ftp links, ``www.`` hosts and the
defanged forms people use when they forward a phish (``hxxp``, ``h**p``, ``[.]``,
``(.)``, ``[dot]``, ``[:]``, ``[://]``); a defanged link is refanged and marked.
HTML is read with selectolax (lexbor): anchors, sources, form actions, meta
refresh and the links written in its visible text.

Both public functions return ``(urls, truncated)``: ``truncated`` is true when the
limit stopped the search, so the caller records a warning. Links are normalised
with ``heron.domain.urls.normalise_url`` so they compare equal to intel indicators,
and deduplicated by ``(url, origin)`` keeping the first seen.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from heron.domain.rewriters import unwrap
from heron.domain.urls import normalise_url
from heron.mail.facts import Url

# Known limit: a url longer than this is cut, so two links that differ only after
# it compare equal; keep the full text in a side field if analyzers ever need it.
MAX_URL_CHARS = 4096
# data: urls are cut shorter: their media type is the evidence, not the payload.
MAX_DATA_URL_CHARS = 256
MAX_ANCHOR_CHARS = 500
# The HTML parser slows down with the square of element nesting (a wall of
# unclosed <div>); deeper documents are read by pattern instead.
MAX_HTML_NESTING = 4000

_DOT = r"(?:\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{\.\})"
_BODY = r"(?:" + _DOT + r"|\[/\]|\[:\]|\[[0-9a-f:.]+\]|[^\s<>\"'\[\](){}\\^`|])"
_SCHEME = r"(?:h[tx*]{2}ps?|f[tx]p|sftp)(?:(?::|\[:\]|\(:\))//|\[://\]|\[:/\]/)"
_WWW = r"www(?:\.|" + _DOT + r")"
_LABEL = r"[a-z0-9-]+"
_BARE = (
    r"(?<![\w.@/-])"
    + _LABEL
    + r"(?:\."
    + _LABEL
    + r")*"
    + _DOT
    + _LABEL
    + r"(?:(?:\.|"
    + _DOT
    + r")"
    + _LABEL
    + r")*(?:/"
    + _BODY
    + r"*)?"
)
_URL = re.compile(
    r"(?P<scheme>" + _SCHEME + r")" + _BODY + r"+"
    r"|(?P<www>" + _WWW + r")" + _BODY + r"+"
    r"|(?P<bare>" + _BARE + r")",
    re.IGNORECASE,
)
_MARKERS = ("://", "www", "[.]", "(.)", "[dot]", "(dot)", "{.}", "[:", "(:)", "[/]")
_REFANG = re.compile(
    r"\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{\.\}|\[:\]|\(:\)|\[://\]|\[:/\]|\[/\]", re.I
)
_REFANG_TO = {"[:]": ":", "(:)": ":", "[://]": "://", "[:/]": ":/", "[/]": "/"}
_SCHEMES = {
    "hxxp": "http",
    "hxxps": "https",
    "h**p": "http",
    "h**ps": "https",
    "htxp": "http",
    "htxps": "https",
    "hxtp": "http",
    "hxtps": "https",
    "fxp": "ftp",
}
_TRAILING = ".,;:!?'\"*>"
_IGNORED_SCHEMES = {"mailto", "cid", "tel", "sms", "callto", "about", "mid"}
_HREF_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_BARE_TLD = re.compile(r"\.[^\W\d_]{2,}$")
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.IGNORECASE)
_STRIP_IN_URL = str.maketrans("", "", "\t\r\n")
_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]{0,20})")
_NO_NESTING = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
    "p",
    "li",
    "td",
    "th",
    "tr",
    "option",
    "dt",
    "dd",
}
_LINK_ATTRIBUTE = re.compile(r"""\b(href|src|action)\s*=\s*["']?([^"'\s>]+)""", re.I)


class UrlCollector:
    """Urls found so far in one message: deduplicated, ordered, bounded.

    ``deadline`` is a ``time.monotonic`` value; past it the collector stops like
    at the limit and sets ``timed_out``.
    """

    def __init__(self, limit: int, deadline: float | None = None) -> None:
        self.limit = limit
        self.deadline = deadline
        self.truncated = False
        self.timed_out = False
        self.problems: list[tuple[str, str]] = []
        self._found: dict[tuple[str, str], Url] = {}

    @property
    def full(self) -> bool:
        """True once no more urls will be taken."""
        return self.truncated or self.timed_out

    def add(self, url: Url) -> None:
        """Keep ``url`` unless it was seen with the same origin or the limit is hit."""
        key = (url.url, url.origin)
        if key in self._found or self.full:
            return
        if len(self._found) >= self.limit:
            self.truncated = True
            return
        if self.deadline is not None and len(self._found) % 64 == 0:
            self.timed_out = time.monotonic() > self.deadline
            if self.timed_out:
                return
        self._found[key] = url

    def __len__(self) -> int:
        return len(self._found)

    def urls(self) -> list[Url]:
        """The urls kept, in the order they were found."""
        return list(self._found.values())


def extract_urls(text: str, origin: str, limit: int) -> tuple[list[Url], bool]:
    """Links written in plain text, defanged ones refanged; ``(urls, truncated)``."""
    collector = UrlCollector(limit)
    collect_text_urls(text, origin, collector)
    return collector.urls(), collector.truncated


def extract_html_urls(html: str, limit: int) -> tuple[list[Url], bool]:
    """Links in an HTML document and in its visible text; ``(urls, truncated)``."""
    collector = UrlCollector(limit)
    collect_html_urls(html, collector)
    return collector.urls(), collector.truncated


def collect_text_urls(text: str, origin: str, collector: UrlCollector) -> None:
    """Add the links written in plain ``text`` to ``collector``."""
    lowered = text.lower()
    if not any(marker in lowered for marker in _MARKERS):
        return
    for match in _URL.finditer(text):
        if collector.full:
            return
        url = _from_match(match, origin)
        if url is not None:
            collector.add(url)


def _from_match(match: re.Match[str], origin: str) -> Url | None:
    written = match.group(0).rstrip(_TRAILING)
    refanged = _REFANG.sub(lambda m: _REFANG_TO.get(m.group(0).lower(), "."), written)
    defanged = refanged != written
    if match.group("scheme"):
        scheme, _, rest = refanged.partition(":")
        fixed = _SCHEMES.get(scheme.lower(), scheme.lower())
        defanged = defanged or fixed != scheme.lower()
        refanged = f"{fixed}:{rest}"
    elif match.group("bare"):
        if not defanged or not _BARE_TLD.search(refanged.split("/", 1)[0]):
            return None
        refanged = "http://" + refanged
    else:
        refanged = "http://" + refanged
    return make_url(refanged, origin, defanged=defanged)


def make_url(
    text: str, origin: str, *, defanged: bool = False, anchor_text: str = ""
) -> Url:
    """A ``Url`` from a link as found: normalised, clipped, with its host."""
    limit = MAX_DATA_URL_CHARS if text[:5].lower() == "data:" else MAX_URL_CHARS
    clipped = text[:limit]
    target, wrapped_by = unwrap(clipped)
    if wrapped_by:
        clipped = target[:limit]
    normalised = normalise_url(clipped)
    return Url(normalised, origin, _host(normalised), defanged, anchor_text, wrapped_by)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def collect_html_urls(
    html: str, collector: UrlCollector, origin: str | None = None
) -> None:
    """Add the links of an HTML document to ``collector``.

    With ``origin`` every link gets that origin (e.g. ``attachment:page.html``);
    otherwise the origin names the HTML construct the link came from.
    """
    if not html.strip():
        return
    code, problem = html_problem(html)
    if code:
        collector.problems.append((code, f"{problem}; links read by pattern"))
        _collect_by_pattern(html, collector, origin)
        return
    tree = LexborHTMLParser(html)
    base = _base_href(tree)
    _collect_attribute(
        tree,
        "a[href], area[href]",
        "href",
        origin or "html-href",
        collector,
        base,
        anchors=True,
    )
    _collect_attribute(
        tree, "link[href]", "href", origin or "html-href", collector, base
    )
    _collect_attribute(tree, "[src]", "src", origin or "html-src", collector, base)
    _collect_attribute(
        tree, "[background]", "background", origin or "html-src", collector, base
    )
    _collect_attribute(
        tree, "form[action]", "action", origin or "html-form", collector, base
    )
    _collect_attribute(
        tree, "[formaction]", "formaction", origin or "html-form", collector, base
    )
    _collect_attribute(
        tree, "object[data]", "data", origin or "html-src", collector, base
    )
    _collect_attribute(
        tree, "[poster]", "poster", origin or "html-src", collector, base
    )
    for node in tree.css("[srcset]"):
        # "a.png 1x, https://b.test/c.png 2x": each candidate's first word is a link.
        for candidate in (node.attributes.get("srcset") or "").split(","):
            words = candidate.split()
            link = resolve_link(words[0], base) if words else None
            if link is not None:
                collector.add(make_url(link, origin or "html-src"))
    for node in tree.css("iframe[srcdoc]"):
        # A page inside the page: its links are read by pattern, one level deep.
        _collect_by_pattern(node.attributes.get("srcdoc") or "", collector, origin)
    _collect_xlink(tree, origin or "html-href", collector, base)
    _collect_refresh(tree, origin or "html-meta-refresh", collector, base)
    _collect_css(tree, origin or "html-css", collector, base)
    collect_text_urls(_visible_text(tree), origin or "text", collector)


# Shapes the HTML parser handles in more than linear time (a select with tens of
# thousands of options, a tag with thousands of attributes): documents past these are
# read by pattern, like documents nested too deep.
MAX_HTML_TAGS = 20_000
MAX_TAG_ATTRIBUTES = 1_000
_ATTRIBUTE = re.compile(r"\s[^\s=>/]+\s*=")
_WHOLE_TAG = re.compile(r"<[a-zA-Z][^>]{200,}(?:>|$)")


def html_problem(html: str) -> tuple[str, str]:
    """Why ``html`` should not go to the HTML parser, as (warning code, text), or
    ("", "") when it may. One linear pass: nesting depth, the number of tags, and the
    attributes of any long tag."""
    depth = html_nesting(html)
    if depth > MAX_HTML_NESTING:
        return "html-too-deep", f"elements nest {depth} deep"
    tags = len(_TAG.findall(html))
    if tags > MAX_HTML_TAGS:
        return "html-too-large", f"{tags} tags, more than the {MAX_HTML_TAGS} parsed"
    for match in _WHOLE_TAG.finditer(html):
        count = len(_ATTRIBUTE.findall(match.group(0)))
        if count > MAX_TAG_ATTRIBUTES:
            return "html-too-large", f"a tag with {count} attributes"
    return "", ""


def parse_html(html: str) -> LexborHTMLParser | None:
    """The parsed document, or None when ``html_problem`` says it must not be parsed."""
    return None if html_problem(html)[0] else LexborHTMLParser(html)


def html_nesting(html: str) -> int:
    """How deep the elements of ``html`` may nest: the most tags open at once.

    Void elements and those closed by rule (p, li, td...) are left out. Linear in
    the length of ``html``.
    """
    depth = deepest = 0
    for match in _TAG.finditer(html):
        if match.group(2).lower() in _NO_NESTING:
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _collect_by_pattern(html: str, collector: UrlCollector, origin: str | None) -> None:
    for match in _LINK_ATTRIBUTE.finditer(html):
        if collector.full:
            return
        link = resolve_link(match.group(2))
        if link is not None:
            kind = "html-href" if match.group(1).lower() == "href" else "html-src"
            collector.add(make_url(link, origin or kind))
    collect_text_urls(html, origin or "text", collector)


def _collect_xlink(
    tree: LexborHTMLParser, origin: str, collector: UrlCollector, base: str
) -> None:
    """SVG links (``xlink:href``), which CSS selectors cannot name."""
    for node in tree.css("a, image, use"):
        for name, value in node.attributes.items():
            if name.lower() == "xlink:href" and value:
                link = resolve_link(value, base)
                if link is not None:
                    collector.add(make_url(link, origin))


def _base_href(tree: LexborHTMLParser) -> str:
    node = tree.css_first("base[href]")
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    return href if _HREF_SCHEME.match(href) else ""


def _collect_attribute(
    tree: LexborHTMLParser,
    selector: str,
    attribute: str,
    origin: str,
    collector: UrlCollector,
    base: str,
    *,
    anchors: bool = False,
) -> None:
    for node in tree.css(selector):
        if collector.full:
            return
        link = resolve_link(node.attributes.get(attribute) or "", base)
        if link is None:
            continue
        anchor = _anchor_text(node) if anchors else ""
        collector.add(make_url(link, origin, anchor_text=anchor))


def _anchor_text(node: LexborNode) -> str:
    text = node.text(separator=" ", strip=True)
    return _SPACES.sub(" ", text)[:MAX_ANCHOR_CHARS].strip()


def _collect_refresh(
    tree: LexborHTMLParser, origin: str, collector: UrlCollector, base: str
) -> None:
    for node in tree.css("meta[http-equiv]"):
        if (node.attributes.get("http-equiv") or "").strip().lower() != "refresh":
            continue
        match = _REFRESH_URL.search(node.attributes.get("content") or "")
        link = resolve_link(match.group(1), base) if match else None
        if link is not None:
            collector.add(make_url(link, origin))


# CSS read for url(...) and @import, per document: a sheet longer than this is read
# up to it.
MAX_CSS_CHARS = 1_000_000
_CSS_URL = re.compile(
    r"""url\(\s{0,10}(['"]?)([^'"()\s]{1,2048})\1\s{0,10}\)"""
    r"""|@import\s{1,10}(['"])([^'"\s]{1,2048})\3""",
    re.I,
)


def _collect_css(
    tree: LexborHTMLParser, origin: str, collector: UrlCollector, base: str
) -> None:
    """Links in CSS: url(...) in style attributes and <style> blocks, and @import."""
    budget = MAX_CSS_CHARS
    sheets = [node.text() or "" for node in tree.css("style")]
    sheets += [node.attributes.get("style") or "" for node in tree.css("[style]")]
    for sheet in sheets:
        if budget <= 0:
            break
        text, budget = sheet[:budget], budget - len(sheet)
        if "url(" not in text.lower() and "@import" not in text.lower():
            continue
        for match in _CSS_URL.finditer(text):
            link = resolve_link(match.group(2) or match.group(4) or "", base)
            if link is not None:
                collector.add(make_url(link, origin))


def _visible_text(tree: LexborHTMLParser) -> str:
    tree.strip_tags(["script", "style", "template"])
    root = tree.body or tree.root
    return root.text(separator=" ") if root is not None else ""


def resolve_link(href: str, base: str = "") -> str | None:
    """The absolute link an ``href`` points to, or None for links heron ignores.

    Ignored: empty, fragment-only (``#top``), mailto:, cid:, tel: and relative
    links with no ``<base href>`` to resolve them against. ``javascript:`` and
    ``data:`` links are kept.
    """
    link = href.strip().translate(_STRIP_IN_URL)
    if not link or link.startswith("#"):
        return None
    scheme = _HREF_SCHEME.match(link)
    if scheme is not None:
        return None if scheme.group(1).lower() in _IGNORED_SCHEMES else link
    if link.startswith("//"):
        return "https:" + link
    if link[:4].lower() == "www.":
        return "http://" + link
    if base:
        try:
            return urljoin(base, link)
        except ValueError:
            return None
    return None


def visible_text(html: str, max_chars: int) -> str:
    """The text a reader of ``html`` would see, without scripts and styles, cut at
    ``max_chars``. Documents the HTML parser should not be given (``html_problem``)
    are read by stripping tags with a pattern instead."""
    # Comments are dropped before anything is cut, so a page cannot push its words
    # past the limit behind a long comment.
    clipped = _without_comments(html[:MAX_VISIBLE_SOURCE])
    if html_problem(clipped)[0]:
        return _SPACES.sub(" ", _TAG_TEXT.sub(" ", clipped))[:max_chars]
    return _SPACES.sub(" ", _visible_text(LexborHTMLParser(clipped)))[:max_chars]


_TAG_TEXT = re.compile(r"<[^>]{0,2000}>")
# How much HTML is read for its visible text; the parser is linear on what passes
# ``html_problem``, so this bounds the time.
MAX_VISIBLE_SOURCE = 5 * 1024 * 1024


def _without_comments(html: str) -> str:
    """``html`` without its comments, in one pass (an unclosed one runs to the end)."""
    if "<!--" not in html:
        return html
    kept, position = [], 0
    while (start := html.find("<!--", position)) >= 0:
        kept.append(html[position:start])
        end = html.find("-->", start + 4)
        position = len(html) if end < 0 else end + 3
        kept.append(" ")
    kept.append(html[position:])
    return "".join(kept)
