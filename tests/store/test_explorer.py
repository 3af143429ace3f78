"""The explorer over delivered copies: filters, counts per copy and per location."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from heron.config import Settings
from heron.domain.verdicts import Location
from heron.engine.service import Heron
from heron.store.explorer import ExploreQuery, explore
from tests.cli.test_commands import runner


def mail(sender: str, subject: str, link: str, day: int) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "staff@example.org"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@explore.test>"
    message["Date"] = f"{day:02d} Nov 2026 10:00:00 +0000"
    message.set_content(f"Please see {link} today.")
    return message.as_bytes()


@pytest.fixture
def heron(settings: Settings, tmp_path):
    instance = Heron(settings)
    folder = tmp_path / "mail"
    folder.mkdir()
    campaign = mail(
        "Payroll <pay@hr-portal.test>", "Salary review", "https://login.kit.test/a", 2
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
