"""Audit records stored as events, once each, with their user and address."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from heron.engine.service import Heron
from heron.store import models as m
from tests.factories import staff
from tests.ingest.test_audit import FORWARD, RULE, audit_files


@pytest.fixture
def heron(settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


def test_audit_records_become_events_once(heron, tmp_path):
    path = tmp_path / "records.jsonl"
    no_id = {**RULE, "Id": "", "CreationTime": "2026-11-02T09:00:00Z"}
    path.write_text("\n".join(json.dumps(r) for r in (RULE, FORWARD, no_id)) + "\n")
    first = heron.ingest_audit([path])
    assert (first.records, first.stored) == (3, 3)
    assert first.counts == {"inbox_rule.changed": 2, "mailbox.forwarding_set": 1}
    again = heron.ingest_audit([path])
    assert (again.stored, again.already_known) == (0, 3)
    with heron.store.session() as session:
        rule = session.scalar(
            select(m.EventRecord).where(m.EventRecord.type == "inbox_rule.changed")
        )
        assert rule.entities["items"] == [
            ["mailbox", "ann@example.org"],
            ["ip", "198.51.100.7"],
        ]
        assert rule.payload["fields"]["forward_to"] == ["collector@exfil.test"]
        assert rule.payload["record"]["Operation"] == "New-InboxRule"


def test_a_missing_file_is_a_warning(heron, tmp_path):
    summary = heron.ingest_audit([tmp_path / "absent.json"])
    assert summary.records == 0 and "cannot be read" in summary.warnings[0]


@pytest.mark.corpus
def test_the_corpus_audit_records_are_stored(heron, corpus):
    summary = heron.ingest_audit(audit_files(corpus))
    # The JSON Lines file holds the same Management Activity records as the
    # folder of single records: those are stored once.
    assert summary.records == 181 and summary.stored == 107
    assert heron.ingest_audit(audit_files(corpus)).stored == 0
    with heron.store.session() as session:
        stored = session.scalar(select(func.count()).select_from(m.EventRecord))
    assert stored == summary.stored
