"""Outlook .msg reading on files the tests write themselves (see ``cfb.py``), so that
the Outlook reader is checked on every clone, corpus or not, hostile files included."""

from __future__ import annotations

import pytest

from heron.errors import MailParseError
from heron.mail.facts import Limits
from heron.mail.parse import parse_message
from tests.mail import cfb


def codes(facts) -> set[str]:
    return {w.code for w in facts.all_warnings()}


def test_subject_body_urls_and_attachments_are_read():
    tree = cfb.outlook_message(
        "Invoice overdue",
        "Pay today at https://pay.example.test/invoice/7",
        files=[("notes.txt", b"plain words\n")],
    )
    facts = parse_message(cfb.build(tree))
    assert facts.format == "msg"
    assert facts.subject == "Invoice overdue"
    assert [u.url for u in facts.urls] == ["https://pay.example.test/invoice/7"]
    [notes] = facts.attachments
    assert (notes.filename, notes.size, notes.true_type) == (
        "notes.txt",
        12,
        "text/plain",
    )
    assert len(notes.sha256) == 64


def test_an_embedded_message_is_read_as_an_attachment_with_its_own_links():
    inner = cfb.outlook_message(
        "Shared document", "Open https://files.example.test/doc", header=24
    )
    facts = parse_message(
        cfb.build(cfb.outlook_message("Fwd", "see below", messages=[inner]))
    )
    [attached] = facts.attachments
    assert attached.message is not None
    assert attached.message.subject == "Shared document"
    assert [u.url for u in attached.message.urls] == ["https://files.example.test/doc"]


def test_attachments_past_the_part_limit_become_a_warning():
    files = [(f"f{i}.txt", b"x") for i in range(6)]
    facts = parse_message(
        cfb.build(cfb.outlook_message("many", files=files)), Limits(max_parts=3)
    )
    assert len(facts.attachments) < 6
    assert "part-limit" in codes(facts)


def test_embedded_messages_past_the_depth_limit_are_not_read():
    tree = cfb.outlook_message("level 3", "deepest", header=24)
    for level in (2, 1):
        tree = cfb.outlook_message(f"level {level}", messages=[tree], header=24)
    top = cfb.outlook_message("top", messages=[tree])
    facts = parse_message(cfb.build(top), Limits(max_depth=1))
    assert "depth-limit" in codes(facts)
    [first] = facts.attachments
    assert first.message is not None and first.message.subject == "level 1"
    assert first.message.attachments[0].message is None


def test_streams_sharing_one_sector_chain_are_read_within_the_limits():
    shared = "__attach_version1.0_#00000000/__substg1.0_37010102"
    files = [("a.bin", b"B" * 5000)] + [
        (f"copy{i}.bin", cfb.Stream(same_as=shared)) for i in range(20)
    ]
    facts = parse_message(cfb.build(cfb.outlook_message("shared", files=files)))
    assert len(facts.attachments) == 21
    assert {a.sha256 for a in facts.attachments} == {facts.attachments[0].sha256}


def test_a_truncated_outlook_file_is_a_clear_error_not_a_crash():
    raw = cfb.build(cfb.outlook_message("cut", "body " * 2000))
    with pytest.raises(MailParseError, match="Outlook"):
        parse_message(raw[:700])


def test_a_compound_file_without_a_message_is_refused():
    raw = cfb.build({"WordDocument": b"\0" * 600})
    with pytest.raises(MailParseError, match="no MAPI message"):
        parse_message(raw)


def test_a_small_file_claiming_gigabytes_through_shared_chains_is_cut_short():
    shared = "__attach_version1.0_#00000000/__substg1.0_37010102"
    files = [("a.bin", b"B" * 8192)] + [
        (f"copy{i}.bin", cfb.Stream(same_as=shared)) for i in range(900)
    ]
    raw = cfb.build(cfb.outlook_message("bomb", files=files))
    assert len(raw) < 1_000_000 and 8 * len(raw) < 901 * 8192
    facts = parse_message(raw)
    read = sum(a.size for a in facts.attachments)
    assert read <= 8 * len(raw) + 4 * 1024 * 1024
    assert any(
        "read limit" in w.message or "add up" in w.message for w in facts.warnings
    )
