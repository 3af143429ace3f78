"""The store: database and blob store behind the operations the engine needs.

Writes are idempotent where the flow may repeat them: a message, copy, entity,
finding, warning or action that already exists is returned, not inserted again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heron.domain.entities import EntityRef, EntityType, Event, Finding
from heron.domain.names import organisational_domain
from heron.domain.roles import SYSTEM, Principal
from heron.errors import ConnectorError
from heron.mail import fingerprint
from heron.mail.facts import MessageFacts, SenderHistory, Url
from heron.mail.urls import visible_text
from heron.store import models as m
from heron.store import trail
from heron.store.blobs import BlobStore
from heron.store.db import Database
from heron.store.models import row_key, utcnow

T = TypeVar("T")


class Store:
    """The database and the blob store of one heron installation."""

    def __init__(self, database_url: str, blob_dir: Path) -> None:
        self.db = Database(database_url)
        self.blobs = BlobStore(blob_dir)

    def migrate(self) -> None:
        self.db.migrate()

    def session(self) -> AbstractContextManager[Session]:
        """A session that commits at the end of the block, rolls back on error."""
        return self.db.session()

    def retrying(self, work: Callable[[Session], T], attempts: int = 3) -> T:
        """Run ``work`` in a session of its own; if another process inserted the same
        row first (a unique key clash), roll back and run it again, when the lookups
        inside ``work`` find that row instead of inserting it."""
        for attempt in range(attempts):
            try:
                with self.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.db.dispose()


def save_message(session: Session, facts: MessageFacts) -> m.Message:
    """The message row for these facts, created on first sight, with its index."""
    store_messages(session, [facts])
    row = session.get(m.Message, facts.sha256)
    assert row is not None
    return row


def store_messages(session: Session, found: Iterable[MessageFacts]) -> int:
    """Insert the messages the store does not hold yet, each with its index, a few
    statements for all of them; returns how many were new."""
    pending = {facts.sha256: facts for facts in found}
    if not pending:
        return 0
    have = set(
        session.scalars(
            select(m.Message.sha256).where(m.Message.sha256.in_(sorted(pending)))
        )
    )
    new = [facts for sha, facts in pending.items() if sha not in have]
    if not new:
        return 0
    now = utcnow()
    messages = []
    index: dict[type[m.Base], list[dict[str, Any]]] = {}
    for facts in new:
        signature = fingerprint.signature(facts)
        messages.append(
            {
                "sha256": facts.sha256,
                "message_id": facts.message_id[:998],
                "subject": facts.subject,
                "from_address": facts.from_.address if facts.from_ else "",
                "from_domain": facts.from_.domain if facts.from_ else "",
                "envelope_sender": facts.envelope_sender,
                "content_key": content_key(facts),
                "size": facts.size,
                "format": facts.format,
                "facts": facts.to_dict(),
                "first_seen_at": now,
                "verdict": "unknown",
                "threats": [],
                "verdict_source": "",
                **_index_columns(facts, signature),
            }
        )
        for table, rows in _index_rows(facts, signature).items():
            index.setdefault(table, []).extend(rows)
    session.execute(insert(m.Message), messages)
    for table, rows in index.items():
        if rows:
            session.execute(insert(table), rows)
    return len(new)


# What the index keeps per message at most; a message carrying more is a mass of links
# or files, and the first ones say what the rest would.
MAX_LINK_DOMAINS = 500
MAX_INDEXED_URLS = 1000
MAX_INDEXED_FILES = 500


def _index_columns(facts: MessageFacts, signature: tuple[int, ...]) -> dict[str, Any]:
    return {
        "from_org": organisational_domain(facts.from_.domain)[:255]
        if facts.from_
        else "",
        "sending_ip": facts.sending_ip[:45],
        "subject_key": fingerprint.subject_key(facts.subject),
        "fingerprint": fingerprint.encode(signature),
        "index_version": m.INDEX_VERSION,
    }


def _index_rows(
    facts: MessageFacts, signature: tuple[int, ...]
) -> dict[type[m.Base], list[dict[str, Any]]]:
    """The index rows of one message: link domains, urls, files and body bands."""
    sha = facts.sha256
    # One url of every host first, then the rest: a thousand padding links to one
    # host must not push the one that matters past the limit.
    every = facts.every_url()
    firsts = list({url.host: url for url in reversed(every)}.values())[::-1]
    urls: dict[str, Url] = {}
    for url in [*firsts, *every]:
        urls.setdefault(row_key(url.url), url)
        if len(urls) >= MAX_INDEXED_URLS:
            break
    files: dict[str, str] = {}
    for attachment in facts.every_attachment():
        files.setdefault(attachment.sha256, attachment.filename)
        if len(files) >= MAX_INDEXED_FILES:
            break
    return {
        m.MessageDomain: [
            {"message_sha256": sha, "domain": domain} for domain in link_domains(facts)
        ],
        m.MessageUrl: [
            {
                "message_sha256": sha,
                "url_key": key,
                "url": url.url,
                "host": url.host.lower()[:255],
            }
            for key, url in urls.items()
        ],
        m.MessageFile: [
            {"message_sha256": sha, "sha256": digest, "name": name}
            for digest, name in files.items()
        ],
        m.MessageBand: [
            {"message_sha256": sha, "band": band}
            for band in sorted(set(fingerprint.bands(signature)))
        ],
    }


# Which value of an index row ``_indexed`` compares, per table.
_INDEX_KEYS = {
    m.MessageDomain: "domain",
    m.MessageUrl: "url_key",
    m.MessageFile: "sha256",
    m.MessageBand: "band",
}


def index_message(session: Session, row: m.Message, facts: MessageFacts) -> None:
    """Fill the message index again for one stored message (an older heron indexed
    it): what is already there stays, what is missing is added."""
    signature = fingerprint.signature(facts)
    for name, value in _index_columns(facts, signature).items():
        setattr(row, name, value)
    have = _indexed(session, row.sha256)
    for table, rows in _index_rows(facts, signature).items():
        key = _INDEX_KEYS[table]
        missing = [r for r in rows if r[key] not in have[table]]
        if missing:
            session.execute(insert(table), missing)
    session.flush()


def _indexed(session: Session, sha256: str) -> dict[type[m.Base], set[Any]]:
    """What the index already holds for one message."""
    return {
        table: set(
            session.scalars(
                select(getattr(table, key)).where(table.message_sha256 == sha256)  # type: ignore[attr-defined]
            )
        )
        for table, key in _INDEX_KEYS.items()
    }


def link_domains(facts: MessageFacts) -> list[str]:
    """The organisational domains the message's links go to, sorted."""
    hosts = {u.host for u in facts.every_url() if u.host}
    found = {organisational_domain(h)[:255] for h in hosts} - {""}
    return sorted(found)[:MAX_LINK_DOMAINS]


# Delivered copies sender_history counts at most.
HISTORY_COUNTED = 10_000


def sender_history(session: Session, facts: MessageFacts) -> SenderHistory:
    """What the organisation's delivered mail (copies ingested from mailboxes, not
    reports) says of this message's sender and link domains, counting only copies
    received before this message's own first copy, and never this message."""
    first_copy = session.scalar(
        select(func.min(m.Copy.received_at)).where(
            m.Copy.message_sha256 == facts.sha256
        )
    )
    earlier = [m.Copy.message_sha256 != facts.sha256]
    if first_copy is not None:
        earlier.append(m.Copy.received_at < first_copy)
    # Counted only as far as the history analyzer needs to know "enough": counting
    # every copy of a large organisation would cost more than the whole analysis.
    delivered = (
        session.scalar(
            select(func.count()).select_from(
                select(m.Copy.id).where(*earlier).limit(HISTORY_COUNTED).subquery()
            )
        )
        or 0
    )
    from_address = facts.from_.address if facts.from_ else ""
    from_domain = facts.from_.domain if facts.from_ else ""
    org = organisational_domain(from_domain)

    def copies(*conditions: Any) -> int:
        query = select(func.count(m.Copy.id)).join(
            m.Message, m.Message.sha256 == m.Copy.message_sha256
        )
        return session.scalar(query.where(*earlier, *conditions)) or 0

    address_copies = (
        copies(m.Message.from_address == from_address) if from_address else 0
    )
    domain_copies = copies(m.Message.from_org == org) if org else 0
    seen: dict[str, int] = {}
    domains = link_domains(facts)
    if domains:
        query = (
            select(m.MessageDomain.domain, func.count(m.Copy.id))
            .join(m.Copy, m.Copy.message_sha256 == m.MessageDomain.message_sha256)
            .where(m.MessageDomain.domain.in_(domains), *earlier)
            .group_by(m.MessageDomain.domain)
        )
        seen = {domain: count for domain, count in session.execute(query)}
    return SenderHistory(
        delivered=delivered,
        from_address_copies=address_copies,
        from_domain_copies=domain_copies,
        link_domain_copies=tuple((d, seen.get(d, 0)) for d in domains),
    )


def like_escaped(text: str) -> str:
    """``text`` for a LIKE pattern with backslash as escape: % and _ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def save_mailbox(
    session: Session, address: str, connector: str, locator: str
) -> m.Mailbox:
    row = session.get(m.Mailbox, address)
    if row is None:
        row = m.Mailbox(address=address, connector=connector, locator=locator)
        session.add(row)
        session.flush()
    elif connector != "none" and (row.connector, row.locator) != (connector, locator):
        if row.connector != "none":
            raise ConnectorError(
                f"mailbox {address} is already reached as {row.connector} at {row.locator}; "
                f"not repointing it to {locator} (ingest that folder under another name)"
            )
        row.connector, row.locator = connector, locator
    return row


def save_copy(
    session: Session,
    sha256: str,
    mailbox: str,
    location: str,
    locator: str,
    received_at: datetime | None,
    *,
    flush: bool = True,
) -> tuple[m.Copy, bool]:
    """The copy of a message in a mailbox; True when it was new. Without ``flush``
    a new copy gets its id when the session next flushes."""
    row = session.scalar(
        select(m.Copy).where(m.Copy.message_sha256 == sha256, m.Copy.mailbox == mailbox)
    )
    if row is not None:
        if locator and not row.locator:
            row.locator = (
                locator  # first seen as a loose file, now found in the mailbox
            )
        elif locator and locator != row.locator and location != row.location:
            # Found again elsewhere in the mailbox: the user or the mail system moved
            # it (to the trash, to junk) since heron last looked.
            row.location, row.locator, row.updated_at = location, locator, utcnow()
        return row, False
    row = m.Copy(
        message_sha256=sha256,
        mailbox=mailbox,
        location=location,
        original_location=location,
        locator=locator,
        received_at=received_at or utcnow(),
    )
    session.add(row)
    if flush:
        session.flush()
    return row, True


@dataclass(frozen=True)
class NewCopy:
    """A copy an ingest run found: message, mailbox, where and when."""

    sha256: str
    mailbox: str
    location: str
    locator: str
    received_at: datetime | None
    source: str


def store_copies(session: Session, found: list[NewCopy]) -> int:
    """Insert the copies not stored yet, each with its ``message.delivered`` event,
    a few statements for all; a stored copy found elsewhere in its mailbox gets its
    new location (see ``save_copy``). Returns how many copies were new."""
    if not found:
        return 0
    existing = {
        (row.message_sha256, row.mailbox): row
        for row in session.scalars(
            select(m.Copy).where(
                m.Copy.message_sha256.in_(sorted({c.sha256 for c in found}))
            )
        )
    }
    now = utcnow()
    copies, events = [], []
    added: set[tuple[str, str]] = set()
    for copy in found:
        key = (copy.sha256, copy.mailbox)
        if key in added:
            continue  # a second file of it in this batch: the caller chose one
        if key in existing:
            save_copy(
                session,
                copy.sha256,
                copy.mailbox,
                copy.location,
                copy.locator,
                copy.received_at,
            )
            continue
        added.add(key)
        copies.append(
            {
                "message_sha256": copy.sha256,
                "mailbox": copy.mailbox,
                "location": copy.location,
                "original_location": copy.location,
                "locator": copy.locator,
                "delivery_action": "delivered",
                "received_at": copy.received_at or now,
                "updated_at": now,
            }
        )
        events.append(
            {
                "type": "message.delivered",
                "source": "ingest",
                "occurred_at": now,
                "entities": {
                    "items": [
                        [EntityType.MESSAGE.value, copy.sha256],
                        [EntityType.MAILBOX.value, copy.mailbox],
                    ]
                },
                "payload": {
                    "mailbox": copy.mailbox,
                    "location": copy.location,
                    "source": copy.source,
                },
                "processed_at": now,  # a fact no policy alerts on
            }
        )
    if copies:
        session.execute(insert(m.Copy), copies)
        session.execute(insert(m.EventRecord), events)
    return len(copies)


def content_key(facts: MessageFacts) -> str:
    """A digest of what a message says and who it claims to be from: From address,
    subject, the words of its text and of its HTML, its links, its files, and what
    the receiving hop found of its authentication.

    A reporting client may re-encode the message it forwards (other line breaks, other
    transfer encoding, other header folding); the content key survives that, where the
    byte hash does not. A spoof that copies a real message's text part but says
    something else in its HTML, or failed authentication where the real one passed,
    has a key of its own.
    """
    text = " ".join(facts.text_body.split())[:20_000]
    html = " ".join(visible_text(facts.html_body, 200_000).split())[:20_000]
    checks = facts.authentication_results[:1]
    outcome = " ".join(
        sorted(
            f"{r.method.lower()}={r.result.lower()}" for h in checks for r in h.results
        )
    )
    parts = [
        facts.from_.address if facts.from_ else "",
        " ".join(facts.subject.split()),
        text,
        html,
        "\n".join(sorted({u.url for u in facts.urls})),
        "\n".join(sorted({a.sha256 for a in facts.attachments})),
        outcome,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def same_message(session: Session, sha256: str) -> list[str]:
    """The sha256 of every stored message that is this one: the same bytes, or the same
    Message-ID with the same content key (see ``content_key``).

    A Message-ID alone is not enough: senders reuse them and an attacker can copy
    one, and so can the From address. A phish that copies a newsletter's Message-ID
    and From still differs in its text or links, so it never pulls the newsletter's
    copies into a remediation.
    """
    row = session.get(m.Message, sha256)
    if row is None or not row.message_id or not row.content_key:
        return [sha256]
    query = select(m.Message.sha256).where(
        m.Message.message_id == row.message_id,
        m.Message.content_key == row.content_key,
    )
    return sorted(set(session.scalars(query)) | {sha256})


def copies_of(session: Session, sha256: str) -> list[m.Copy]:
    """Every copy of the message (see ``same_message``) in every mailbox."""
    same = same_message(session, sha256)
    query = (
        select(m.Copy)
        .where(m.Copy.message_sha256.in_(same))
        .order_by(m.Copy.mailbox, m.Copy.id)
    )
    return list(session.scalars(query))


def save_event(session: Session, event: Event) -> m.EventRecord:
    row = m.EventRecord(
        type=event.type,
        source=event.source,
        occurred_at=event.occurred_at,
        entities={"items": [[e.type.value, e.value] for e in event.entities]},
        payload=event.payload,
    )
    session.add(row)
    session.flush()
    return row


def add_entity(
    session: Session,
    investigation_id: int,
    entity: EntityRef,
    role: str = "related",
    parent: EntityRef | None = None,
) -> m.InvestigationEntity:
    key = row_key(entity.type.value, entity.value)
    row = session.scalar(
        select(m.InvestigationEntity).where(
            m.InvestigationEntity.investigation_id == investigation_id,
            m.InvestigationEntity.key == key,
        )
    )
    if row is None:
        row = m.InvestigationEntity(
            investigation_id=investigation_id,
            key=key,
            type=entity.type.value,
            value=entity.value,
            role=role,
            parent=str(parent) if parent else "",
        )
        session.add(row)
        session.flush()
    elif ROLE_RANK.get(role, 0) > ROLE_RANK.get(row.role, 0):
        row.role = role
    return row


# Which role an entity keeps when several steps record it: a mailbox found in the To
# header ("related") that also holds a copy is a "recipient"; the reporter's mailbox
# stays "reporter".
ROLE_RANK = {"related": 0, "recipient": 1, "reporter": 2, "investigated": 3}


def add_entities(
    session: Session,
    investigation_id: int,
    found: Iterable[tuple[EntityRef, EntityRef]],
    role: str = "related",
) -> int:
    """Record entities (each with the entity it was found in) not recorded before."""
    existing = set(
        session.scalars(
            select(m.InvestigationEntity.key).where(
                m.InvestigationEntity.investigation_id == investigation_id
            )
        )
    )
    added = 0
    for entity, parent in found:
        key = row_key(entity.type.value, entity.value)
        if key in existing:
            continue
        existing.add(key)
        session.add(
            m.InvestigationEntity(
                investigation_id=investigation_id,
                key=key,
                type=entity.type.value,
                value=entity.value,
                role=role,
                parent=str(parent),
            )
        )
        added += 1
    session.flush()
    return added


def add_findings(
    session: Session, investigation_id: int, findings: Iterable[Finding]
) -> int:
    """Record findings not recorded before; returns how many were new."""
    existing = set(
        session.scalars(
            select(m.FindingRecord.key).where(
                m.FindingRecord.investigation_id == investigation_id
            )
        )
    )
    added = 0
    for finding in findings:
        key = row_key(
            finding.analyzer,
            finding.entity.type.value,
            finding.entity.value,
            finding.code,
        )
        if key in existing:
            continue
        existing.add(key)
        session.add(
            m.FindingRecord(
                investigation_id=investigation_id,
                key=key,
                analyzer=finding.analyzer,
                entity_type=finding.entity.type.value,
                entity_value=finding.entity.value,
                code=finding.code,
                severity=finding.severity.value,
                summary=finding.summary,
                details=_jsonable(finding.details),
            )
        )
        added += 1
    session.flush()
    return added


def add_warning(
    session: Session,
    investigation_id: int,
    source: str,
    code: str,
    location: str,
    message: str,
) -> None:
    key = row_key(source, code, location)
    exists = session.scalar(
        select(m.WarningRecord.id).where(
            m.WarningRecord.investigation_id == investigation_id,
            m.WarningRecord.key == key,
        )
    )
    if exists is None:
        session.add(
            m.WarningRecord(
                investigation_id=investigation_id,
                key=key,
                source=source,
                code=code,
                location=location,
                message=message,
            )
        )
        session.flush()


def new_investigation(
    session: Session,
    name: str,
    playbook: str,
    step: str,
    summary: str,
    *,
    started_by: Principal | None = None,
) -> m.Investigation:
    """A queued investigation, its first log entry saying how it began, and its
    audit record: who started it (a person) or which alert did."""
    row = m.Investigation(
        name=name,
        playbook=playbook,
        status="queued",
        started_by=started_by.name if started_by is not None else "",
    )
    session.add(row)
    session.flush()
    add_log(session, row.id, step, "completed", summary)
    trail.append(
        session,
        started_by or SYSTEM,
        "investigation.started",
        "investigation",
        row.id,
        investigation_id=row.id,
        detail={"playbook": playbook, "name": name[:500]},
    )
    return row


def add_log(
    session: Session,
    investigation_id: int,
    step: str,
    status: str,
    summary: str,
    *,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    findings_count: int = 0,
) -> m.LogEntry:
    now = utcnow()
    row = m.LogEntry(
        investigation_id=investigation_id,
        step=step,
        status=status,
        summary=summary,
        started_at=started_at or now,
        ended_at=ended_at or now,
        findings_count=findings_count,
    )
    session.add(row)
    session.flush()
    return row


def propose_action(
    session: Session,
    investigation_id: int,
    type_: str,
    target_type: str,
    target: str,
    *,
    reason: str,
    params: dict[str, Any],
    expires_at: datetime,
    proposed_by: Principal | None = None,
) -> tuple[m.Action, bool]:
    """The action of this type on this target in the investigation; True when new.
    A new action's proposal lands in the audit trail: a person's, or the
    playbook's (the system)."""
    key = row_key(type_, target)
    row = session.scalar(
        select(m.Action).where(
            m.Action.investigation_id == investigation_id, m.Action.key == key
        )
    )
    if row is not None:
        return row, False
    row = m.Action(
        investigation_id=investigation_id,
        key=key,
        type=type_,
        target_type=target_type,
        target=target,
        reason=reason,
        params=params,
        expires_at=expires_at,
        proposed_by=proposed_by.name if proposed_by is not None else "",
    )
    session.add(row)
    session.flush()
    trail.append(
        session,
        proposed_by or SYSTEM,
        "action.proposed",
        "action",
        row.id,
        investigation_id=investigation_id,
        detail={
            "type": type_,
            "target": target[:500],
            "copies": len(params.get("copies", [])),
            "reason": reason[:1000],
        },
    )
    return row, True


def standing_action(
    session: Session, type_: str, target: str, *, besides: int
) -> m.Action | None:
    """An action of this type on this target in another investigation that still
    stands: waiting for a decision, approved, running or done (and not undone)."""
    return session.scalar(
        select(m.Action)
        .where(
            m.Action.key == row_key(type_, target),
            m.Action.investigation_id != besides,
            m.Action.status.in_(("pending", "approved", "running", "completed")),
        )
        .order_by(m.Action.id)
        .limit(1)
    )


def list_entries(session: Session) -> list[m.ListEntryRecord]:
    return list(
        session.scalars(select(m.ListEntryRecord).order_by(m.ListEntryRecord.id))
    )


def add_list_entry(
    session: Session, list_: str, kind: str, value: str, source: str
) -> m.ListEntryRecord:
    key = row_key(list_, kind, value)
    row = session.scalar(select(m.ListEntryRecord).where(m.ListEntryRecord.key == key))
    if row is None:
        row = m.ListEntryRecord(
            key=key, list=list_, kind=kind, value=value, source=source
        )
        session.add(row)
        session.flush()
    return row


def remove_list_entry(session: Session, list_: str, kind: str, value: str) -> bool:
    key = row_key(list_, kind, value)
    row = session.scalar(select(m.ListEntryRecord).where(m.ListEntryRecord.key == key))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
