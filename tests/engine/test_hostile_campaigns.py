"""Mail and logs written to break the index, the clusters and the click log."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from heron.config import Settings
from heron.engine.service import Heron
from heron.errors import QueryError
from heron.ingest.clicks import read_clicks
from heron.mail.fingerprint import subject_key
from heron.store import models as m
from heron.store.explorer import ExploreQuery, Member, explore
from heron.store.models import utcnow
from tests.engine.test_clusters import Organisation, campaign, letter
from tests.factories import staff


@pytest.fixture
def heron(settings: Settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


def copies(heron: Heron) -> list[tuple[str, str]]:
    with heron.store.session() as session:
        return list(session.execute(select(m.Copy.mailbox, m.Copy.location)).all())


def test_one_message_in_the_inbox_and_the_trash_is_one_copy_in_the_inbox(
    heron, tmp_path
):
    place = Organisation(tmp_path / "twice")
    raw = campaign(1, "ann")
    place.deliver("ann@example.org", raw, folder=".Trash")
    place.deliver("ann@example.org", raw)
    place.deliver("ann@example.org", raw, folder=".Trash")
    place.ingest(heron)
    assert copies(heron) == [("ann@example.org", "inbox")]
    place.ingest(heron)  # read again: still one copy, still in the inbox
    assert copies(heron) == [("ann@example.org", "inbox")]


def test_a_date_out_of_range_is_no_received_time(heron, tmp_path):
    place = Organisation(tmp_path / "dates")
    for n, date in enumerate(
        ("Fri, 31 Dec 9999 23:59:59 -1200", "Mon, 02 Dec 2030 10:00:00 +0000")
    ):
        raw = letter(f"a{n}@far.test", "ann@example.org", f"when {n}", "text")
        raw = raw.replace(b"Mon, 02 Nov 2026 08:00:00 +0000", date.encode())
        place.deliver("ann@example.org", raw)
    place.ingest(heron)
    with heron.store.session() as session:
        times = list(session.scalars(select(m.Copy.received_at)))
    assert len(times) == 2
    assert all(abs(t - utcnow()) < timedelta(hours=1) for t in times)


def test_folder_names_become_mailboxes_in_lower_case(heron, tmp_path):
    place = Organisation(tmp_path / "case")
    place.deliver("Eve.Smith@Example.org", campaign(1, "eve"))
    place.ingest(heron)
    assert copies(heron) == [("eve.smith@example.org", "inbox")]


def test_links_in_a_maildir_are_not_followed(heron, tmp_path):
    place = Organisation(tmp_path / "links")
    place.deliver("ann@example.org", campaign(1, "ann"))
    secret = tmp_path / "secret.eml"
    secret.write_bytes(letter("x@y.test", "ann@example.org", "secret", "do not read"))
    os.symlink(secret, place.root / "ann@example.org" / "cur" / "9.M9.mx:2,S")
    summary = heron.ingest([place.root / "ann@example.org"])
    assert summary.copies == 1
    assert any("symbolic link" in e for e in summary.errors)


def test_padding_links_do_not_push_the_one_that_matters_out_of_the_index(
    heron, tmp_path
):
    padding = " ".join(f"https://cdn.padding.test/i/{n}.png" for n in range(1200))
    raw = letter(
        "a@pad.test",
        "ann@example.org",
        "padded",
        f"{padding} and then http://evil-pad.test/slip",
    )
    place = Organisation(tmp_path / "pad")
    place.deliver("ann@example.org", raw)
    place.ingest(heron)
    with heron.store.session() as session:
        found = explore(session, ExploreQuery(url="http://evil-pad.test/slip"))
    assert found.total == 1


def test_subject_keys_see_through_invisible_and_wide_characters():
    assert subject_key("\u200binvoice\u200b 77 overdue now") == subject_key(
        "Invoice 12 overdue now"
    )
    assert subject_key("ｉｎｖｏｉｃｅ 5 overdue now") == "invoice # overdue now"


def test_a_verdict_a_cluster_passed_on_is_no_evidence_for_it():
    when = utcnow()
    passed_on = Member(
        1,
        "a" * 64,
        "x@example.org",
        "inbox",
        when,
        "malicious",
        "cluster 4 (subject x) of investigation 1",
    )
    judged = Member(
        2, "b" * 64, "x@example.org", "inbox", when, "malicious", "investigation 1"
    )
    assert not passed_on.judged_malicious and judged.judged_malicious


def test_bad_explorer_filters_are_clear_errors():
    from datetime import UTC, datetime, timezone

    far = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    for bad in (
        {"since": far},
        {"until": datetime(9999, 12, 31, tzinfo=UTC)},
        {"subject_contains": "q" * 50_000},
        {"sender_domain": "..."},
        {"limit": 0},
    ):
        with pytest.raises(QueryError):
            ExploreQuery(**bad)


def test_hostile_click_lines_are_warnings_and_the_rest_is_kept(tmp_path):
    good = {
        "user": "ann@example.org",
        "url": "https://x.test/a",
        "time": "2026-12-03T10:00:00Z",
    }
    lines = [
        {**good, "time": "0001-01-01T00:00:00+05:00"},
        {**good, "time": "9999-12-31T23:59:59-05:00"},
        json.dumps(good)[:-1] + ', "n": ' + "9" * 5000 + "}",
        {**good, "user": "@"},
        {**good, "user": "a@b" * 10_000},
        {**good, "url": "javascript:alert(1)"},
        {**good, "url": "not a url at all"},
        "x" * 70_000,
        good,
    ]
    log = tmp_path / "hostile.jsonl"
    log.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    )
    read = read_clicks(log)
    assert [c.url for c in read.clicks] == ["https://x.test/a"]
    assert len(read.warnings) == 8


def test_one_click_read_from_two_logs_is_stored_once(heron, tmp_path):
    record = {
        "user": "ann@example.org",
        "url": "https://x.test/a",
        "time": "2026-12-03T10:00:00Z",
    }
    first, second = tmp_path / "a.jsonl", tmp_path / "rotated.jsonl"
    for path in (first, second):
        path.write_text(json.dumps(record) + "\n")
    assert heron.ingest_clicks(first)[0] == 1
    assert heron.ingest_clicks(second)[0] == 0
