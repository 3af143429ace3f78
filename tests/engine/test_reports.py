"""Reports as they arrive: wrapped, not wrapped, and wrapped in ways meant to mislead."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from heron.engine import views
from heron.engine.service import Heron
from heron.samples import org
from tests.factories import staff


@pytest.fixture
def heron(settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


def phish_with_attachment(
    payload: bytes, filename: str, maintype: str, subtype: str
) -> bytes:
    message = EmailMessage()
    message["From"] = "it@evil.test"
    message["To"] = "carol@example.org"
    message["Subject"] = "verify your password"
    message.set_content("Verify your password at https://login.evil.test/x")
    message.add_attachment(
        payload, maintype=maintype, subtype=subtype, filename=filename
    )
    return bytes(message)


def investigated(heron: Heron, investigation_id: int) -> list[str]:
    with heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    return [e["value"] for e in detail["entities"] if e["role"] == "investigated"]


def test_a_broken_outlook_attachment_does_not_make_a_message_unreportable(heron):
    raw = phish_with_attachment(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
        "note.msg",
        "application",
        "vnd.ms-outlook",
    )
    submission = heron.report(raw)
    [investigation_id] = heron.process()
    assert investigated(heron, investigation_id) == [submission.sha256]
    assert any("could not be read" in w for w in submission.warnings)


def test_a_message_not_sent_by_the_named_reporter_is_investigated_as_it_is(heron):
    harmless = next(s.raw for s in org.sample_messages() if s.key == "lunch")
    raw = phish_with_attachment(harmless, "lunch.eml", "message", "rfc822")
    submission = heron.report(raw, reporter="carol@example.org")
    heron.process()
    assert submission.reporter == "carol@example.org"
    assert any("not unwrapped" in w for w in submission.warnings)
    import hashlib

    assert submission.sha256 == hashlib.sha256(raw).hexdigest()


def test_a_wrapper_from_the_reporter_is_unwrapped(heron):
    original = next(s.raw for s in org.sample_messages() if s.key == "payroll")
    submission = heron.report(
        org.user_report("carol@example.org", original), reporter="Carol@Example.org"
    )
    assert submission.reporter == "carol@example.org"
    assert not any("not unwrapped" in w for w in submission.warnings)


def test_a_sender_inside_the_organisation_is_never_proposed_for_blocking(
    settings, tmp_path
):
    heron = Heron(settings.model_copy(update={"org_domains": []}))
    forward = EmailMessage()
    forward["From"] = "carol@corp.test"
    forward["To"] = "dave@corp.test"
    forward["Subject"] = "Fwd: verify"
    forward.set_content("Look at this: https://login.evil.test/x")
    path = tmp_path / "forward.eml"
    path.write_bytes(bytes(forward))
    heron.ingest([path], mailbox="dave@corp.test")
    with heron.store.session() as session:
        from heron.store import repository as repo

        repo.add_list_entry(session, "block", "domain", "evil.test", "test")
    heron.report(bytes(forward), reporter="dave@corp.test", unwrap=False)
    [investigation_id] = heron.process()
    with heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    heron.close()
    assert detail["verdict"] == "malicious"
    assert not any(a["type"] == "block_sender" for a in detail["actions"])


def test_a_report_wrapping_two_messages_files_both(heron):
    wrapper = EmailMessage()
    wrapper["From"] = "carol@example.org"
    wrapper["To"] = "phish-report@example.org"
    wrapper["Subject"] = "two odd mails"
    wrapper.set_content("both look wrong")
    from email import message_from_bytes, policy

    for key in ("lunch", "payroll"):
        raw = next(s.raw for s in org.sample_messages() if s.key == key)
        wrapper.add_attachment(message_from_bytes(raw, policy=policy.default))
    submissions = heron.report_all(bytes(wrapper))
    assert len(submissions) == 2
    assert {s.reporter for s in submissions} == {"carol@example.org"}
    assert len(set(heron.process())) == 2


def test_a_report_wrapping_what_is_not_mail_is_investigated_as_it_is(heron):
    report = EmailMessage()
    report["From"] = "carol@example.org"
    report["To"] = "phish-reports@example.org"
    report["Subject"] = "Fwd: suspicious"
    report.set_content("See the attached message.")
    report.add_attachment(
        b"\x00\x01 not a message \xff", maintype="message", subtype="rfc822"
    )
    raw = bytes(report)
    submission = heron.report(raw, reporter="carol@example.org")
    assert submission.error == ""
    [investigation_id] = heron.process()
    assert investigated(heron, investigation_id) == [submission.sha256]
