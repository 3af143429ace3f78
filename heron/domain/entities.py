"""Entities, findings and events: the values investigations are built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from heron.domain.verdicts import Severity, Verdict


class EntityType(StrEnum):
    """The kinds of thing an investigation looks at."""

    MESSAGE = "message"
    CLUSTER = "cluster"
    URL = "url"
    FILE = "file"
    IP = "ip"
    DOMAIN = "domain"
    SENDER = "sender"
    MAILBOX = "mailbox"


@dataclass(frozen=True, order=True)
class EntityRef:
    """One entity named by its type and its canonical value.

    Values: a message is its sha256, a file its sha256, a url the normalised url, a
    sender or mailbox an address in lower case, a domain in lower case.
    """

    type: EntityType
    value: str

    def __str__(self) -> str:
        return f"{self.type.value}:{self.value}"


@dataclass(frozen=True)
class Finding:
    """One piece of evidence: which analyzer, about which entity, what it saw, how bad.

    ``code`` is a stable short name of what was seen (``spf-fail``), so that a step
    that runs twice records the same finding once.
    """

    analyzer: str
    entity: EntityRef
    code: str
    severity: Severity
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A fact from a source. ``type`` is dotted: ``message.reported``."""

    type: str
    occurred_at: datetime
    source: str
    entities: tuple[EntityRef, ...]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EntityVerdict:
    """An entity's verdict with the findings behind it."""

    entity: EntityRef
    verdict: Verdict
    reasons: tuple[Finding, ...]
