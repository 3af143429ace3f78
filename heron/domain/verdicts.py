"""Verdicts, severities and the statuses of steps, investigations and actions."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """What heron concluded about an entity. ``unknown`` means it could not tell."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Order for "worst of": malicious > suspicious > clean > unknown."""
        return _VERDICT_RANK[self]

    @property
    def is_threat(self) -> bool:
        return self in (Verdict.MALICIOUS, Verdict.SUSPICIOUS)


_VERDICT_RANK = {
    Verdict.UNKNOWN: 0,
    Verdict.CLEAN: 1,
    Verdict.SUSPICIOUS: 2,
    Verdict.MALICIOUS: 3,
}


def worst(verdicts: list[Verdict] | tuple[Verdict, ...]) -> Verdict:
    """The most severe verdict of several; unknown when there are none."""
    return max(verdicts, key=lambda v: v.rank, default=Verdict.UNKNOWN)


class Severity(StrEnum):
    """How bad one finding is. ``informational`` records a check that saw nothing bad."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
}


class StepStatus(StrEnum):
    """Outcome of one playbook step, kept apart from any verdict."""

    RUNNING = "running"
    COMPLETED = "completed"
    NOTHING_FOUND = "nothing found"
    NOT_APPLICABLE = "not applicable"
    FAILED = "failed"


class InvestigationStatus(StrEnum):
    """Investigation states, with the meanings users know from Microsoft's AIR."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    NO_THREATS_FOUND = "no threats found"
    PARTIALLY_INVESTIGATED = "partially investigated"
    PENDING_ACTION = "pending action"
    PARTIALLY_REMEDIATED = "partially remediated"
    REMEDIATED = "remediated"
    FAILED = "failed"
    TERMINATED_BY_SYSTEM = "terminated by system"
    TERMINATED_BY_USER = "terminated by user"

    @property
    def is_open(self) -> bool:
        """Open investigations still accept alerts and still change."""
        return self in _OPEN


_OPEN = {
    InvestigationStatus.QUEUED,
    InvestigationStatus.STARTING,
    InvestigationStatus.RUNNING,
    InvestigationStatus.PENDING_ACTION,
    InvestigationStatus.PARTIALLY_INVESTIGATED,
    InvestigationStatus.PARTIALLY_REMEDIATED,
}


class ActionStatus(StrEnum):
    """Life of a proposed remediation."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    RUNNING = "running"
    COMPLETED = "completed"
    # Some targets done, some failed: running it again retries the failed ones.
    PARTIAL = "partial"
    FAILED = "failed"
    UNDONE = "undone"


class Location(StrEnum):
    """Where a copy of a message is now."""

    INBOX = "inbox"
    JUNK = "junk"
    DELETED = "deleted"
    QUARANTINE = "quarantine"
    GONE = "gone"
    EXTERNAL = "external"

    @property
    def in_mailbox(self) -> bool:
        """A copy the user can still open from the mailbox."""
        return self in (Location.INBOX, Location.JUNK)
