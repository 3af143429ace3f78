"""The yara analyzer with heron's own rules and rules an organisation adds."""

from __future__ import annotations

from pathlib import Path

from heron.analyzers import REGISTRY, AnalyzerContext, Lookups
from heron.domain.entities import EntityRef, EntityType
from heron.domain.verdicts import Severity, StepStatus
from heron.intel.yara_rules import load_rules
from heron.mail.parse import parse_message
from tests.samples_files import mail_with

SMUGGLER = (
    b"<html><script>var b=atob(payload);var f=new Blob([b]);var a=document."
    b"createElement('a');a.href=URL.createObjectURL(f);a.download='inv.iso';a.click()"
    b"</script></html>"
)


def run(raw: bytes, rules) -> object:
    message = parse_message(raw)
    entity = EntityRef(EntityType.MESSAGE, message.sha256)
    return REGISTRY["yara"].run(AnalyzerContext(message, entity, Lookups(yara=rules)))


def test_heron_rules_find_html_smuggling_in_an_attachment():
    result = run(mail_with([("invoice.html", SMUGGLER, "text/html")]), load_rules([]))
    [finding] = result.findings
    assert finding.code == "heron_html_smuggling"
    assert finding.severity is Severity.HIGH
    assert finding.entity.type is EntityType.FILE
    assert "invoice.html" in finding.summary


def test_rules_from_a_configured_folder_load_and_a_broken_file_is_a_warning(
    tmp_path: Path,
):
    (tmp_path / "ours.yar").write_text(
        'rule acme_invoice { meta: severity = "low" description = "ACME lure" '
        'strings: $a = "ACME-INVOICE-7" condition: $a }'
    )
    (tmp_path / "broken.yar").write_text("rule { nope")
    rules = load_rules([tmp_path])
    assert any("broken.yar" in w for w in rules.warnings)
    result = run(
        mail_with([], text="see ACME-INVOICE-7", html="<p>ACME-INVOICE-7</p>"), rules
    )
    [finding] = result.findings
    assert (finding.code, finding.severity) == ("acme_invoice", Severity.LOW)
    assert finding.entity.type is EntityType.MESSAGE


def test_plain_mail_matches_nothing():
    result = run(
        mail_with([("notes.txt", b"minutes of the meeting", "text/plain")]),
        load_rules([]),
    )
    assert result.status is StepStatus.NOTHING_FOUND and result.findings == ()


def test_without_rules_the_step_does_not_apply():
    assert run(mail_with([]), None).status is StepStatus.NOT_APPLICABLE
