"""Post-delivery detection, url clicks and manual investigations from the explorer."""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from heron.config import Settings
from heron.domain.policies import (
    FILE_REMOVED_AFTER_DELIVERY,
    URL_CLICK_DETECTED,
    URL_REMOVED_AFTER_DELIVERY,
)
from heron.engine import views
from heron.engine.service import Heron
from heron.ingest.clicks import read_clicks
from heron.store import models as m
from heron.store.explorer import ExploreQuery
from heron.store.models import utcnow
from tests.cli.test_commands import runner
from tests.engine.test_clusters import Organisation, campaign
from tests.factories import staff

BAD = "https://salary-update.test/s/1"
RECENT = utcnow() - timedelta(days=1)


@pytest.fixture
def heron(settings: Settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


@pytest.fixture
def delivered(heron: Heron, tmp_path: Path) -> Organisation:
    """Variant 1 of the campaign reached three people yesterday; one of them has
    already deleted it. Nothing listed it when it arrived."""
    place = Organisation(tmp_path / "maildirs")
    raw = campaign(1, "colleague", when=RECENT)
    place.deliver("ann@example.org", raw)
    place.deliver("ben@example.org", raw)
    place.deliver("cleo@example.org", raw, folder=".Trash")
    place.deliver("dan@example.org", campaign(2, "dan", when=RECENT))
    place.ingest(heron)
    return place


def alerts(heron: Heron) -> list[m.Alert]:
    with heron.store.session() as session:
        rows = session.scalars(select(m.Alert).order_by(m.Alert.id)).all()
        session.expunge_all()
        return list(rows)


def list_in_feed(heron: Heron, line: str) -> None:
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(f"{line}\n")
    heron.reload_intel()


def soft_deletes(heron: Heron, investigation_id: int) -> list[m.Action]:
    with heron.store.session() as session:
        rows = session.scalars(
            select(m.Action).where(
                m.Action.investigation_id == investigation_id,
                m.Action.type == "soft_delete",
            )
        ).all()
        session.expunge_all()
        return list(rows)


def copy_ids(heron: Heron, folder_location: str) -> set[int]:
    with heron.store.session() as session:
        return set(
            session.scalars(
                select(m.Copy.id)
                .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
                .where(
                    m.Message.subject.like("Action required: salary statement%"),
                    m.Copy.location == folder_location,
                )
            )
        )


def test_a_url_that_turns_bad_after_delivery_raises_the_removal_alert(heron, delivered):
    assert heron.process() == []  # delivered mail alone raises nothing
    list_in_feed(heron, BAD)
    [investigation_id] = heron.process()
    [alert] = alerts(heron)
    assert alert.policy == URL_REMOVED_AFTER_DELIVERY.name
    assert alert.investigation_id == investigation_id
    actions = soft_deletes(heron, investigation_id)
    assert actions and {a.status for a in actions} == {"pending"}
    in_mailboxes, deleted = copy_ids(heron, "inbox"), copy_ids(heron, "deleted")
    # Variant 1 in two inboxes and the trash; variant 2, a near duplicate, in one.
    assert len(in_mailboxes) == 3 and len(deleted) == 1
    for action in actions:
        assert set(action.params["copies"]) <= in_mailboxes
        assert not set(action.params["copies"]) & deleted
    assert any(set(a.params["copies"]) == in_mailboxes for a in actions)
    # Reading the same feed again raises nothing new.
    heron.reload_intel()
    assert heron.process() == [] and len(alerts(heron)) == 1


def test_copies_all_gone_raise_no_alert(heron, tmp_path):
    place = Organisation(tmp_path / "gone")
    place.deliver("ann@example.org", campaign(1, "ann", when=RECENT), folder=".Trash")
    place.ingest(heron)
    list_in_feed(heron, BAD)
    assert heron.process() == [] and alerts(heron) == []


def test_a_domain_the_analyst_blocks_is_looked_for_in_delivered_mail(heron, delivered):
    entry, raised = heron.block("domain", "salary-update.test", by="analyst")
    assert entry.value == "salary-update.test" and raised == 2
    touched = heron.process()
    assert len(touched) == 1
    policies = {a.policy for a in alerts(heron)}
    assert policies == {URL_REMOVED_AFTER_DELIVERY.name}
    with heron.store.session() as session:
        detail = views.investigation_detail(session, touched[0])
    assert len(detail["alerts"]) == 2  # both messages, one investigation
    assert any(e["step"] == "Alert merged" for e in detail["log"])


def test_a_file_that_turns_bad_raises_the_file_removal_alert(heron, tmp_path):
    payload = b"%PDF-1.4 statement that a feed lists later"
    message = EmailMessage()
    message["From"] = "billing@invoices-now.test"
    message["To"] = "ann@example.org"
    message["Subject"] = "Statement"
    message["Date"] = RECENT.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content("Your statement is attached.")
    message.add_attachment(
        payload, maintype="application", subtype="pdf", filename="s.pdf"
    )
    place = Organisation(tmp_path / "files")
    place.deliver("ann@example.org", message.as_bytes())
    place.ingest(heron)
    list_in_feed(heron, hashlib.sha256(payload).hexdigest())
    [investigation_id] = heron.process()
    assert [a.policy for a in alerts(heron)] == [FILE_REMOVED_AFTER_DELIVERY.name]
    assert soft_deletes(heron, investigation_id)


def write_clicks(path: Path, *records: dict | str) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"
    )
    return path


def click(user: str, url: str, hours_ago: float) -> dict:
    when = utcnow() - timedelta(hours=hours_ago)
    return {"type": "url.clicked", "user": user, "url": url, "time": when.isoformat()}


def test_clicks_in_the_48_hours_before_a_url_turned_bad_raise_click_alerts(
    heron, delivered, tmp_path
):
    log = write_clicks(
        tmp_path / "clicks.jsonl",
        click("ann@example.org", BAD, 10),
        click("ben@example.org", BAD, 72),  # too long before the url turned bad
        click("dan@example.org", "https://salary-update.test/s/2", 5),
    )
    stored, raised, warnings = heron.ingest_clicks(log)
    assert (stored, raised, warnings) == (3, 0, [])
    list_in_feed(heron, BAD)
    heron.process()
    clicks = [a for a in alerts(heron) if a.policy == URL_CLICK_DETECTED.name]
    assert len(clicks) == 1
    users = {v for t, v in clicks[0].entities["items"] if t == "mailbox"}
    assert users == {"ann@example.org"}
    # Its investigation is the one that holds the message the click came from.
    assert clicks[0].investigation_id is not None


def test_a_click_on_a_url_already_bad_raises_at_once(heron, delivered, tmp_path):
    list_in_feed(heron, BAD)
    heron.process()
    log = write_clicks(tmp_path / "late.jsonl", click("ben@example.org", BAD, 0.5))
    stored, raised, _ = heron.ingest_clicks(log)
    assert (stored, raised) == (1, 1)
    heron.process()
    assert [a.policy for a in alerts(heron)].count(URL_CLICK_DETECTED.name) == 1
    # The same log read again stores and raises nothing twice.
    assert heron.ingest_clicks(log)[:2] == (0, 0)


def test_a_click_log_with_bad_lines_keeps_the_good_ones(tmp_path):
    log = write_clicks(
        tmp_path / "mixed.jsonl",
        "not json",
        "[1, 2]",
        {"type": "url.clicked", "user": "ann@example.org", "url": BAD},
        {"type": "mail.sent", "user": "ann@example.org"},
        {"user": "nobody", "url": BAD, "time": "2026-11-01T10:00:00Z"},
        {"user": "ann@example.org", "url": BAD, "time": "yesterday"},
        "[" * 100_000,
        {"user": "Ann@Example.org", "url": BAD, "time": "2026-11-01T10:00:00"},
    )
    read = read_clicks(log)
    assert [c.user for c in read.clicks] == ["ann@example.org"]
    assert read.clicks[0].time.tzinfo is not None
    assert len(read.warnings) == 8
    assert any("read as UTC" in w for w in read.warnings)
    assert any("longer than" in w or "nested" in w for w in read.warnings)


def test_an_analyst_investigates_what_the_explorer_finds(heron, delivered):
    investigation_id, matched = heron.investigate_query(
        ExploreQuery(sender_domain="salary-update1.test"), by="analyst"
    )
    assert matched == 1
    with heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    assert detail["playbook"] == "manual-investigation"
    assert "started by analyst" in detail["log"][0]["summary"]
    investigated = [e for e in detail["entities"] if e["role"] == "investigated"]
    assert len(investigated) == 1
    assert detail["clusters"]


def test_the_command_line_investigates_a_mailbox(heron, delivered, monkeypatch):
    from heron.cli.main import app

    monkeypatch.setenv("HERON_HOME", str(heron.settings.home))
    monkeypatch.setenv("HERON_LOCAL_USERS", json.dumps({getpass.getuser(): "analyst"}))
    if heron.settings.database_url:
        monkeypatch.setenv("HERON_DATABASE_URL", heron.settings.database_url)
    result = runner.invoke(
        app, ["investigate", "--recipient", "dan@example.org", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["matched_messages"] == 1 and data["playbook"] == "manual-investigation"
    both = runner.invoke(app, ["investigate", "x.eml", "--recipient", "a@b.test"])
    assert both.exit_code == 2
    nothing = runner.invoke(app, ["investigate", "--sender", "nobody@else.test"])
    assert nothing.exit_code != 0 and "no delivered copy matches" in nothing.output
