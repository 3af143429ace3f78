"""The connector contract: find and move copies of a message in real mailboxes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from heron.domain.verdicts import Location


class Operation(StrEnum):
    """What a connector may be able to do."""

    LIST_MAILBOXES = "list mailboxes"
    FIND = "find copies"
    MOVE = "move copies"
    SOFT_DELETE = "soft delete"
    RESTORE = "restore"


class OutcomeStatus(StrEnum):
    """Result of one operation on one target."""

    DONE = "done"
    ALREADY_THERE = "already in destination"
    NOT_FOUND = "not found"
    FAILED = "failed"
    # The copy left the mailbox before the action ran (the user deleted it, or the
    # mail system moved it): counted as remediated, and left alone by undo.
    GONE = "already gone"


@dataclass(frozen=True)
class CopyRef:
    """Where one copy lives: mailbox, connector-specific locator and its location."""

    mailbox: str
    locator: str
    location: Location


@dataclass(frozen=True)
class Outcome:
    """What one operation on one copy did, and where the copy is afterwards."""

    status: OutcomeStatus
    copy: CopyRef | None
    detail: str = ""


class Connector(ABC):
    """A mail system heron can act on."""

    name: str
    operations: frozenset[Operation]

    def supports(self, operation: Operation) -> bool:
        return operation in self.operations

    @abstractmethod
    def list_mailboxes(self) -> list[str]:
        """Every mailbox this connector reaches."""

    @abstractmethod
    def find(self, mailbox: str, sha256: str) -> list[CopyRef]:
        """Every copy of the message with this content hash in ``mailbox``."""

    @abstractmethod
    def move(self, copy: CopyRef, destination: Location, sha256: str) -> Outcome:
        """Move one copy to ``destination``. Moving a copy that is already there
        reports ``already in destination`` and changes nothing."""
