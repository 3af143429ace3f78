"""The connector contract: one interface for every mail system heron acts on.

A connector lists its mailboxes, reads new mail, finds copies of a message, moves,
soft deletes, hard deletes and restores them, reads and turns off forwarding, reads
and removes delegations, and blocks senders. Each connector states the operations it
supports in ``operations``; the engine proposes only actions a target's connector
can carry out, and an operation a connector lacks raises ``Unsupported``.

Every operation is idempotent: asked twice, the second call finds the work done and
reports ``already in destination`` (or ``not found``) instead of changing anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from heron.domain.verdicts import Location
from heron.errors import ConnectorError


class Operation(StrEnum):
    """What a connector may be able to do."""

    LIST_MAILBOXES = "list mailboxes"
    INGEST = "ingest new mail"
    FIND = "find copies"
    MOVE = "move copies"
    SOFT_DELETE = "soft delete"
    HARD_DELETE = "hard delete"
    RESTORE = "restore"
    READ_FORWARDING = "read forwarding"
    DISABLE_FORWARDING = "turn off forwarding"
    READ_DELEGATIONS = "read delegations"
    REMOVE_DELEGATION = "remove delegation"
    BLOCK_SENDER = "block sender"
    AUDIT = "read audit records"


class OutcomeStatus(StrEnum):
    """Result of one operation on one target."""

    DONE = "done"
    ALREADY_THERE = "already in destination"
    NOT_FOUND = "not found"
    FAILED = "failed"
    # The copy left the mailbox before the action ran (the user deleted it, or the
    # mail system moved it): counted as remediated, and left alone by undo.
    GONE = "already gone"
    # A recommendation approved: a person carries it out; heron cannot check it.
    BY_PERSON = "left to a person"


class Unsupported(ConnectorError):
    """The connector cannot carry out this operation."""


@dataclass(frozen=True)
class CopyRef:
    """Where one copy lives: mailbox, connector-specific locator and its location."""

    mailbox: str
    locator: str
    location: Location


@dataclass(frozen=True)
class Outcome:
    """What one operation on one target did, and where a copy is afterwards."""

    status: OutcomeStatus
    copy: CopyRef | None = None
    detail: str = ""
    # Where a moved copy was found before the move: undo puts it back there.
    origin: CopyRef | None = None


@dataclass(frozen=True)
class FetchedMail:
    """One message read from a mailbox by an incremental ingest."""

    mailbox: str
    folder: str
    location: Location
    locator: str
    raw: bytes
    error: str = ""


@dataclass(frozen=True)
class ForwardRule:
    """A rule that sends a mailbox's mail to other addresses.

    ``ident`` names the rule stably across scans (script and position, or the mail
    system's rule id); ``external`` lists the targets outside the organisation."""

    mailbox: str
    ident: str
    kind: str  # redirect, forward, mailbox-forwarding
    targets: tuple[str, ...]
    external: tuple[str, ...]
    enabled: bool = True
    keeps_copy: bool = False
    description: str = ""


@dataclass(frozen=True)
class Delegation:
    """Rights on a mailbox folder granted to someone other than its owner."""

    mailbox: str
    folder: str
    grantee: str
    rights: str

    @property
    def ident(self) -> str:
        return f"{self.folder}\x1f{self.grantee}"


class Connector:
    """A mail system heron can act on. Subclasses implement what they support and
    list it in ``operations``; everything else raises ``Unsupported``."""

    name: str = ""
    kind: str = ""
    operations: frozenset[Operation] = frozenset()

    def supports(self, operation: Operation) -> bool:
        return operation in self.operations

    def _unsupported(self, operation: Operation) -> Unsupported:
        return Unsupported(
            f"the {self.kind or 'unknown'} connector {self.name!r} cannot "
            f"{operation.value}"
        )

    def close(self) -> None:
        """Release connections; the connector can be used again afterwards."""

    def list_mailboxes(self) -> list[str]:
        """Every mailbox this connector reaches."""
        raise self._unsupported(Operation.LIST_MAILBOXES)

    def fetch_new(
        self, mailbox: str, state: dict[str, Any]
    ) -> Iterator[tuple[FetchedMail | None, dict[str, Any]]]:
        """Mail that arrived in ``mailbox`` since ``state``, each with the state to
        keep once it is stored (``None`` mail: only the state moved on)."""
        raise self._unsupported(Operation.INGEST)

    def find(self, mailbox: str, sha256: str, message_id: str = "") -> list[CopyRef]:
        """Every copy of the message with this content hash in ``mailbox``."""
        raise self._unsupported(Operation.FIND)

    def move(
        self,
        copy: CopyRef,
        destination: Location,
        sha256: str,
        message_id: str = "",
        origin: str = "",
    ) -> Outcome:
        """Move one copy to ``destination``. Moving a copy that is already there
        reports ``already in destination`` and changes nothing. ``origin`` is the
        copy's locator before an earlier move: a restore puts the copy back in
        that very folder when the connector can tell it, and it still stands for
        ``destination``."""
        raise self._unsupported(Operation.MOVE)

    def purge(self, copy: CopyRef, sha256: str, message_id: str = "") -> Outcome:
        """Delete one copy for good. Cannot be undone."""
        raise self._unsupported(Operation.HARD_DELETE)

    def forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> list[ForwardRule]:
        """The mailbox's rules that send mail to other addresses."""
        raise self._unsupported(Operation.READ_FORWARDING)

    def save_forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> dict[str, Any]:
        """What ``restore_forwarding`` needs to put back, as it is now, what turning
        forwarding off would change; the action keeps it before it changes anything."""
        raise self._unsupported(Operation.DISABLE_FORWARDING)

    def disable_forwarding(self, mailbox: str, org_domains: frozenset[str]) -> Outcome:
        """Turn off every rule sending the mailbox's mail outside the organisation."""
        raise self._unsupported(Operation.DISABLE_FORWARDING)

    def restore_forwarding(self, mailbox: str, saved: dict[str, Any]) -> Outcome:
        raise self._unsupported(Operation.DISABLE_FORWARDING)

    def delegations(self, mailbox: str) -> list[Delegation]:
        """Rights other users hold on the mailbox's folders."""
        raise self._unsupported(Operation.READ_DELEGATIONS)

    def remove_delegation(self, delegation: Delegation) -> Outcome:
        raise self._unsupported(Operation.REMOVE_DELEGATION)

    def restore_delegation(self, delegation: Delegation) -> Outcome:
        raise self._unsupported(Operation.REMOVE_DELEGATION)

    def block(self, kind: str, value: str, reason: str) -> Outcome:
        """Refuse mail from a sender (``kind`` sender) or a domain (``domain``)."""
        raise self._unsupported(Operation.BLOCK_SENDER)

    def unblock(self, kind: str, value: str) -> Outcome:
        raise self._unsupported(Operation.BLOCK_SENDER)

    def fetch_audit(
        self, state: dict[str, Any]
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Audit content published since ``state``: each blob's name, its JSON text,
        and the state to keep once it is stored."""
        raise self._unsupported(Operation.AUDIT)
