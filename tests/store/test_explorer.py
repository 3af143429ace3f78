"""The explorer over delivered copies: filters, counts per copy and per location."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from heron.config import Settings
from heron.domain.verdicts import Location, Verdict
from heron.engine.service import Heron
from heron.store import models as m
from heron.store.explorer import ExploreQuery, explore, stale_messages
from tests.cli.test_commands import runner
from tests.factories import staff


def mail(
    sender: str,
    subject: str,
    link: str,
    day: int,
    *,
    ip: str = "203.0.113.9",
    attachment: bytes = b"",
) -> bytes:
    message = EmailMessage()
    message["Received"] = (
        f"from mx.sender.test (mx.sender.test [{ip}]) by mx.example.org; "
        f"{day:02d} Nov 2026 10:00:00 +0000"
    )
    message["From"] = sender
    message["To"] = "staff@example.org"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@explore.test>"
    message["Date"] = f"{day:02d} Nov 2026 10:00:00 +0000"
    message.set_content(f"Please see {link} today.")
    if attachment:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="pay.pdf"
        )
    return message.as_bytes()


PAYSLIP = b"%PDF-1.4 payslip for the explorer tests"
PAYSLIP_SHA256 = hashlib.sha256(PAYSLIP).hexdigest()


@pytest.fixture
def heron(settings: Settings, tmp_path):
    instance = Heron(settings)
    staff(instance)
    folder = tmp_path / "mail"
    folder.mkdir()
    campaign = mail(
        "Payroll <pay@hr-portal.test>",
        "Salary review",
        "https://login.kit.test/a",
        2,
        ip="8.8.4.4",
        attachment=PAYSLIP,
    )
    (folder / "campaign.eml").write_bytes(campaign)
    (folder / "note.eml").write_bytes(
        mail("Bob <bob@partner.test>", "Minutes", "https://docs.partner.test/m", 5)
    )
    for mailbox in ("alice@example.org", "carol@example.org"):
        instance.ingest([folder / "campaign.eml"], mailbox=mailbox)
    instance.ingest([folder / "note.eml"], mailbox="alice@example.org")
    yield instance
    instance.close()


def search(heron: Heron, **filters) -> tuple[int, dict[str, int], set[str]]:
    with heron.store.session() as session:
        found = explore(session, ExploreQuery(**filters))
    return found.total, found.by_location, {c["mailbox"] for c in found.copies}


def test_counts_are_per_copy_with_a_tally_per_location(heron):
    total, by_location, mailboxes = search(heron, sender_domain="hr-portal.test")
    assert total == 2 and by_location == {"inbox": 2}
    assert mailboxes == {"alice@example.org", "carol@example.org"}


def test_every_filter_given_must_match(heron):
    assert search(heron, url_domain="login.kit.test")[0] == 2
    assert search(heron, url_domain="kit.test", recipient="carol@example.org")[0] == 1
    assert search(heron, subject_contains="SALARY")[0] == 2
    assert search(heron, subject_contains="salary", sender="bob@partner.test")[0] == 0
    assert search(heron, location=Location.JUNK)[0] == 0
    assert search(heron)[0] == 3


def test_time_filters_bound_the_received_time(heron):
    since = datetime(2026, 11, 4, tzinfo=UTC)
    assert search(heron, since=since)[0] == 1
    assert search(heron, until=since)[0] == 2


def test_wildcards_in_text_filters_are_plain_characters(heron):
    assert search(heron, subject_contains="%")[0] == 0
    assert search(heron, sender_domain="_r-portal.test")[0] == 0


def test_a_limit_outside_its_bounds_is_refused(heron):
    with pytest.raises(ValueError, match="limit"):
        search(heron, limit=0)


def test_the_command_prints_json_with_counts(heron, monkeypatch):
    import json

    from heron.cli.main import app

    monkeypatch.setenv("HERON_HOME", str(heron.settings.home))
    if heron.settings.database_url:
        monkeypatch.setenv("HERON_DATABASE_URL", heron.settings.database_url)
    result = runner.invoke(app, ["explore", "--url-domain", "kit.test", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["total"] == 2 and data["by_location"] == {"inbox": 2}


def test_whole_urls_file_hashes_and_sending_ips_are_searchable(heron):
    assert search(heron, url="HTTPS://LOGIN.KIT.TEST/a#top")[0] == 2
    assert search(heron, url="https://login.kit.test/b")[0] == 0
    assert search(heron, file_hash=PAYSLIP_SHA256.upper())[0] == 2
    assert search(heron, file_hash="0" * 64)[0] == 0
    assert search(heron, sending_ip="8.8.4.4")[0] == 2
    # A documentation address is not public: no sending ip is recorded for it.
    assert search(heron, sending_ip="203.0.113.9")[0] == 0


def test_the_latest_verdict_of_a_message_is_searchable(heron):
    assert search(heron, verdict=Verdict.UNKNOWN)[0] == 3
    with heron.store.session() as session:
        row = session.query(m.Message).filter_by(subject="Salary review").one()
        row.verdict = Verdict.MALICIOUS.value
    total, _, mailboxes = search(heron, verdict=Verdict.MALICIOUS)
    assert total == 2 and "carol@example.org" in mailboxes


def test_excluded_mailboxes_are_left_out(heron):
    total, _, mailboxes = search(
        heron, sender_domain="hr-portal.test", exclude_mailboxes=("carol@example.org",)
    )
    assert total == 1 and mailboxes == {"alice@example.org"}


def test_a_query_survives_storage_as_data():
    query = ExploreQuery(
        sender_domain="hr-portal.test",
        verdict=Verdict.MALICIOUS,
        location=Location.INBOX,
        since=datetime(2026, 11, 1, tzinfo=UTC),
        messages=("a" * 64,),
    )
    data = query.to_dict()
    assert data["verdict"] == "malicious" and data["messages"] == ["a" * 64]
    assert ExploreQuery.from_dict(data) == query
    with pytest.raises(ValueError, match="unknown explorer filter"):
        ExploreQuery.from_dict({"colour": "red"})


def test_near_duplicate_bodies_are_found_by_their_fingerprint(settings, tmp_path):
    body = (
        "Dear {name}, your mailbox storage is almost full and incoming messages "
        "will be held until you confirm your account at {link} within two days. "
        "Failure to act will suspend delivery. Reference {ref}. IT Service Desk"
    )
    instance = Heron(settings)
    staff(instance)
    try:
        for number, name in enumerate(("Ann", "Ben", "Cleo")):
            message = EmailMessage()
            message["From"] = f"desk{number}@quota-{number}.test"
            message["To"] = f"{name.lower()}@example.org"
            message["Subject"] = f"Mailbox full #{number}"
            message["Message-ID"] = f"<quota{number}@x.test>"
            message.set_content(
                body.format(
                    name=name, link=f"https://q{number}.test/{name}", ref=9000 + number
                )
            )
            path = tmp_path / f"q{number}.eml"
            path.write_bytes(message.as_bytes())
            instance.ingest([path], mailbox=f"{name.lower()}@example.org")
        other = tmp_path / "other.eml"
        other.write_bytes(
            mail("Bob <bob@partner.test>", "Minutes", "https://docs.partner.test/m", 5)
        )
        instance.ingest([other], mailbox="ann@example.org")
        with instance.store.session() as session:
            first = session.query(m.Message).filter_by(
                from_address="desk0@quota-0.test"
            )
            fingerprint = first.one().fingerprint
            assert fingerprint
            found = explore(session, ExploreQuery(near_body=fingerprint))
        assert found.total == 3
        assert {c["mailbox"] for c in found.copies} == {
            "ann@example.org",
            "ben@example.org",
            "cleo@example.org",
        }
    finally:
        instance.close()


def test_messages_indexed_by_an_older_heron_are_reindexed(heron):
    with heron.store.session() as session:
        for row in session.query(m.Message):
            row.index_version = 0
            row.sending_ip = ""
        session.query(m.MessageFile).delete()
    with heron.store.session() as session:
        assert stale_messages(session) == 2
    assert search(heron, file_hash=PAYSLIP_SHA256)[0] == 0
    done, failed = heron.reindex()
    assert (done, failed) == (2, [])
    assert search(heron, file_hash=PAYSLIP_SHA256)[0] == 2
    assert search(heron, sending_ip="8.8.4.4")[0] == 2
    with heron.store.session() as session:
        assert stale_messages(session) == 0
