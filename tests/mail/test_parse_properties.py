"""Property tests: every reader of untrusted input returns a valid result or raises
MailParseError, nothing else, within its time bound."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron.errors import MailParseError
from heron.mail.facts import Limits, MessageFacts
from heron.mail.parse import parse_message
from heron.mail.report import unwrap_report
from heron.mail.urls import extract_html_urls, extract_urls

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
SAMPLES = [path.read_bytes() for path in sorted(DATA.glob("*.eml"))]
LIMITS = Limits(max_seconds=2.0, max_parts=50, max_urls=50, max_body_chars=100_000)
# The time bound checked by the tests: the budget plus room for a slow CI machine.
BOUND_SECONDS = LIMITS.max_seconds + 3.0
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

header_line = st.builds(
    lambda name, value: name + b": " + value + b"\r\n",
    st.sampled_from(
        [
            b"From",
            b"To",
            b"Subject",
            b"Date",
            b"Content-Type",
            b"Received",
            b"Authentication-Results",
            b"Content-Transfer-Encoding",
            b"Return-Path",
        ]
    ),
    st.binary(max_size=80),
)
messagey = st.builds(
    lambda headers, body: b"".join(headers) + b"\r\n" + body,
    st.lists(header_line, max_size=10),
    st.binary(max_size=500),
)


def check(raw: bytes) -> None:
    started = time.monotonic()
    try:
        facts = parse_message(raw, LIMITS)
    except MailParseError:
        return
    assert isinstance(facts, MessageFacts)
    assert facts.size == len(raw)
    assert len(facts.urls) <= LIMITS.max_urls
    facts.to_dict()
    assert time.monotonic() - started < BOUND_SECONDS


@PROPERTY_SETTINGS
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_give_facts_or_parse_error(raw: bytes) -> None:
    check(raw)


@PROPERTY_SETTINGS
@given(messagey)
def test_header_shaped_bytes_give_facts_or_parse_error(raw: bytes) -> None:
    check(raw)


@PROPERTY_SETTINGS
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_messages_give_facts_or_parse_error(
    sample: bytes, data: st.DataObject
) -> None:
    raw = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "cut"]))
        chunk = data.draw(st.binary(min_size=1, max_size=20))
        if action == "insert":
            raw[position:position] = chunk
        elif action == "delete":
            del raw[position : position + len(chunk)]
        elif action == "replace":
            raw[position : position + len(chunk)] = chunk
        else:
            del raw[position:]
    check(bytes(raw))


@PROPERTY_SETTINGS
@given(st.sampled_from(SAMPLES), st.binary(max_size=200))
def test_reports_unwrap_or_raise_parse_error(sample: bytes, noise: bytes) -> None:
    try:
        report = unwrap_report(sample[: len(sample) // 2] + noise, LIMITS)
    except MailParseError:
        return
    assert report.kind in ("arf", "attached", "none")


@PROPERTY_SETTINGS
@given(st.text(max_size=2000))
def test_url_extractors_never_raise(text: str) -> None:
    urls, _ = extract_urls(text, "text", 20)
    assert len(urls) <= 20
    html_urls, _ = extract_html_urls(text, 20)
    assert len(html_urls) <= 20
