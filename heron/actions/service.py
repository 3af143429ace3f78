"""Deciding, executing, verifying and undoing actions.

The rule that never bends: ``execute`` runs only an action a person approved. Every
decision and every execution is written to the investigation's log with who, what,
which target and why. Execution is idempotent: each target records its outcome, a
copy already in its destination is reported as such, and an action interrupted while
running can be executed again without moving anything twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heron.actions.types import ACTION_TYPES, ActionType
from heron.connectors.base import Connector, CopyRef, OutcomeStatus
from heron.domain.verdicts import ActionStatus, Location
from heron.errors import ActionError, ApprovalRequired, NotFoundError
from heron.store import models as m
from heron.store import repository as repo
from heron.store.models import utcnow

log = logging.getLogger(__name__)

ConnectorFor = Callable[[Session, str], Connector | None]


def get_action(session: Session, action_id: int) -> m.Action:
    row = session.get(m.Action, action_id)
    if row is None:
        raise NotFoundError(f"no action {action_id}; `heron actions list` shows them")
    return row


def decide(
    session: Session, action_id: int, *, approve: bool, by: str, comment: str
) -> m.Action:
    """Approve or reject a pending action, recording who decided, when and why."""
    action = get_action(session, action_id)
    decided = ActionStatus.APPROVED if approve else ActionStatus.REJECTED
    _claim(
        session,
        action,
        (ActionStatus.PENDING,),
        decided,
        "only pending actions can be decided",
    )
    action.decided_by, action.decided_at, action.decision_comment = (
        by,
        utcnow(),
        comment,
    )
    verb = "approved" if approve else "rejected"
    repo.add_log(
        session,
        action.investigation_id,
        f"Action {verb}",
        "completed",
        f"{_describe(action)} {verb} by {by}" + (f": {comment}" if comment else ""),
    )
    log.info("action %s %s by %s", action_id, verb, by)
    return action


def execute(session: Session, action_id: int, connector_for: ConnectorFor) -> m.Action:
    """Carry out an approved action on its targets and verify each one."""
    action = get_action(session, action_id)
    hint = (
        f"approve it with `heron actions approve {action_id}`"
        if action.status == ActionStatus.PENDING.value
        else "a decided or finished action does not run again"
    )
    try:
        _claim(
            session,
            action,
            (ActionStatus.APPROVED, ActionStatus.RUNNING),
            ActionStatus.RUNNING,
            f"only an approved action runs; {hint}",
        )
    except ActionError as exc:
        raise ApprovalRequired(str(exc)) from None
    kind = ACTION_TYPES[action.type]
    started = utcnow()
    if kind.destination is not None:
        targets = _move_copies(session, action, kind.destination, connector_for)
    else:
        targets = _block_sender(session, action)
    failed = [t for t in targets if t["status"] == OutcomeStatus.FAILED.value]
    action.status = (ActionStatus.FAILED if failed else ActionStatus.COMPLETED).value
    action.executed_at = utcnow()
    action.result = {"targets": targets}
    repo.add_log(
        session,
        action.investigation_id,
        "Execute action",
        "failed" if failed else "completed",
        f"{_describe(action)}: " + _tally(targets),
        started_at=started,
    )
    return action


def undo(
    session: Session, action_id: int, by: str, connector_for: ConnectorFor
) -> m.Action:
    """Reverse a completed action: copies go back where they were, blocks are lifted."""
    action = get_action(session, action_id)
    before = ActionStatus(action.status)
    _claim(
        session,
        action,
        (ActionStatus.COMPLETED, ActionStatus.FAILED),
        ActionStatus.RUNNING,
        "only an executed action can be undone",
    )
    kind = ACTION_TYPES[action.type]
    started = utcnow()
    if kind.destination is not None:
        targets = _restore_copies(session, action, connector_for)
    else:
        targets = [_unblock_sender(session, action)]
    failed = [t for t in targets if t["status"] == OutcomeStatus.FAILED.value]
    action.status = ActionStatus.UNDONE.value if not failed else before.value
    action.undone_by, action.undone_at = by, utcnow()
    action.result = {**action.result, "undo": targets}
    repo.add_log(
        session,
        action.investigation_id,
        "Undo action",
        "failed" if failed else "completed",
        f"{_describe(action)} undone by {by}: " + _tally(targets),
        started_at=started,
    )
    return action


def _claim(
    session: Session,
    action: m.Action,
    allowed: tuple[ActionStatus, ...],
    to: ActionStatus,
    rule: str,
) -> None:
    """Move the action to ``to`` only if it is still in an ``allowed`` status.

    One conditional UPDATE: of two people deciding at once, or two workers running
    one action, exactly one wins; the database holds the other until the first
    commits, and it then finds the status changed.
    """
    claimed = session.execute(
        update(m.Action)
        .where(
            m.Action.id == action.id, m.Action.status.in_([s.value for s in allowed])
        )
        .values(status=to.value)
        .execution_options(synchronize_session=False)
    )
    session.refresh(action)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ActionError(f"action {action.id} is {action.status}; {rule}")


def expire(session: Session, now: datetime) -> list[int]:
    """Mark pending actions past their expiry as expired; returns their investigations."""
    rows = session.scalars(
        select(m.Action).where(
            m.Action.status == ActionStatus.PENDING.value, m.Action.expires_at < now
        )
    ).all()
    touched: list[int] = []
    for action in rows:
        try:
            _claim(session, action, (ActionStatus.PENDING,), ActionStatus.EXPIRED, "")
        except ActionError:
            continue  # decided by a person a moment ago
        action.decided_by, action.decided_at = "system", now
        repo.add_log(
            session,
            action.investigation_id,
            "Action expired",
            "completed",
            f"{_describe(action)} expired without a decision",
        )
        if action.investigation_id not in touched:
            touched.append(action.investigation_id)
    return touched


def _move_copies(
    session: Session,
    action: m.Action,
    destination: Location,
    connector_for: ConnectorFor,
) -> list[dict[str, Any]]:
    done_before = {t["copy_id"]: t for t in action.result.get("targets", [])}
    targets = []
    for copy_id in action.params.get("copies", []):
        if (
            copy_id in done_before
            and done_before[copy_id]["status"] != OutcomeStatus.FAILED.value
        ):
            targets.append(done_before[copy_id])  # finished before an interruption
            continue
        copy = session.get(m.Copy, copy_id)
        targets.append(_move_one(session, copy, copy_id, destination, connector_for))
    for copy_id in action.params.get("gone", []):
        if copy_id not in done_before:
            gone = session.get(m.Copy, copy_id)
            targets.append(
                {
                    "copy_id": copy_id,
                    "mailbox": gone.mailbox if gone else "",
                    "location": gone.location if gone else "",
                    "status": OutcomeStatus.GONE.value,
                    "detail": "left the mailbox before the action ran; counted as "
                    "remediated",
                }
            )
    return targets


def _move_one(
    session: Session,
    copy: m.Copy | None,
    copy_id: int,
    destination: Location,
    connector_for: ConnectorFor,
) -> dict[str, Any]:
    if copy is None:
        return {
            "copy_id": copy_id,
            "status": OutcomeStatus.NOT_FOUND.value,
            "detail": "copy unknown",
        }
    target: dict[str, Any] = {
        "copy_id": copy_id,
        "mailbox": copy.mailbox,
        "from": copy.location,
    }
    connector = connector_for(session, copy.mailbox)
    if connector is None:
        return {
            **target,
            "status": OutcomeStatus.FAILED.value,
            "detail": "no connector reaches the mailbox",
        }
    outcome = connector.move(
        CopyRef(copy.mailbox, copy.locator, Location(copy.location)),
        destination,
        copy.message_sha256,
    )
    target.update(
        status=outcome.status.value, detail=outcome.detail, to=destination.value
    )
    if outcome.copy is not None:
        copy.location, copy.locator, copy.updated_at = (
            outcome.copy.location.value,
            outcome.copy.locator,
            utcnow(),
        )
    target["verified"] = _verify(connector, copy, destination)
    session.flush()
    return target


def _verify(connector: Connector, copy: m.Copy, destination: Location) -> str:
    """Re-read the mailbox: where is the copy now?"""
    seen = connector.find(copy.mailbox, copy.message_sha256)
    if not seen:
        return "no copy found"
    places = sorted({c.location.value for c in seen})
    return (
        "in "
        + ", ".join(places)
        + ("" if places == [destination.value] else f" (expected {destination.value})")
    )


def _restore_copies(
    session: Session, action: m.Action, connector_for: ConnectorFor
) -> list[dict[str, Any]]:
    restored = []
    for target in action.result.get("targets", []):
        if target["status"] not in (
            OutcomeStatus.DONE.value,
            OutcomeStatus.ALREADY_THERE.value,
        ):
            continue
        copy = session.get(m.Copy, target["copy_id"])
        back = Location(target.get("from", Location.INBOX.value))
        restored.append(
            _move_one(session, copy, target["copy_id"], back, connector_for)
        )
    return restored


def _block_sender(session: Session, action: m.Action) -> list[dict[str, Any]]:
    existed = any(
        e.list == "block" and e.kind == "sender" and e.value == action.target
        for e in repo.list_entries(session)
    )
    repo.add_list_entry(
        session, "block", "sender", action.target, f"action {action.id}"
    )
    status = OutcomeStatus.ALREADY_THERE if existed else OutcomeStatus.DONE
    return [
        {
            "target": action.target,
            "status": status.value,
            "verified": "on the block list",
        }
    ]


def _unblock_sender(session: Session, action: m.Action) -> dict[str, Any]:
    before = action.result.get("targets", [{}])[0].get("status")
    if before == OutcomeStatus.ALREADY_THERE.value:
        # The entry was there before this action; undoing the action leaves it.
        return {
            "target": action.target,
            "status": OutcomeStatus.ALREADY_THERE.value,
            "detail": "the block predates this action and stays",
        }
    removed = repo.remove_list_entry(session, "block", "sender", action.target)
    status = OutcomeStatus.DONE if removed else OutcomeStatus.NOT_FOUND
    return {"target": action.target, "status": status.value}


def _describe(action: m.Action) -> str:
    kind: ActionType | None = ACTION_TYPES.get(action.type)
    what = kind.description if kind else action.type
    return f"action {action.id} ({what}, {action.target_type} {action.target[:64]})"


def _tally(targets: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for target in targets:
        counts[target["status"]] = counts.get(target["status"], 0) + 1
    return (
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        or "no targets"
    )
