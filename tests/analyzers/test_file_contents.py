"""The file-contents analyzer on mail the tests write, read by the real mail layer."""

from __future__ import annotations

from heron.analyzers import REGISTRY, AnalyzerContext, Lookups
from heron.domain.entities import EntityRef, EntityType
from heron.domain.scoring import entity_verdict
from heron.domain.verdicts import Severity, StepStatus, Verdict
from heron.mail.parse import parse_message
from tests.samples_files import mail_with, pdf, word_document, zip_of

ZIP = "application/zip"


def run(raw: bytes):
    message = parse_message(raw)
    entity = EntityRef(EntityType.MESSAGE, message.sha256)
    context = AnalyzerContext(message, entity, Lookups())
    return message, REGISTRY["file-contents"].run(context)


def by_code(result) -> dict[str, Severity]:
    return {f.code: f.severity for f in result.findings}


def test_a_zip_holding_a_macro_document_is_a_finding_on_the_document():
    archive = zip_of({"statement.docm": word_document(macro=True)})
    message, result = run(mail_with([("statement.zip", archive, ZIP)]))
    [finding] = [f for f in result.findings if f.code == "vba-macro"]
    [document] = [
        a for a in message.every_attachment() if a.filename == "statement.docm"
    ]
    assert finding.entity == EntityRef(EntityType.FILE, document.sha256)
    assert finding.severity is Severity.MEDIUM and "statement.docm" in finding.summary
    assert result.status is StepStatus.COMPLETED


def test_an_encrypted_archive_whose_password_the_mail_states_is_high():
    archive = zip_of({"invoice.pdf.exe": b"MZ" + b"\0" * 300}, password="8812")
    _, result = run(mail_with([("invoice.zip", archive, ZIP)], text="pass: 8812"))
    assert by_code(result)["encrypted"] is Severity.HIGH


def test_a_locked_archive_hiding_an_executable_is_high():
    archive = zip_of({"setup.exe": b"MZ" + b"\0" * 300}, password="secret")
    _, result = run(mail_with([("setup.zip", archive, ZIP)]))
    found = by_code(result)
    assert found["encrypted"] is Severity.MEDIUM
    assert found["risky-member"] is Severity.HIGH


def test_pdf_javascript_run_on_opening_makes_the_file_malicious():
    message, result = run(
        mail_with(
            [("doc.pdf", pdf(javascript="app.launchURL('x')"), "application/pdf")]
        )
    )
    [document] = message.attachments
    ref = EntityRef(EntityType.FILE, document.sha256)
    verdict = entity_verdict(ref, result.findings)
    assert verdict.verdict is Verdict.MALICIOUS
    assert {f.code for f in verdict.reasons} >= {"pdf-javascript", "pdf-open-action"}


def test_a_remote_template_is_high():
    document = word_document(remote_template="http://198.51.100.7/t.dotm")
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    _, result = run(mail_with([("cv.docx", document, docx)]))
    assert by_code(result)["remote-template"] is Severity.HIGH


def test_plain_documents_are_opened_and_found_clean():
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    _, result = run(mail_with([("minutes.docx", word_document(), docx)]))
    assert result.status is StepStatus.NOTHING_FOUND
    assert set(by_code(result)) == {"contents-ok"}


def test_mail_without_files_heron_opens_is_not_applicable():
    _, result = run(
        mail_with([("blob.bin", b"\x00\x01" * 40, "application/octet-stream")])
    )
    assert result.status is StepStatus.NOT_APPLICABLE
