"""Searching the organisation's delivered mail: the explorer behind ``heron explore``
and the query every cluster is.

One query over every delivered copy (a message in one mailbox) with the facts the
message index keeps for it: sender (From or envelope), sender domain, recipient
mailbox, subject, whole urls and link domains, file hashes, sending ip, verdict,
location and time received; and, for clusters, the subject key, a body fingerprint
(near duplicates) and a list of messages. Every filter given must match; counts are
per copy (one message to three people is three), with a tally per latest location.

A query is plain data (``to_dict`` and ``from_dict``) so that a cluster can store it
and run it again later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from heron.domain.names import organisational_domain
from heron.domain.urls import normalise_url
from heron.domain.verdicts import Location, Verdict
from heron.errors import QueryError
from heron.mail import fingerprint
from heron.store import models as m
from heron.store.models import row_key
from heron.store.repository import like_escaped

# Copies returned per query; the counts cover every match.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# Messages a body-fingerprint filter may match: past this many near duplicates the
# filter keeps the first ones found and says it was cut (``ExploreResult.truncated``).
MAX_NEAR_MESSAGES = 10_000
# Longest text a filter takes; a subject or address is shorter.
MAX_FILTER_TEXT = 1000
TEXT_FILTERS = (
    "sender",
    "sender_domain",
    "recipient",
    "subject_contains",
    "url",
    "url_domain",
    "file_hash",
    "sending_ip",
)


@dataclass(frozen=True)
class ExploreQuery:
    """Filters, all optional; text filters match without regard to case.

    ``sender`` matches the From address or the envelope sender; ``sender_domain`` the
    From domain and its subdomains; ``url`` a whole link after unwrapping and
    normalising; ``url_domain`` the organisational domain of a link.
    """

    sender: str = ""
    sender_domain: str = ""
    recipient: str = ""
    subject_contains: str = ""
    url: str = ""
    url_domain: str = ""
    file_hash: str = ""
    sending_ip: str = ""
    verdict: Verdict | None = None
    location: Location | None = None
    since: datetime | None = None
    until: datetime | None = None
    # What clusters search by, besides the filters above.
    subject_key: str = ""
    near_body: str = ""
    messages: tuple[str, ...] = ()
    exclude_mailboxes: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if not 0 < self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is None:
                continue
            try:
                utc = moment.astimezone(UTC) if moment.tzinfo else moment
            except OverflowError:
                utc = None
            if utc is None or not 1900 <= utc.year <= 9998:
                raise QueryError(f"{name} must lie between the years 1900 and 9998")
        for name in TEXT_FILTERS:
            if len(getattr(self, name)) > MAX_FILTER_TEXT:
                raise QueryError(f"{name} is longer than {MAX_FILTER_TEXT} characters")
        if self.sender_domain and not self.sender_domain.strip().strip("."):
            raise QueryError("sender_domain needs a domain name")

    def to_dict(self) -> dict[str, Any]:
        """The filters that are set, as JSON-ready values."""
        found: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if name == "limit" or value in ("", None, ()):
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Verdict | Location):
                value = value.value
            found[name] = value
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExploreQuery:
        """The query ``to_dict`` wrote; an unknown filter is a ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown explorer filter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("since", "until") and value is not None:
                value = datetime.fromisoformat(value)
            elif name == "verdict" and value is not None:
                value = Verdict(value)
            elif name == "location" and value is not None:
                value = Location(value)
            elif name in ("messages", "exclude_mailboxes"):
                value = tuple(value)
            values[name] = value
        return cls(**values)

    def describe(self) -> str:
        """The filters in one line, for logs and tables."""
        parts = []
        for name, value in self.to_dict().items():
            if name == "near_body":
                value = "(body fingerprint)"
            elif isinstance(value, list):
                value = f"{len(value)} value(s)"
            parts.append(f"{name}={value}")
        return ", ".join(parts) or "every copy"


@dataclass(frozen=True)
class ExploreResult:
    total: int
    by_location: dict[str, int]
    copies: list[dict[str, Any]] = field(default_factory=list)
    # True when a body-fingerprint filter met more near duplicates than it keeps.
    truncated: bool = False


@dataclass(frozen=True)
class Member:
    """One matching copy, as clusters keep it."""

    copy_id: int
    message: str
    mailbox: str
    location: str
    received_at: datetime
    verdict: str
    # Where the message's verdict came from: an investigation, or a cluster that
    # passed its verdict on ("cluster ...").
    verdict_source: str = ""

    @property
    def judged_malicious(self) -> bool:
        """Malicious by an analysis of its own, not by a cluster's say-so."""
        return self.verdict == Verdict.MALICIOUS.value and not (
            self.verdict_source.startswith("cluster ")
        )


def explore(session: Session, query: ExploreQuery) -> ExploreResult:
    """Every delivered copy matching ``query``, newest first, with counts."""
    conditions, truncated = conditions_for(session, query)
    by_location = location_counts(session, conditions)
    rows = session.execute(
        select(m.Copy, m.Message)
        .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
        .where(*conditions)
        .order_by(m.Copy.received_at.desc(), m.Copy.id.desc())
        .limit(query.limit)
    ).all()
    return ExploreResult(
        total=sum(by_location.values()),
        by_location=by_location,
        copies=[_view(copy, message) for copy, message in rows],
        truncated=truncated,
    )


def location_counts(session: Session, conditions: list[Any]) -> dict[str, int]:
    counts = session.execute(
        select(m.Copy.location, func.count(m.Copy.id))
        .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
        .where(*conditions)
        .group_by(m.Copy.location)
    ).all()
    return dict(sorted(Counter({loc: n for loc, n in counts}).items()))


def members(
    session: Session, conditions: list[Any], cap: int
) -> tuple[list[Member], bool]:
    """The matching copies, oldest first, at most ``cap``; True when there are more."""
    rows = session.execute(
        select(
            m.Copy.id,
            m.Copy.message_sha256,
            m.Copy.mailbox,
            m.Copy.location,
            m.Copy.received_at,
            m.Message.verdict,
            m.Message.verdict_source,
        )
        .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
        .where(*conditions)
        .order_by(m.Copy.received_at, m.Copy.id)
        .limit(cap + 1)
    ).all()
    found = [Member(*row) for row in rows[:cap]]
    return found, len(rows) > cap


def count(session: Session, conditions: list[Any]) -> int:
    return (
        session.scalar(
            select(func.count(m.Copy.id))
            .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
            .where(*conditions)
        )
        or 0
    )


def conditions_for(session: Session, query: ExploreQuery) -> tuple[list[Any], bool]:
    """The query as SQL conditions over copies joined with messages; True when a
    body-fingerprint filter was cut at ``MAX_NEAR_MESSAGES``."""
    conditions: list[Any] = []
    truncated = False
    if query.sender:
        sender = query.sender.strip().lower()
        conditions.append(
            or_(m.Message.from_address == sender, m.Message.envelope_sender == sender)
        )
    if query.sender_domain:
        domain = query.sender_domain.strip().lower().rstrip(".")
        if organisational_domain(domain) == domain:
            # The domain with all its subdomains: one indexed column says it.
            conditions.append(m.Message.from_org == domain)
        else:
            conditions.append(
                or_(
                    m.Message.from_domain == domain,
                    m.Message.from_domain.like(
                        f"%.{like_escaped(domain)}", escape="\\"
                    ),
                )
            )
    if query.recipient:
        conditions.append(m.Copy.mailbox == query.recipient.strip().lower())
    if query.subject_contains:
        text = like_escaped(query.subject_contains.strip().lower())
        conditions.append(func.lower(m.Message.subject).like(f"%{text}%", escape="\\"))
    if query.subject_key:
        conditions.append(m.Message.subject_key == query.subject_key)
    if query.url:
        key = row_key(normalise_url(query.url))
        conditions.append(
            exists().where(
                and_(
                    m.MessageUrl.message_sha256 == m.Message.sha256,
                    m.MessageUrl.url_key == key,
                )
            )
        )
    if query.url_domain:
        domain = organisational_domain(query.url_domain.strip().lower())
        conditions.append(
            exists().where(
                and_(
                    m.MessageDomain.message_sha256 == m.Message.sha256,
                    m.MessageDomain.domain == domain,
                )
            )
        )
    if query.file_hash:
        conditions.append(
            exists().where(
                and_(
                    m.MessageFile.message_sha256 == m.Message.sha256,
                    m.MessageFile.sha256 == query.file_hash.strip().lower(),
                )
            )
        )
    if query.sending_ip:
        conditions.append(m.Message.sending_ip == query.sending_ip.strip().lower())
    if query.verdict is not None:
        conditions.append(m.Message.verdict == query.verdict.value)
    if query.messages:
        conditions.append(m.Copy.message_sha256.in_(sorted(set(query.messages))))
    if query.near_body:
        near, truncated = near_duplicates(session, query.near_body)
        conditions.append(m.Copy.message_sha256.in_(sorted(near)))
    if query.exclude_mailboxes:
        conditions.append(m.Copy.mailbox.not_in(sorted(set(query.exclude_mailboxes))))
    if query.location is not None:
        conditions.append(m.Copy.location == query.location.value)
    if query.since is not None:
        conditions.append(m.Copy.received_at >= query.since)
    if query.until is not None:
        conditions.append(m.Copy.received_at < query.until)
    return conditions, truncated


def near_duplicates(session: Session, encoded: str) -> tuple[set[str], bool]:
    """The messages whose body is a near duplicate of the fingerprinted one: those
    sharing a band, confirmed by their estimated similarity."""
    signature = fingerprint.decode(encoded)
    bands = fingerprint.bands(signature)
    if not bands:
        return set(), False
    candidates = session.execute(
        select(m.Message.sha256, m.Message.fingerprint)
        .where(
            m.Message.sha256.in_(
                select(m.MessageBand.message_sha256)
                .where(m.MessageBand.band.in_(bands))
                .distinct()
            )
        )
        .limit(4 * MAX_NEAR_MESSAGES)
    ).all()
    near = set()
    for sha256, other in candidates:
        similar = fingerprint.similarity(signature, fingerprint.decode(other))
        if similar >= fingerprint.NEAR_DUPLICATE:
            near.add(sha256)
            if len(near) >= MAX_NEAR_MESSAGES:
                return near, True
    return near, len(candidates) >= 4 * MAX_NEAR_MESSAGES


def stale_messages(session: Session) -> int:
    """Stored messages indexed before the index kept everything it keeps now."""
    return (
        session.scalar(
            select(func.count(m.Message.sha256)).where(
                m.Message.index_version < m.INDEX_VERSION
            )
        )
        or 0
    )


def _view(copy: m.Copy, message: m.Message) -> dict[str, Any]:
    return {
        "copy_id": copy.id,
        "mailbox": copy.mailbox,
        "location": copy.location,
        "original_location": copy.original_location,
        "delivery_action": copy.delivery_action,
        "received_at": copy.received_at.isoformat(),
        "message": message.sha256,
        "message_id": message.message_id,
        "from": message.from_address,
        "subject": message.subject,
        "sending_ip": message.sending_ip,
        "verdict": message.verdict,
        "threats": list(message.threats or []),
    }
