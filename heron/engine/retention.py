"""Retention: raw mail and finished investigations older than their periods go.

- Raw mail: the bytes of a message first seen before the cut-off are deleted from
  the blob store, unless an open investigation holds the message. The message's
  facts, index rows and copies stay, so the explorer and clusters still find it;
  ``raw_purged_at`` says when the bytes went.
- Investigations: one that ended before the cut-off loses its entities, findings,
  log, warnings, clusters and actions. Its row stays, with its name, status, times
  and ``purged_at``, so that its id is never given to another investigation; its
  alerts, activity-feed records and audit-trail records stay too (the trail is a
  chain: deleting from it would break it).

Each purge writes one audit-trail record with what it removed.

Known limit: a message whose raw bytes were purged cannot be investigated again;
an investigation of it examines nothing and says so in its log. Keeping the parsed
facts would let the analyzers run on them instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from heron.domain.roles import SYSTEM
from heron.domain.verdicts import InvestigationStatus
from heron.store import models as m
from heron.store import trail
from heron.store.blobs import BlobStore

log = logging.getLogger(__name__)

BATCH = 500
OPEN = tuple(s.value for s in InvestigationStatus if s.is_open)


@dataclass
class Purged:
    raw_messages: int = 0
    investigations: int = 0
    # Whose bytes to delete once the transaction that marks them has committed.
    blobs: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"raw bytes of {self.raw_messages} message(s) and "
            f"{self.investigations} investigation(s) purged"
        )


def purge_raw_mail(session: Session, cutoff: datetime) -> list[str]:
    """Mark the messages whose raw bytes go; returns their sha256s."""
    held = (
        select(m.InvestigationEntity.value)
        .join(
            m.Investigation,
            m.Investigation.id == m.InvestigationEntity.investigation_id,
        )
        .where(
            m.InvestigationEntity.type == "message", m.Investigation.status.in_(OPEN)
        )
    )
    rows = session.scalars(
        select(m.Message)
        .where(
            m.Message.first_seen_at < cutoff,
            m.Message.raw_purged_at.is_(None),
            m.Message.sha256.not_in(held),
        )
        .limit(BATCH)
    ).all()
    for row in rows:
        row.raw_purged_at = datetime.now(cutoff.tzinfo)
    return [row.sha256 for row in rows]


def _waiting_messages(session: Session) -> set[str]:
    """Messages events not yet processed name (a report waiting for its alert)."""
    found: set[str] = set()
    for entities in session.scalars(
        select(m.EventRecord.entities).where(m.EventRecord.processed_at.is_(None))
    ):
        for item in (entities or {}).get("items", []):
            if (
                isinstance(item, list | tuple)
                and len(item) == 2
                and item[0] == "message"
            ):
                found.add(str(item[1]))
    return found


def purge_investigations(session: Session, cutoff: datetime) -> int:
    ids = list(
        session.scalars(
            select(m.Investigation.id)
            .where(
                m.Investigation.ended_at.is_not(None),
                m.Investigation.ended_at < cutoff,
                m.Investigation.status.not_in(OPEN),
                m.Investigation.purged_at.is_(None),
            )
            .limit(BATCH)
        )
    )
    if not ids:
        return 0
    clusters = select(m.Cluster.id).where(m.Cluster.investigation_id.in_(ids))
    session.execute(
        delete(m.ClusterMember).where(m.ClusterMember.cluster_id.in_(clusters))
    )
    for table in (
        m.Cluster,
        m.FindingRecord,
        m.LogEntry,
        m.WarningRecord,
        m.InvestigationEntity,
        m.Action,
    ):
        session.execute(delete(table).where(table.investigation_id.in_(ids)))
    session.execute(
        update(m.Alert)
        .where(m.Alert.investigation_id.in_(ids))
        .values(investigation_id=None)
    )
    session.execute(
        update(m.Investigation)
        .where(m.Investigation.id.in_(ids))
        .values(purged_at=datetime.now(cutoff.tzinfo))
    )
    return len(ids)


def purge(
    session: Session,
    now: datetime,
    *,
    raw_mail_days: float,
    investigation_days: float,
) -> Purged:
    """One pass of both purges (each at most ``BATCH`` rows); a period of 0 keeps
    everything of its kind. The caller deletes ``blobs`` after committing."""
    done = Purged()
    if raw_mail_days > 0:
        done.blobs = purge_raw_mail(session, now - timedelta(days=raw_mail_days))
        done.raw_messages = len(done.blobs)
    if investigation_days > 0:
        done.investigations = purge_investigations(
            session, now - timedelta(days=investigation_days)
        )
    if done.raw_messages or done.investigations:
        trail.append(
            session,
            SYSTEM,
            "retention.purged",
            "store",
            detail={
                "raw_messages": done.raw_messages,
                "investigations": done.investigations,
                "raw_mail_days": raw_mail_days,
                "investigation_days": investigation_days,
            },
        )
        log.info("retention: %s", done.describe())
    return done


def delete_blobs(blobs: BlobStore, digests: list[str]) -> None:
    for digest in digests:
        blobs.delete(digest)
