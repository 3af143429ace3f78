"""Behaviour of parse_message on small hand-written messages."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from heron.errors import MailParseError
from heron.mail.facts import Limits, MessageFacts
from heron.mail.parse import parse_message

Sample = Callable[[str], bytes]


@pytest.fixture
def full(sample: Sample) -> MessageFacts:
    return parse_message(sample("full"))


def codes(facts: MessageFacts) -> list[str]:
    return [warning.code for warning in facts.warnings]


def test_identity_is_the_hash_of_the_raw_bytes(sample: Sample) -> None:
    import hashlib

    raw = sample("full")
    facts = parse_message(raw)
    assert facts.sha256 == hashlib.sha256(raw).hexdigest()
    assert facts.size == len(raw)
    assert facts.format == "eml"


def test_clean_message_has_no_warnings(full: MessageFacts) -> None:
    assert full.warnings == ()


def test_envelope_sender_is_kept_apart_from_header_from(full: MessageFacts) -> None:
    assert full.envelope_sender == "bounce@envelope.example.com"
    assert full.from_ is not None
    assert full.from_.address == "service@paypa1.example"
    assert full.from_.domain == "paypa1.example"


def test_from_display_name_is_decoded(full: MessageFacts) -> None:
    assert full.from_ is not None
    assert full.from_.display_name == "PayPal Sécurité"


def test_rfc2047_subject_is_decoded(full: MessageFacts) -> None:
    assert full.subject == "Votre compte est suspendu – action requise"


def test_sender_reply_to_and_recipients(full: MessageFacts) -> None:
    assert full.sender is not None and full.sender.address == "bulk@sender.example"
    assert [a.address for a in full.reply_to] == ["helpdesk@reply.example"]
    assert full.reply_to[0].display_name == "Help Desk"
    assert [a.address for a in full.to] == [
        "alice@victim.example",
        "bob@victim.example",
    ]
    assert [a.address for a in full.cc] == ["carol@victim.example"]
    assert len(full.recipients) == 3


def test_message_id_without_angle_brackets(full: MessageFacts) -> None:
    assert full.message_id == "abc123@paypa1.example"


def test_date_is_aware(full: MessageFacts) -> None:
    assert full.date == datetime(
        2024, 3, 5, 11, 14, 55, tzinfo=timezone(timedelta(hours=1))
    )


def test_received_hops_topmost_first_with_ips(full: MessageFacts) -> None:
    top, second = full.received
    assert (top.index, top.from_host, top.by_host) == (
        0,
        "mail.attacker.example",
        "mx.victim.example",
    )
    assert top.ip == "203.0.113.5"
    assert top.received_at == datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    assert second.ip == "2001:db8::25"


def test_authentication_results_microsoft_style(full: MessageFacts) -> None:
    first, second = full.authentication_results
    assert first.authserv_id == "mx.victim.example"
    methods = {r.method: r for r in first.results}
    assert methods["spf"].result == "pass"
    assert methods["spf"].properties == {"smtp.mailfrom": "envelope.example.com"}
    assert methods["dkim"].result == "none"
    assert methods["dmarc"].result == "fail"
    assert methods["dmarc"].properties["header.from"] == "paypa1.example"
    assert methods["compauth"].reason == "001"
    assert second.index == 1 and second.results[0].result == "fail"


def test_bodies_are_decoded(full: MessageFacts) -> None:
    assert "vérifiez votre compte" in full.text_body
    assert '<a href="https://paypa1.example/login?id=7">' in full.html_body


def test_headers_are_kept_in_order(full: MessageFacts) -> None:
    assert full.headers[0][0] == "Return-Path"
    assert len(full.header("received")) == 2


def test_attachments_have_hashes_and_true_types(full: MessageFacts) -> None:
    pdf, gif, page = full.attachments
    assert pdf.filename == "facture n°1.pdf"
    assert (pdf.declared_type, pdf.true_type) == ("application/pdf", "application/pdf")
    assert pdf.payload.startswith(b"%PDF")
    assert pdf.size == len(pdf.payload) and len(pdf.sha256) == 64
    assert len(pdf.md5) == 32 and len(pdf.sha1) == 40
    assert gif.inline and gif.content_id == "logo@x" and gif.true_type == "image/gif"
    assert page.filename == "page sécurisée.html"


def test_urls_from_text_html_and_attached_html(full: MessageFacts) -> None:
    found = {(u.url, u.origin) for u in full.urls}
    assert ("https://paypa1.example/login?id=7", "text") in found
    assert ("https://paypa1.example/login?id=7", "html-href") in found
    assert ("https://track.example/pixel.gif", "html-src") in found
    origin = "attachment:page sécurisée.html"
    assert ("https://collect.example.net/post", origin) in found


def test_defanged_url_in_text_is_refanged(full: MessageFacts) -> None:
    [url] = [u for u in full.urls if u.host == "evil.example"]
    assert url.defanged and url.url == "https://evil.example/path"


def test_anchor_text_is_kept(full: MessageFacts) -> None:
    [anchor] = [u for u in full.urls if u.origin == "html-href"]
    assert anchor.anchor_text == "https://www.paypal.com/"


def test_cid_image_is_not_a_url(full: MessageFacts) -> None:
    assert not [u for u in full.urls if u.url.startswith("cid:")]


def test_nested_messages_are_parsed_recursively(sample: Sample) -> None:
    facts = parse_message(sample("nested"))
    [outer] = facts.attachments
    assert outer.filename == "attached-message.eml"
    assert outer.message is not None and outer.message.subject == "level one"
    [inner] = outer.message.attachments
    assert inner.message is not None and inner.message.subject == "level two"
    assert inner.message.urls[0].url == "http://deep.example/"


def test_attached_messages_deeper_than_the_limit_are_kept_unread(
    sample: Sample,
) -> None:
    facts = parse_message(sample("nested"), Limits(max_depth=1))
    outer = facts.attachments[0]
    assert outer.message is not None
    inner = outer.message.attachments[0]
    assert inner.message is None and inner.size > 0
    assert "depth-limit" in codes(outer.message)
    assert [w.code for w in facts.all_warnings()] == ["depth-limit"]


def test_mime_nesting_deeper_than_the_limit_warns(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_depth=1))
    assert "depth-limit" in codes(facts)
    assert facts.text_body == ""


def test_broken_boundary_becomes_warnings_and_keeps_the_text(sample: Sample) -> None:
    facts = parse_message(sample("broken_boundary"))
    assert "multipart-unsplit" in codes(facts)
    assert "mime-defect" in codes(facts)
    assert "wrong-boundary.example" in facts.text_body


def test_bad_base64_warns_and_keeps_what_decodes(sample: Sample) -> None:
    facts = parse_message(sample("bad_base64"))
    defects = [w for w in facts.warnings if w.code == "mime-defect"]
    assert {w.where for w in defects} == {"1", "2"}
    assert facts.text_body.startswith("Hello world")
    assert facts.attachments[0].payload.startswith(b"\x00\x01")


def test_part_limit_warns(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_parts=3))
    assert "part-limit" in codes(facts)
    assert facts.attachments == ()


def test_header_count_and_length_limits_warn(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_headers=3, max_header_length=40))
    assert len(facts.headers) == 3
    assert "header-count-limit" in codes(facts)
    assert "header-length-limit" in codes(facts)
    assert all(len(value) <= 40 for _, value in facts.headers)


def test_body_limit_cuts_with_a_warning(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_body_chars=10))
    assert len(facts.text_body) == 10
    assert "body-limit" in codes(facts)


def test_url_limit_warns(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_urls=2))
    assert len(facts.urls) == 2
    assert "url-limit" in codes(facts)


def test_time_limit_stops_the_walk_with_a_warning(sample: Sample) -> None:
    facts = parse_message(sample("full"), Limits(max_seconds=-1))
    assert "time-limit" in codes(facts)


def test_size_limit_reads_only_the_start(sample: Sample) -> None:
    raw = sample("full")
    facts = parse_message(raw, Limits(max_bytes=200))
    assert "size-limit" in codes(facts)
    assert facts.size == len(raw)


def test_bad_charset_warns_and_decodes_best_effort() -> None:
    raw = (
        b"From: a@example.com\nDate: Mon, 04 Mar 2024 09:06:00 +0000\n"
        b"Subject: =?x-bogus?q?caf=C3=A9?=\n"
        b"Content-Type: text/plain; charset=x-bogus\n\ncaf\xc3\xa9\n"
    )
    facts = parse_message(raw)
    assert facts.subject == "café" and facts.text_body.startswith("café")
    assert {"encoded-word", "charset"} <= set(codes(facts))


def test_undeclared_8bit_body_falls_back_to_windows_1252() -> None:
    raw = b"From: a@example.com\nDate: Mon, 04 Mar 2024 09:06:00 +0000\n\ncaf\xe9\n"
    facts = parse_message(raw)
    assert facts.text_body.startswith("café")
    assert "charset" in codes(facts)


def test_from_with_several_addresses_warns() -> None:
    raw = b"From: a@example.com, b@example.com\nDate: Mon, 4 Mar 2024 09:06 +0000\n\nx"
    facts = parse_message(raw)
    assert facts.from_ is not None and facts.from_.address == "a@example.com"
    assert "from-multiple-addresses" in codes(facts)


def test_from_split_by_a_comma_keeps_the_address_with_a_domain() -> None:
    raw = b"From: Team, Inc <Boss@Example.com>\nDate: 4 Mar 2024 09:06 +0000\n\nx"
    facts = parse_message(raw)
    assert facts.from_ is not None and facts.from_.address == "boss@example.com"
    assert codes(facts) == ["from-multiple-addresses"]


def test_unparsable_from_and_date_warn() -> None:
    facts = parse_message(b"From: nobody\nDate: yesterday-ish\n\nx")
    assert "from-unparsable" in codes(facts)
    assert facts.date is None and "date-unparsable" in codes(facts)


def test_duplicate_from_headers_warn() -> None:
    raw = b"From: a@example.com\nFrom: b@example.com\nDate: 4 Mar 2024 09:06 +0000\n\nx"
    facts = parse_message(raw)
    assert [w.where for w in facts.warnings] == ["header:from"]


def test_missing_from_and_date_warn() -> None:
    facts = parse_message(b"Subject: hi\n\nbody")
    assert [w.code for w in facts.warnings] == ["header-missing", "header-missing"]
    assert facts.from_ is None and facts.envelope_sender == ""


def test_nested_comments_in_addresses_do_not_crash() -> None:
    raw = (
        b"From: x@example.com "
        + b"(" * 3000
        + b"\nDate: Mon, 4 Mar 2024 09:06 +0000\n\nx"
    )
    facts = parse_message(raw)
    assert facts.from_ is not None and facts.from_.address == "x@example.com"


def test_deep_mime_nesting_is_read_unsplit_with_a_warning() -> None:
    levels = 3000
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
        for i in range(levels)
    )
    raw = b"From: a@example.com\nDate: Mon, 4 Mar 2024 09:06 +0000\n" + head + b"\nhi\n"
    facts = parse_message(raw)
    assert {"mime-too-deep", "depth-limit"} & set(codes(facts))


def test_empty_input_is_not_mail() -> None:
    with pytest.raises(MailParseError):
        parse_message(b"")
    with pytest.raises(MailParseError):
        parse_message(b"  \r\n ")


def test_unreadable_outlook_file_is_not_mail() -> None:
    with pytest.raises(MailParseError):
        parse_message(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_to_dict_is_json_ready(full: MessageFacts) -> None:
    import json

    data = full.to_dict()
    assert json.loads(json.dumps(data))["subject"] == full.subject
    assert "payload" not in data["attachments"][0]


def test_a_raw_utf8_file_name_keeps_its_characters_bidi_controls_included() -> None:
    raw = (
        "From: a@b.test\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="invoice\u202efdp.exe"\n\nMZ\n--b--\n'
    ).encode("utf-8")
    [attachment] = parse_message(raw).attachments
    assert attachment.filename == "invoice\u202efdp.exe"


def test_a_byte_order_mark_before_the_headers_is_a_warning_not_a_refusal():
    raw = b"\xef\xbb\xbfFrom: a@b.test\r\nSubject: s\r\n\r\nbody\r\n"
    facts = parse_message(raw)
    assert facts.from_ is not None and facts.from_.address == "a@b.test"
    assert "byte-order-mark" in {w.code for w in facts.warnings}
    assert facts.sha256 == hashlib.sha256(raw).hexdigest()
