"""Database tables (SQLAlchemy 2). Migrations in ``heron/store/migrations`` follow these."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def row_key(*parts: str) -> str:
    """A short stable key for a row's natural identity, which may be too long to index
    (urls run to thousands of characters)."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back as aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` with what no database text can hold replaced by U+FFFD: NUL, which
    PostgreSQL refuses, and lone surrogates (from UTF-7 and other broken mail
    encodings), which are not UTF-8. The raw bytes stay intact in the blob store."""
    return _UNSTORABLE.sub("\ufffd", value)


def _without_nul(value: Any) -> Any:
    """Every string inside ``value`` made storable (see ``storable``)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


class SafeString(TypeDecorator[str]):
    """A VARCHAR that never stores a NUL character or a lone surrogate."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return storable(value) if value else value


class SafeText(TypeDecorator[str]):
    """A TEXT that never stores a NUL character or a lone surrogate."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return storable(value) if value else value


class SafeJSON(TypeDecorator[Any]):
    """JSON whose strings never hold a NUL character or a lone surrogate."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return _without_nul(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: SafeJSON()}


class Message(Base):
    """One message, identified by the sha256 of its raw bytes (kept in the blob store)."""

    __tablename__ = "messages"

    sha256: Mapped[str] = mapped_column(SafeString(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(SafeString(998), index=True, default="")
    subject: Mapped[str] = mapped_column(SafeText, default="")
    from_address: Mapped[str] = mapped_column(SafeString(320), index=True, default="")
    from_domain: Mapped[str] = mapped_column(SafeString(255), index=True, default="")
    envelope_sender: Mapped[str] = mapped_column(SafeString(320), default="")
    content_key: Mapped[str] = mapped_column(SafeString(64), index=True, default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    format: Mapped[str] = mapped_column(SafeString(8), default="eml")
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The message index: what the explorer and clusters search by (see
    # ``repository.index_message``); ``index_version`` below INDEX_VERSION means the
    # row predates a fact the index now keeps, and ``heron reindex`` fills it.
    from_org: Mapped[str] = mapped_column(SafeString(255), index=True, default="")
    sending_ip: Mapped[str] = mapped_column(SafeString(45), index=True, default="")
    subject_key: Mapped[str] = mapped_column(SafeString(255), index=True, default="")
    fingerprint: Mapped[str] = mapped_column(SafeString(512), default="")
    verdict: Mapped[str] = mapped_column(SafeString(16), index=True, default="unknown")
    threats: Mapped[list[Any]] = mapped_column(SafeJSON(), default=list)
    verdict_source: Mapped[str] = mapped_column(SafeText, default="")
    index_version: Mapped[int] = mapped_column(Integer, default=0)
    # When retention purged the raw bytes; the facts and the index stay.
    raw_purged_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


# The facts the message index keeps; a stored message with a lower number lacks some.
INDEX_VERSION = 1


class MessageDomain(Base):
    """An organisational domain a message links to: what "newly seen" is judged by."""

    __tablename__ = "message_domains"
    __table_args__ = (
        UniqueConstraint("message_sha256", "domain", name="uq_message_domain"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    domain: Mapped[str] = mapped_column(SafeString(255), index=True)


class MessageUrl(Base):
    """A url a message carries (after unwrapping), keyed by a digest of its text."""

    __tablename__ = "message_urls"
    __table_args__ = (
        UniqueConstraint("message_sha256", "url_key", name="uq_message_url"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    url_key: Mapped[str] = mapped_column(SafeString(40), index=True)
    url: Mapped[str] = mapped_column(SafeText)
    host: Mapped[str] = mapped_column(SafeString(255), index=True, default="")


class MessageFile(Base):
    """A file a message carries (attachments and what archives hold)."""

    __tablename__ = "message_files"
    __table_args__ = (
        UniqueConstraint("message_sha256", "sha256", name="uq_message_file"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    sha256: Mapped[str] = mapped_column(SafeString(64), index=True)
    name: Mapped[str] = mapped_column(SafeText, default="")


class MessageBand(Base):
    """One band of a message's body fingerprint: near duplicates share one."""

    __tablename__ = "message_bands"
    __table_args__ = (UniqueConstraint("message_sha256", "band", name="uq_band"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    band: Mapped[int] = mapped_column(BigInteger, index=True)


class Mailbox(Base):
    """A mailbox heron knows, with the connector that reaches it."""

    __tablename__ = "mailboxes"

    address: Mapped[str] = mapped_column(SafeString(320), primary_key=True)
    connector: Mapped[str] = mapped_column(SafeString(32), default="maildir")
    locator: Mapped[str] = mapped_column(SafeText, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Copy(Base):
    """A message in one recipient's mailbox, with its latest location."""

    __tablename__ = "copies"
    __table_args__ = (UniqueConstraint("message_sha256", "mailbox", name="uq_copy"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    mailbox: Mapped[str] = mapped_column(ForeignKey("mailboxes.address"), index=True)
    location: Mapped[str] = mapped_column(SafeString(16), default="inbox")
    original_location: Mapped[str] = mapped_column(SafeString(16), default="inbox")
    locator: Mapped[str] = mapped_column(SafeText, default="")
    delivery_action: Mapped[str] = mapped_column(SafeString(32), default="delivered")
    received_at: Mapped[datetime] = mapped_column(index=True, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(Base):
    """Copies found together for an investigation, with the query that found them.

    ``kind`` is similarity (what the investigated message looks like) or indicator
    (what it carries that was judged malicious); ``key`` says which fact (sender
    domain, sending ip, subject, body, url, file, message) and ``value`` its value.
    ``query`` is the explorer query, so that the cluster can be run again.
    """

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("investigation_id", "ident", name="uq_cluster"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ident: Mapped[str] = mapped_column(SafeString(40))
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    source_message: Mapped[str] = mapped_column(SafeString(64), default="")
    kind: Mapped[str] = mapped_column(SafeString(16))
    key: Mapped[str] = mapped_column(SafeString(32))
    value: Mapped[str] = mapped_column(SafeText)
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    window_start: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    copies: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    malicious_copies: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    verdict: Mapped[str] = mapped_column(SafeString(16), default="unknown")
    reason: Mapped[str] = mapped_column(SafeText, default="")
    truncated: Mapped[bool] = mapped_column(default=False)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queried_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterMember(Base):
    """A copy in a cluster, as of the cluster's last run."""

    __tablename__ = "cluster_members"
    __table_args__ = (
        UniqueConstraint("cluster_id", "copy_id", name="uq_cluster_member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), index=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("copies.id"), index=True)
    message_sha256: Mapped[str] = mapped_column(SafeString(64), index=True)


class EventRecord(Base):
    """A fact from a source, kept as it arrived."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(SafeString(64), index=True)
    source: Mapped[str] = mapped_column(SafeString(255), index=True, default="")
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    entities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class Investigation(Base):
    """The case: alerts, entities, findings, log, actions and status."""

    __tablename__ = "investigations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(SafeText, default="")
    playbook: Mapped[str] = mapped_column(SafeString(64))
    status: Mapped[str] = mapped_column(SafeString(32), index=True, default="queued")
    verdict: Mapped[str] = mapped_column(SafeString(16), default="unknown")
    reasons: Mapped[list[Any]] = mapped_column(SafeJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    # Who started it: a person's name for a manual investigation, else "" (an alert).
    started_by: Mapped[str] = mapped_column(SafeString(255), default="")
    # When retention deleted what it held; the row stays, so its id is never reused.
    purged_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class Alert(Base):
    """One firing of an alert policy."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(SafeString(255))
    name: Mapped[str] = mapped_column(SafeText)
    severity: Mapped[str] = mapped_column(SafeString(16))
    category: Mapped[str] = mapped_column(SafeString(64))
    entities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    investigation_id: Mapped[int | None] = mapped_column(
        ForeignKey("investigations.id"), index=True, nullable=True
    )
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvestigationEntity(Base):
    """An entity an investigation looks at, with its current verdict."""

    __tablename__ = "investigation_entities"
    __table_args__ = (
        UniqueConstraint("investigation_id", "key", name="uq_inv_entity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(SafeString(40))
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    type: Mapped[str] = mapped_column(SafeString(16))
    value: Mapped[str] = mapped_column(SafeText)
    role: Mapped[str] = mapped_column(SafeString(32), default="related")
    parent: Mapped[str] = mapped_column(SafeText, default="")
    verdict: Mapped[str] = mapped_column(SafeString(16), default="unknown")
    reasons: Mapped[list[Any]] = mapped_column(SafeJSON(), default=list)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class FindingRecord(Base):
    """One piece of evidence recorded in an investigation."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("investigation_id", "key", name="uq_finding"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(SafeString(40))
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    analyzer: Mapped[str] = mapped_column(SafeString(64))
    entity_type: Mapped[str] = mapped_column(SafeString(16))
    entity_value: Mapped[str] = mapped_column(SafeText)
    code: Mapped[str] = mapped_column(SafeString(64))
    severity: Mapped[str] = mapped_column(SafeString(16))
    summary: Mapped[str] = mapped_column(SafeText)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogEntry(Base):
    """One step an investigation took, with start, end and outcome."""

    __tablename__ = "investigation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    step: Mapped[str] = mapped_column(SafeString(128))
    status: Mapped[str] = mapped_column(SafeString(32))
    summary: Mapped[str] = mapped_column(SafeText, default="")
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class WarningRecord(Base):
    """A defect met while investigating: where it came from and what it was."""

    __tablename__ = "warnings"
    __table_args__ = (UniqueConstraint("investigation_id", "key", name="uq_warning"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(SafeString(40))
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    source: Mapped[str] = mapped_column(SafeString(255))
    code: Mapped[str] = mapped_column(SafeString(64))
    location: Mapped[str] = mapped_column(SafeText, default="")
    message: Mapped[str] = mapped_column(SafeText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A user's report of a message."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(
        ForeignKey("messages.sha256"), index=True
    )
    reporter: Mapped[str] = mapped_column(SafeString(320))
    kind: Mapped[str] = mapped_column(SafeString(16), default="none")
    source: Mapped[str] = mapped_column(SafeText, default="")
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Action(Base):
    """A proposed remediation and its whole life: decision, execution and undo."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("investigation_id", "key", name="uq_action_target"),
        Index("ix_actions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(SafeString(40))
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("investigations.id"), index=True
    )
    type: Mapped[str] = mapped_column(SafeString(32))
    target_type: Mapped[str] = mapped_column(SafeString(16))
    target: Mapped[str] = mapped_column(SafeText)
    status: Mapped[str] = mapped_column(SafeString(16), default="pending")
    reason: Mapped[str] = mapped_column(SafeText, default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A person who proposed it, or "" when the playbook did.
    proposed_by: Mapped[str] = mapped_column(SafeString(255), default="")
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    decided_by: Mapped[str] = mapped_column(SafeString(255), default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    decision_comment: Mapped[str] = mapped_column(SafeText, default="")
    executed_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undone_by: Mapped[str] = mapped_column(SafeString(255), default="")
    undone_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    # Who is executing the action now ("host:pid:token") and when it last wrote an
    # outcome: a second run is refused while that run is alive.
    run_by: Mapped[str] = mapped_column(SafeString(255), default="")
    run_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class ListEntryRecord(Base):
    """One entry of the organisation's allow or block list."""

    __tablename__ = "org_list"
    __table_args__ = (UniqueConstraint("key", name="uq_list_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(SafeString(40))
    list: Mapped[str] = mapped_column(SafeString(8))
    kind: Mapped[str] = mapped_column(SafeString(16))
    value: Mapped[str] = mapped_column(SafeText)
    source: Mapped[str] = mapped_column(SafeText, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncState(Base):
    """How far an incremental ingest has read one mailbox through one connector
    (for IMAP: the UIDVALIDITY and last UID of each folder)."""

    __tablename__ = "sync_state"

    connector: Mapped[str] = mapped_column(SafeString(32), primary_key=True)
    mailbox: Mapped[str] = mapped_column(SafeString(320), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxSetting(Base):
    """A forwarding rule or a delegation a scan saw on a mailbox. ``present`` is
    False once a later scan no longer finds it."""

    __tablename__ = "mailbox_settings"
    __table_args__ = (
        UniqueConstraint("mailbox", "kind", "ident", name="uq_mailbox_setting"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(SafeString(320), index=True)
    kind: Mapped[str] = mapped_column(SafeString(16))
    ident: Mapped[str] = mapped_column(SafeText)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    present: Mapped[bool] = mapped_column(default=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who uses heron, with one role and, apart, the purge permission."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(SafeString(64), unique=True)
    role: Mapped[str] = mapped_column(SafeString(16))
    purge: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(SafeString(255), default="")
    disabled_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class ApiToken(Base):
    """An API token of a user, kept only as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)


class AuditTrailRecord(Base):
    """One decision or change, hash-chained to the record before it. ``body`` is
    the record as canonical JSON; ``hash`` is SHA-256 over the previous hash and
    the body, so a changed, inserted or deleted record breaks the chain."""

    __tablename__ = "audit_trail"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(SafeString(255))
    verb: Mapped[str] = mapped_column(SafeString(64), index=True)
    object_type: Mapped[str] = mapped_column(SafeString(32))
    object_id: Mapped[str] = mapped_column(SafeString(255), default="")
    investigation_id: Mapped[int | None] = mapped_column(
        Integer, default=None, nullable=True, index=True
    )
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditTrailHead(Base):
    """The chain's last sequence number and hash (one row). Appending updates it
    first, which serialises writers."""

    __tablename__ = "audit_trail_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


class AutomationRule(Base):
    """An action type an admin let automation approve, under limits."""

    __tablename__ = "automation_rules"

    action_type: Mapped[str] = mapped_column(SafeString(32), primary_key=True)
    level: Mapped[str] = mapped_column(SafeString(16), default="off")
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(SafeString(255), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityRecord(Base):
    """One record of the activity feed: an investigation's state when its status or
    one of its actions changed, in the Management Activity API's shape. ``blob_id``
    is set when the record is sealed into a content blob."""

    __tablename__ = "activity_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    investigation_id: Mapped[int] = mapped_column(Integer, index=True)
    record_type: Mapped[int] = mapped_column(Integer)
    signature: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blob_id: Mapped[int | None] = mapped_column(
        ForeignKey("activity_blobs.id"), default=None, nullable=True, index=True
    )


class ActivityBlob(Base):
    """A sealed content blob of the activity feed: records that never change."""

    __tablename__ = "activity_blobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(SafeString(32), default="Audit.General")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    records: Mapped[int] = mapped_column(Integer, default=0)


class ActivitySubscription(Base):
    """A subscription to a content type of the activity feed."""

    __tablename__ = "activity_subscriptions"

    content_type: Mapped[str] = mapped_column(SafeString(32), primary_key=True)
    status: Mapped[str] = mapped_column(SafeString(16), default="enabled")
    webhook: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(SafeString(255), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """A scheduled job: its last run, its outcome, and who runs it now."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(SafeString(32), primary_key=True)
    runner: Mapped[str] = mapped_column(SafeString(255), default="")
    started_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
    outcome: Mapped[str] = mapped_column(SafeString(16), default="")
    detail: Mapped[str] = mapped_column(SafeText, default="")
    runs: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """A notification to deliver (webhook or email), kept until it is sent or has
    failed every attempt. ``key`` makes each one once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(SafeString(16))
    target: Mapped[str] = mapped_column(SafeText)
    event: Mapped[str] = mapped_column(SafeString(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(SafeString(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(SafeText, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None, nullable=True)
