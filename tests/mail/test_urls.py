"""Behaviour of the url extractors for plain text and HTML."""

from __future__ import annotations

from heron.mail.urls import extract_html_urls, extract_urls, resolve_link


def urls_of(text: str) -> list[tuple[str, bool]]:
    found, _ = extract_urls(text, "text", 100)
    return [(u.url, u.defanged) for u in found]


def test_plain_links_stop_at_brackets_quotes_and_trailing_punctuation() -> None:
    text = 'See (http://a.example/x), "https://b.example/y". <ftp://c.example/f>!'
    assert urls_of(text) == [
        ("http://a.example/x", False),
        ("https://b.example/y", False),
        ("ftp://c.example/f", False),
    ]


def test_www_links_get_a_scheme() -> None:
    assert urls_of("go to www.example.org/path now") == [
        ("http://www.example.org/path", False)
    ]


def test_defanged_forms_are_refanged_and_marked() -> None:
    text = (
        "hxxp://a[.]example/1 hxxps://b(.)example/2 h**p://c[dot]example/3 "
        "https[:]//d.example/4 http[://]e.example/5 evil[.]example/6"
    )
    assert urls_of(text) == [
        ("http://a.example/1", True),
        ("https://b.example/2", True),
        ("http://c.example/3", True),
        ("https://d.example/4", True),
        ("http://e.example/5", True),
        ("http://evil.example/6", True),
    ]


def test_defanged_email_address_is_not_a_url() -> None:
    assert urls_of("write to user@evil[.]example") == []


def test_scheme_and_host_are_normalised() -> None:
    [url], _ = extract_urls("HTTPS://WWW.Example.COM:443/Path?Q=1", "text", 10)
    assert url.url == "https://www.example.com/Path?Q=1"
    assert url.host == "www.example.com"


def test_punycode_host_is_kept_as_written_in_lower_case() -> None:
    [url], _ = extract_urls("http://XN--PPLE-43D.com/", "text", 10)
    assert url.host == "xn--pple-43d.com"


def test_duplicates_are_dropped_per_origin() -> None:
    found, truncated = extract_urls("http://a.example/ http://a.example/", "text", 10)
    assert len(found) == 1 and not truncated


def test_limit_reports_truncation() -> None:
    found, truncated = extract_urls("http://a.example http://b.example", "text", 1)
    assert len(found) == 1 and truncated


HTML = """<html><head><meta http-equiv="Refresh" content="0; url='https://refresh.example/'">
</head><body>
<a href=" https://login.example/a?b=1&amp;c=2 ">Your <b>bank</b></a>
<a href="#top">top</a><a href="mailto:x@example.org">m</a><a href="tel:123">t</a>
<a href="relative.html">no base</a>
<img src="cid:logo"><img src="data:image/png;base64,AAAA">
<iframe src="//frame.example/f"></iframe>
<a href="javascript:alert(1)">js</a>
<form action="https://form.example/post"><input type=submit></form>
<script>var hidden = "http://script.example/";</script>
<p>Visible: hxxp://text[.]example/</p>
</body></html>"""


def test_html_links_carry_their_origin() -> None:
    found, truncated = extract_html_urls(HTML, 100)
    pairs = [(u.url, u.origin) for u in found]
    assert pairs == [
        ("https://login.example/a?b=1&c=2", "html-href"),
        ("javascript:alert(1)", "html-href"),
        ("data:image/png;base64,AAAA", "html-src"),
        ("https://frame.example/f", "html-src"),
        ("https://form.example/post", "html-form"),
        ("https://refresh.example/", "html-meta-refresh"),
        ("http://text.example/", "text"),
    ]
    assert not truncated


def test_html_anchor_text_is_the_visible_text() -> None:
    found, _ = extract_html_urls(HTML, 100)
    assert found[0].anchor_text == "Your bank"


def test_javascript_and_data_links_have_no_host() -> None:
    found, _ = extract_html_urls(HTML, 100)
    assert {u.host for u in found if u.url.startswith(("javascript:", "data:"))} == {""}


def test_base_href_resolves_relative_links() -> None:
    html = '<base href="https://base.example/dir/"><a href="page.html">p</a>'
    [url], _ = extract_html_urls(html, 10)
    assert url.url == "https://base.example/dir/page.html"


def test_ignored_links() -> None:
    for href in ("", "#x", "mailto:a@b", "cid:x", "tel:1", "relative/page"):
        assert resolve_link(href) is None


def test_deeply_nested_html_is_read_by_pattern_quickly() -> None:
    import time

    from heron.mail.urls import UrlCollector, collect_html_urls

    html = "<div>" * 200_000 + '<a href="https://deep.example/">x</a>'
    collector = UrlCollector(10)
    started = time.monotonic()
    collect_html_urls(html, collector)
    assert time.monotonic() - started < 5
    assert collector.problems[0][0] == "html-too-deep"
    assert collector.urls()[0].url == "https://deep.example/"


def test_html_the_parser_handles_slowly_is_read_by_pattern():
    from heron.mail.urls import (
        MAX_HTML_TAGS,
        MAX_TAG_ATTRIBUTES,
        UrlCollector,
        collect_html_urls,
    )

    options = "<select>" + "<option>x" * (MAX_HTML_TAGS + 1) + "</select>"
    attributes = "<a " + " ".join(f"a{i}=1" for i in range(MAX_TAG_ATTRIBUTES + 1))
    for html in (options, attributes):
        collector = UrlCollector(100)
        collect_html_urls(
            html + ' <a href="https://still.found.test/">x</a>', collector
        )
        assert collector.problems[0][0] == "html-too-large"
        assert "https://still.found.test/" in {u.url for u in collector.urls()}


def test_a_long_comment_cannot_push_the_visible_words_out_of_reach():
    from heron.mail.urls import visible_text

    html = "<!--" + "pad " * 500_000 + "--><p>Verify your password now</p>"
    assert "Verify your password now" in visible_text(html, 1000)


def test_links_in_srcset_object_srcdoc_and_svg_are_found():
    html = (
        '<img srcset="https://a.test/1.png 1x, https://b.test/2.png 2x">'
        '<object data="https://obj.test/x.swf"></object>'
        "<iframe srcdoc=\"&lt;a href='https://inner.test/p'&gt;x&lt;/a&gt;\"></iframe>"
        '<svg><a xlink:href="https://svg.test/l"><text>t</text></a></svg>'
    )
    found = {u.url for u in extract_html_urls(html, 100)[0]}
    assert {
        "https://a.test/1.png",
        "https://b.test/2.png",
        "https://obj.test/x.swf",
        "https://inner.test/p",
        "https://svg.test/l",
    } <= found


def test_links_in_css_are_read_from_style_blocks_and_attributes() -> None:
    html = (
        '<style>@import "https://css.example/a.css";'
        " body { background: url(https://img.example/bg.png) }</style>"
        "<div style=\"background-image: url('https://div.example/x.png')\">hi</div>"
        '<p style="color: red">no link here</p>'
    )
    found, _ = extract_html_urls(html, 100)
    assert [(u.url, u.origin) for u in found] == [
        ("https://css.example/a.css", "html-css"),
        ("https://img.example/bg.png", "html-css"),
        ("https://div.example/x.png", "html-css"),
    ]
