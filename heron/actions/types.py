"""The action registry: each type's target, side effect, undo and approving role."""

from __future__ import annotations

from dataclasses import dataclass

from heron.domain.entities import EntityType
from heron.domain.verdicts import Location


@dataclass(frozen=True)
class ActionType:
    """One kind of remediation.

    ``destination`` is where copies go for the actions that move copies; ``undo``
    says what undoing does, or is empty when the action cannot be undone.
    """

    name: str
    target_type: EntityType
    description: str
    side_effect: str
    undo: str
    approver_role: str
    destination: Location | None = None


SOFT_DELETE = ActionType(
    name="soft_delete",
    target_type=EntityType.MESSAGE,
    description="Soft delete every copy of the message",
    side_effect="moves each copy to the mailbox's recoverable deleted folder",
    undo="moves each copy back to where it was",
    approver_role="approver",
    destination=Location.DELETED,
)
MOVE_TO_JUNK = ActionType(
    name="move_to_junk",
    target_type=EntityType.MESSAGE,
    description="Move every copy of the message to junk",
    side_effect="moves each copy to the mailbox's junk folder",
    undo="moves each copy back to where it was",
    approver_role="approver",
    destination=Location.JUNK,
)
HARD_DELETE = ActionType(
    name="hard_delete",
    target_type=EntityType.MESSAGE,
    description="Hard delete every copy of the message",
    side_effect="deletes each copy from its mailbox for good",
    undo="",
    approver_role="purge",
)
BLOCK_SENDER = ActionType(
    name="block_sender",
    target_type=EntityType.SENDER,
    description="Block the sender",
    side_effect="adds the sender to heron's block list, which later verdicts honour, "
    "and to the access map of every mail server connector that blocks senders",
    undo="removes the block list entry and the access map lines",
    approver_role="approver",
)
BLOCK_DOMAIN = ActionType(
    name="block_domain",
    target_type=EntityType.DOMAIN,
    description="Block the sender domain",
    side_effect="adds the domain to heron's block list and to the access map of "
    "every mail server connector that blocks senders: all its senders are refused",
    undo="removes the block list entry and the access map lines",
    approver_role="approver",
)
DISABLE_FORWARDING = ActionType(
    name="disable_forwarding",
    target_type=EntityType.MAILBOX,
    description="Turn off external forwarding",
    side_effect="turns off the mailbox's rules that forward or redirect mail outside "
    "the organisation, keeping the earlier rules",
    undo="puts the earlier rules back",
    approver_role="approver",
)
REMOVE_DELEGATION = ActionType(
    name="remove_delegation",
    target_type=EntityType.MAILBOX,
    description="Turn off delegation",
    side_effect="removes the rights another user holds on a folder of the mailbox",
    undo="grants the same rights again",
    approver_role="approver",
)

RESET_CREDENTIALS = ActionType(
    name="reset_credentials",
    target_type=EntityType.MAILBOX,
    description="Reset the user's credentials",
    side_effect="is carried out by a person (heron reaches no directory): new "
    "password, sessions revoked, MFA methods checked",
    undo="",
    approver_role="approver",
)

ACTION_TYPES: dict[str, ActionType] = {
    t.name: t
    for t in (
        SOFT_DELETE,
        MOVE_TO_JUNK,
        HARD_DELETE,
        BLOCK_SENDER,
        BLOCK_DOMAIN,
        DISABLE_FORWARDING,
        REMOVE_DELEGATION,
        RESET_CREDENTIALS,
    )
}
