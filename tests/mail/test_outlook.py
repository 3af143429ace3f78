"""Outlook .msg reading, checked against the real files of the shared corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heron.mail.parse import parse_message

pytestmark = pytest.mark.corpus


def read(corpus_dir: Path, name: str) -> bytes:
    return (corpus_dir / "eml" / "ham" / name).read_bytes()


def test_msg_with_transport_headers(corpus_dir: Path) -> None:
    facts = parse_message(read(corpus_dir, "PyMISP__mail_3.msg"))
    assert facts.format == "msg"
    assert facts.subject.startswith("Testing Manuel Lemos' MIME E-mail")
    assert facts.from_ is not None and facts.from_.address == "mlemos@acm.org"
    assert facts.message_id == "20050430192829.0489.mlemos@acm.org"
    assert facts.headers and facts.date is not None
    assert [a.filename for a in facts.attachments] == [
        "attachment.txt",
        "logo.gif",
        "background.gif",
    ]
    assert facts.attachments[1].true_type == "image/gif"
    assert facts.html_body and facts.text_body
    assert facts.warnings == ()


def test_msg_without_transport_headers_uses_properties(corpus_dir: Path) -> None:
    facts = parse_message(read(corpus_dir, "PyMISP__mail_4.msg"))
    assert facts.headers == ()
    assert facts.subject == "New Message!"
    assert facts.from_ is not None
    assert (facts.from_.address, facts.from_.display_name) == (
        "sender@example.com",
        "Sender",
    )
    assert [a.address for a in facts.to] == [
        "recipient1@example.com",
        "recipient2@example.com",
    ]
    assert [a.address for a in facts.cc] == ["cc1@example.com"]
    assert facts.date == datetime(2015, 11, 6, 17, 14, 45, 526988, tzinfo=UTC)
    [sheet] = facts.attachments
    assert sheet.filename == "TestAttachment1.xlsx" and sheet.size == 10934
    assert "spreadsheetml" in sheet.true_type


def test_msg_plain_body_gives_urls(corpus_dir: Path) -> None:
    facts = parse_message(read(corpus_dir, "PyMISP__mail_5.msg"))
    assert facts.subject == "Ab auf die Piste!"
    assert facts.from_ is not None and facts.from_.address == "mailings@gmxnet.de"
    assert len(facts.urls) > 10 and all(u.origin == "text" for u in facts.urls)


def test_truncated_msg_is_not_mail_or_warns(corpus_dir: Path) -> None:
    from heron.errors import MailParseError

    raw = read(corpus_dir, "PyMISP__mail_3.msg")
    for cut in (512, len(raw) // 2):
        try:
            facts = parse_message(raw[:cut])
        except MailParseError:
            continue
        assert facts.format == "msg"
