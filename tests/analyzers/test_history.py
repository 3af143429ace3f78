"""First contact and newly seen domains, from delivered mail ingested into the store."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from heron.config import Settings
from heron.engine import views
from heron.engine.service import Heron


def mail(sender: str, link: str, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "alice@example.org"
    message["Subject"] = f"note {number}"
    message["Message-ID"] = f"<{number}@history.test>"
    message["Date"] = f"Fri, 0{1 + number % 3} Dec 2026 10:{number % 60:02d}:00 +0000"
    message.set_content(f"See {link} about item {number}.")
    return message.as_bytes()


@pytest.fixture
def heron(settings: Settings, tmp_path, monkeypatch):
    import heron.analyzers.history as history

    monkeypatch.setattr(history, "MINIMUM_HISTORY", 5)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number in range(6):
        (inbox / f"{number}.eml").write_bytes(
            mail("Bob <bob@partner.test>", "https://docs.partner.test/x", number)
        )
    instance = Heron(settings)
    instance.ingest([inbox], mailbox="alice@example.org")
    yield instance
    instance.close()


def findings_of(heron: Heron, raw: bytes) -> dict[str, dict]:
    heron.report(raw, reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    with heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    return {
        f["code"]: f
        for e in detail["entities"]
        for f in e.get("findings", [])
        if f["analyzer"] == "history"
    }


def test_a_sender_seen_before_is_no_first_contact(heron):
    found = findings_of(
        heron, mail("Bob <bob@partner.test>", "https://docs.partner.test/y", 99)
    )
    assert "first-contact" not in found and "newly-seen-domain" not in found


def test_a_new_domain_is_first_contact_and_its_links_newly_seen(heron):
    found = findings_of(
        heron, mail("Eve <eve@stranger.test>", "https://kit.evil.test/login", 98)
    )
    assert found["first-contact"]["severity"] == "low"
    assert "stranger.test" in found["first-contact"]["summary"]
    assert "evil.test" in found["newly-seen-domain"]["summary"]


def test_a_new_address_at_a_known_domain_is_informational(heron):
    found = findings_of(
        heron, mail("Carol <carol@partner.test>", "https://docs.partner.test/z", 97)
    )
    assert found["first-contact-address"]["severity"] == "informational"


def test_without_enough_delivered_mail_first_contact_is_not_judged(settings: Settings):
    instance = Heron(settings)
    try:
        found = findings_of(
            instance, mail("Eve <eve@stranger.test>", "https://k.test/", 1)
        )
    finally:
        instance.close()
    assert set(found) == {"history-too-short"}
