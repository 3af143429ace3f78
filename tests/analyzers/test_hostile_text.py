"""Text written to make pattern matching slow: each shape once took the content or
sender analyzer seconds for tens of kilobytes (quadratic backtracking). At a few
hundred kilobytes a quadratic pattern takes minutes; a linear one, a second."""

import time

import pytest

from tests.analyzers.test_analyzers import run
from tests.factories import address, facts

SIZE = 300_000
# Far above what a linear scan of SIZE characters needs on a slow machine, far below
# what a quadratic one does.
SECONDS = 20

SHAPES = {
    "digits and commas": "1," * (SIZE // 2),
    "digits and spaces": "1 " * (SIZE // 2),
    "one long number": "9" * SIZE,
    "dollars": "us$" + "1," * (SIZE // 2),
    "a word without an at sign": "email me " + "a" * SIZE,
    "dotted labels": "a@" + "a." * (SIZE // 2),
    "blank lines": "\n" * SIZE,
    "repeated phrases": "verify your account " * (SIZE // 20),
    "split letters": " " + "a " * (SIZE // 2),
    "japanese without spaces": "アカウント" * (SIZE // 5),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_hostile_text_is_read_in_linear_time(shape):
    text = SHAPES[shape]
    message = facts(
        subject=text[:60_000],
        from_=address("a@example.test", text[:60_000]),
        text_body=text,
        to=(),
    )
    started = time.monotonic()
    for analyzer in ("content", "sender", "links"):
        run(analyzer, message)
    forward = facts(subject="Fwd: x", text_body=text, html_body=text)
    run("sender", forward)
    assert time.monotonic() - started < SECONDS, shape


def test_hostile_documents_headers_and_css_are_read_in_linear_time():
    from heron.mail.authres import parse_authentication_results
    from heron.mail.files.documents import _attributes
    from heron.mail.urls import extract_html_urls

    started = time.monotonic()
    assert _attributes(b"<Relationship " + b"a" * SIZE + b">") == {}
    parse_authentication_results("mx.example.org; spf=pass" + " " * SIZE + "(c)", 0)
    extract_html_urls("<style>" + "url(" * (SIZE // 4) + "</style>", 100)
    assert time.monotonic() - started < SECONDS
