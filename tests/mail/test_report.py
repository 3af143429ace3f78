"""Unwrapping user reports: ARF, attached messages, and plain messages."""

from __future__ import annotations

from collections.abc import Callable

from heron.mail.parse import parse_message
from heron.mail.report import unwrap_report

Sample = Callable[[str], bytes]


def test_arf_report_gives_the_original_and_feedback_type(sample: Sample) -> None:
    report = unwrap_report(sample("arf"))
    assert report.kind == "arf"
    assert report.feedback_type == "abuse"
    assert report.reporter == "abuse@reporter.example"
    assert parse_message(report.original).message_id == "orig-1@phish.example"


def test_arf_report_without_original_warns(sample: Sample) -> None:
    raw = sample("arf").split(b"--arf\nContent-Type: message/rfc822")[0] + b"--arf--\n"
    report = unwrap_report(raw)
    assert report.kind == "arf" and report.original == raw
    assert "arf-no-original" in [w.code for w in report.warnings]


def test_attached_message_is_the_original(sample: Sample) -> None:
    report = unwrap_report(sample("forward_attached"))
    assert (report.kind, report.reporter) == ("attached", "alice@victim.example")
    original = parse_message(report.original)
    assert original.envelope_sender == "spoof@phish.example"


def test_attached_eml_file_is_the_original(sample: Sample) -> None:
    report = unwrap_report(sample("forward_eml_file"))
    assert report.kind == "attached"
    assert report.original == sample("original")


def test_plain_message_is_its_own_original(sample: Sample) -> None:
    raw = sample("original")
    report = unwrap_report(raw)
    assert (report.kind, report.original, report.feedback_type) == ("none", raw, "")
    assert report.reporter == "support@phish.example"
