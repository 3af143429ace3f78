"""The audit trail's chain: any change, insertion or deletion is found."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update

from heron.domain.roles import SYSTEM
from heron.store import models as m
from heron.store import trail
from heron.store.repository import Store


@pytest.fixture
def store(database_url, tmp_path):
    instance = Store(database_url, tmp_path / "blobs")
    instance.migrate()
    yield instance
    instance.close()


def fill(store: Store, count: int) -> None:
    for n in range(count):
        with store.session() as session:
            trail.append(
                session, "alice", "action.approved", "action", n, detail={"n": n}
            )


def check(store: Store, expect=None) -> trail.Verification:
    with store.session() as session:
        return trail.verify(session, expect)


def test_an_untouched_chain_is_intact_and_names_its_head(store):
    fill(store, 5)
    result = check(store)
    assert result.intact and result.records == 5 and result.head_seq == 5
    assert check(store, (5, result.head_hash)).intact


def test_a_changed_record_is_found(store):
    fill(store, 5)
    with store.session() as session:
        session.execute(
            update(m.AuditTrailRecord)
            .where(m.AuditTrailRecord.seq == 3)
            .values(
                body=session.get(m.AuditTrailRecord, 3).body.replace("alice", "mallory")
            )
        )
    assert "record 3 was changed" in " ".join(check(store).problems)


def test_a_changed_column_is_found_even_with_the_body_intact(store):
    fill(store, 3)
    with store.session() as session:
        session.execute(
            update(m.AuditTrailRecord)
            .where(m.AuditTrailRecord.seq == 2)
            .values(actor="bob")
        )
    assert "actor changed" in " ".join(check(store).problems)


def test_a_deleted_record_is_found_in_the_middle_and_at_the_end(store):
    fill(store, 5)
    with store.session() as session:
        session.execute(delete(m.AuditTrailRecord).where(m.AuditTrailRecord.seq == 2))
    assert "record 2 is missing" in " ".join(check(store).problems)
    with store.session() as session:
        session.execute(delete(m.AuditTrailRecord).where(m.AuditTrailRecord.seq == 5))
    assert "deleted from the end" in " ".join(check(store).problems)


def test_a_rewritten_chain_is_found_against_a_hash_kept_outside(store):
    fill(store, 3)
    kept = check(store)
    with store.session() as session:  # rewrite everything consistently
        session.execute(delete(m.AuditTrailRecord))
        session.execute(update(m.AuditTrailHead).values(seq=0, hash=""))
    fill(store, 3)
    assert check(store).intact  # consistent on its own...
    assert not check(store, (3, kept.head_hash)).intact  # ...but not what was kept


def test_writers_at_once_never_fork_the_chain(store):
    def write() -> None:
        for _ in range(10):
            store.retrying(lambda s: trail.append(s, SYSTEM, "job.run", "job", "x"))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = check(store)
    assert result.intact, result.problems
    assert result.records == 40
    with store.session() as session:
        seqs = list(session.scalars(select(m.AuditTrailRecord.seq)))
    assert sorted(seqs) == list(range(1, 41))
