"""Searching the organisation's delivered mail: the explorer behind ``heron explore``.

One query over every delivered copy (a message in one mailbox) with the facts the store
keeps for it: sender, sender domain, recipient mailbox, subject, link domains,
location and time received. Every filter given must match; counts are per copy (one
message to three people is three), with a tally per latest location.

Known limit: the index holds link domains but not yet whole urls, attachment hashes,
sending ips or verdicts per copy, so those filters are not offered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from heron.domain.names import organisational_domain
from heron.domain.verdicts import Location
from heron.store import models as m
from heron.store.repository import like_escaped

# Copies returned per query; the counts cover every match.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ExploreQuery:
    """Filters, all optional; text filters match without regard to case."""

    sender: str = ""
    sender_domain: str = ""
    recipient: str = ""
    subject_contains: str = ""
    url_domain: str = ""
    location: Location | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class ExploreResult:
    total: int
    by_location: dict[str, int]
    copies: list[dict[str, Any]] = field(default_factory=list)


def explore(session: Session, query: ExploreQuery) -> ExploreResult:
    """Every delivered copy matching ``query``, newest first, with counts."""
    if not 0 < query.limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    conditions = _conditions(query)
    joined = select(m.Copy, m.Message).join(
        m.Message, m.Message.sha256 == m.Copy.message_sha256
    )
    counts = session.execute(
        select(m.Copy.location, func.count(m.Copy.id))
        .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
        .where(*conditions)
        .group_by(m.Copy.location)
    ).all()
    by_location = Counter({location: count for location, count in counts})
    rows = session.execute(
        joined.where(*conditions)
        .order_by(m.Copy.received_at.desc(), m.Copy.id.desc())
        .limit(query.limit)
    ).all()
    return ExploreResult(
        total=sum(by_location.values()),
        by_location=dict(sorted(by_location.items())),
        copies=[_view(copy, message) for copy, message in rows],
    )


def _conditions(query: ExploreQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.sender:
        conditions.append(m.Message.from_address == query.sender.strip().lower())
    if query.sender_domain:
        domain = query.sender_domain.strip().lower().rstrip(".")
        conditions.append(
            or_(
                m.Message.from_domain == domain,
                m.Message.from_domain.like(f"%.{like_escaped(domain)}", escape="\\"),
            )
        )
    if query.recipient:
        conditions.append(m.Copy.mailbox == query.recipient.strip().lower())
    if query.subject_contains:
        text = like_escaped(query.subject_contains.strip().lower())
        conditions.append(func.lower(m.Message.subject).like(f"%{text}%", escape="\\"))
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
    if query.location is not None:
        conditions.append(m.Copy.location == query.location.value)
    if query.since is not None:
        conditions.append(m.Copy.received_at >= query.since)
    if query.until is not None:
        conditions.append(m.Copy.received_at < query.until)
    return conditions


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
    }
