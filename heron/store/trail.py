"""The audit trail: every decision and change, who made it, hash-chained.

Each record is canonical JSON (sorted keys, ASCII) in ``body``; its hash is SHA-256
over the previous record's hash and the body. ``verify`` walks the chain from the
first record: a changed record fails its own hash, an inserted or deleted one breaks
the link to its neighbour or the numbering, and one deleted from the end leaves the
head (kept in its own row) ahead of the last record.

Appending updates the head row before reading it, so writers queue on that row
(PostgreSQL) or on the database's write lock (SQLite) and never fork the chain.

Known limit: someone who can write to the database can rewrite the whole chain and
its head consistently. ``heron audit verify`` prints the head's sequence number and
hash; keeping those outside heron (a SIEM, a ticket) and passing them back with
``--expect`` detects that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heron.domain.roles import Principal
from heron.store import models as m
from heron.store.models import utcnow

GENESIS = "0" * 64
VERIFY_BATCH = 1000


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append(
    session: Session,
    actor: Principal | str,
    verb: str,
    object_type: str,
    object_id: str | int = "",
    *,
    investigation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> m.AuditTrailRecord:
    """Add a record to the chain in the caller's transaction: it lands exactly when
    the change it records does."""
    label = actor.label if isinstance(actor, Principal) else actor
    session.execute(
        update(m.AuditTrailHead)
        .where(m.AuditTrailHead.id == 1)
        .values(seq=m.AuditTrailHead.seq + 1)
    )
    head = session.execute(
        select(m.AuditTrailHead.seq, m.AuditTrailHead.hash).where(
            m.AuditTrailHead.id == 1
        )
    ).one()
    seq, prev = int(head.seq), head.hash or GENESIS
    when = occurred_at or utcnow()
    body = canonical(
        {
            "seq": seq,
            "occurred_at": when.isoformat(),
            "actor": label,
            "verb": verb,
            "object_type": object_type,
            "object_id": str(object_id),
            "investigation_id": investigation_id,
            "detail": detail or {},
        }
    )
    digest = chain_hash(prev, body)
    row = m.AuditTrailRecord(
        seq=seq,
        occurred_at=when,
        actor=label,
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        investigation_id=investigation_id,
        body=body,
        prev_hash=prev,
        hash=digest,
    )
    session.add(row)
    session.execute(
        update(m.AuditTrailHead).where(m.AuditTrailHead.id == 1).values(hash=digest)
    )
    session.flush()
    return row


@dataclass
class Verification:
    """What ``verify`` found: how many records it checked, the head, and every
    break in the chain with the sequence number where it is."""

    records: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(
    session: Session, expect: tuple[int, str] | None = None, limit_problems: int = 100
) -> Verification:
    """Walk the whole chain and report each break."""
    result = Verification()
    head = session.get(m.AuditTrailHead, 1)
    result.head_seq, result.head_hash = (
        (int(head.seq), head.hash) if head is not None else (0, "")
    )
    prev, expected_seq = GENESIS, 1
    seen_hashes: dict[int, str] = {}
    for row in _records(session):
        result.records += 1
        problem = _check(row, prev, expected_seq)
        if problem:
            result.problems.append(problem)
        if expect is not None and row.seq == expect[0]:
            seen_hashes[row.seq] = row.hash
        prev, expected_seq = row.hash, row.seq + 1
        if len(result.problems) >= limit_problems:
            result.problems.append(f"stopped after {limit_problems} problems")
            return result
    if result.head_seq != expected_seq - 1:
        result.problems.append(
            f"the head says {result.head_seq} records but the chain ends at "
            f"{expected_seq - 1}: records were deleted from the end, or added without "
            "the head"
        )
    elif result.records and result.head_hash != prev:
        result.problems.append(
            f"the head's hash differs from record {expected_seq - 1}'s"
        )
    if expect is not None:
        seq, digest = expect
        if seen_hashes.get(seq) != digest:
            result.problems.append(
                f"record {seq} does not have the expected hash {digest[:16]}…: the "
                "chain was rewritten since that hash was taken"
            )
    return result


def _check(row: m.AuditTrailRecord, prev: str, expected_seq: int) -> str:
    if row.seq != expected_seq:
        return f"record {expected_seq} is missing (the next is {row.seq})"
    if row.prev_hash != prev:
        return f"record {row.seq} does not follow the record before it"
    if chain_hash(row.prev_hash, row.body) != row.hash:
        return f"record {row.seq} was changed after it was written"
    try:
        body = json.loads(row.body)
    except ValueError:
        return f"record {row.seq} holds no readable body"
    columns = {
        "seq": row.seq,
        "actor": row.actor,
        "verb": row.verb,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "investigation_id": row.investigation_id,
    }
    changed = sorted(k for k, v in columns.items() if body.get(k) != v)
    try:
        moment = datetime.fromisoformat(str(body.get("occurred_at")))
    except ValueError:
        moment = None
    if moment != row.occurred_at:
        changed.append("occurred_at")
    if changed:
        return f"record {row.seq}: {', '.join(changed)} changed after it was written"
    return ""


def _records(session: Session) -> Iterator[m.AuditTrailRecord]:
    after = 0
    while True:
        rows = session.scalars(
            select(m.AuditTrailRecord)
            .where(m.AuditTrailRecord.seq > after)
            .order_by(m.AuditTrailRecord.seq)
            .limit(VERIFY_BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def view(row: m.AuditTrailRecord) -> dict[str, Any]:
    """A record as the API and the command line show it."""
    body = json.loads(row.body)
    return {**body, "hash": row.hash, "prev_hash": row.prev_hash}


def records(
    session: Session,
    *,
    after: int = 0,
    limit: int = 100,
    investigation_id: int | None = None,
    verb: str | None = None,
) -> list[dict[str, Any]]:
    query = select(m.AuditTrailRecord).where(m.AuditTrailRecord.seq > after)
    if investigation_id is not None:
        query = query.where(m.AuditTrailRecord.investigation_id == investigation_id)
    if verb:
        query = query.where(m.AuditTrailRecord.verb == verb)
    rows = session.scalars(query.order_by(m.AuditTrailRecord.seq).limit(limit))
    return [view(r) for r in rows]
