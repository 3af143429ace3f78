"""Deciding, executing, verifying and undoing actions.

The rule that never bends: ``execute`` runs only an action a person approved. Every
decision and every execution is written to the investigation's log with who, what,
which target and why. Execution is idempotent: each target records its outcome, a
copy already in its destination is reported as such, and an action interrupted while
running can be executed again without moving anything twice.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from heron.actions.approval import Decision, check_decision
from heron.actions.types import ACTION_TYPES, ActionType
from heron.connectors.base import (
    Connector,
    CopyRef,
    Delegation,
    Operation,
    Outcome,
    OutcomeStatus,
)
from heron.domain.roles import SYSTEM, Permission, Principal, PrincipalKind
from heron.domain.verdicts import ActionStatus, Location
from heron.errors import (
    ActionError,
    ApprovalRequired,
    ConnectorError,
    NotFoundError,
    PermissionDenied,
)
from heron.store import models as m
from heron.store import repository as repo
from heron.store import trail
from heron.store.models import utcnow

log = logging.getLogger(__name__)

ConnectorFor = Callable[[Session, str], Connector | None]


@dataclass
class Reach:
    """What execution reaches: the connector of each mailbox, the connectors that
    block senders, the organisation's domains, and a checkpoint that makes each
    target's outcome durable before the next target is touched."""

    connector_for: ConnectorFor
    blockers: list[Connector] = field(default_factory=list)
    org_domains: frozenset[str] = frozenset()
    checkpoint: Callable[[], None] = lambda: None


# Statuses an action may run from: approved, interrupted while running, or done on
# some targets only (running it again retries the others).
RUNNABLE = (
    ActionStatus.APPROVED,
    ActionStatus.RUNNING,
    ActionStatus.PARTIAL,
    ActionStatus.FAILED,
)
UNDOABLE = (ActionStatus.COMPLETED, ActionStatus.PARTIAL, ActionStatus.FAILED)
# Where a block lands besides the mail servers' maps, and what each block blocks.
LIST_TARGET = "heron block list"
BLOCKS = {"block_sender": "sender", "block_domain": "domain"}


def get_action(session: Session, action_id: int) -> m.Action:
    row = session.get(m.Action, action_id)
    if row is None:
        raise NotFoundError(f"no action {action_id}; `heron actions list` shows them")
    return row


def decide(
    session: Session,
    action_id: int,
    decision: Decision,
    *,
    comment: str = "",
) -> m.Action:
    """Approve or reject a pending action, recording who decided, when and why, in
    the investigation's log and in the audit trail, in one transaction.

    ``check_decision`` runs first: the decider's role, the purge permission for an
    action that cannot be undone, the two-person rule, an automation rule."""
    action = get_action(session, action_id)
    check_decision(session, action, decision)
    decided = ActionStatus.APPROVED if decision.approve else ActionStatus.REJECTED
    _claim(
        session,
        action,
        (ActionStatus.PENDING,),
        decided,
        "only pending actions can be decided",
    )
    by = decision.by
    action.decided_by, action.decided_at, action.decision_comment = (
        by.label,
        utcnow(),
        comment,
    )
    verb = "approved" if decision.approve else "rejected"
    detail: dict[str, Any] = {
        "type": action.type,
        "target": action.target[:500],
        "comment": comment[:2000],
        "copies": len(action.params.get("copies", [])),
    }
    if decision.rule is not None and by.kind is PrincipalKind.AUTOMATION:
        detail["rule"] = decision.rule.view()
    trail.append(
        session,
        by,
        f"action.{verb}",
        "action",
        action.id,
        investigation_id=action.investigation_id,
        detail=detail,
    )
    repo.add_log(
        session,
        action.investigation_id,
        f"Action {verb}",
        "completed",
        f"{_describe(action)} {verb} by {by.label}"
        + (f": {comment}" if comment else ""),
    )
    log.info("action %s %s by %s", action_id, verb, by.label)
    return action


def execute(session: Session, action_id: int, reach: Reach) -> m.Action:
    """Carry out an approved action on its targets and verify each one.

    Each target's outcome is written and made durable (``reach.checkpoint``) before
    the next target is touched. Executing again after a crash keeps the outcomes
    recorded and asks the connector about the rest, which finds work already done
    and reports it as such: nothing is changed twice."""
    action = get_action(session, action_id)
    hint = (
        f"approve it with `heron actions approve {action_id}`"
        if action.status == ActionStatus.PENDING.value
        else "a decided, finished or undone action does not run again"
    )
    if action.status not in {s.value for s in RUNNABLE}:
        raise ApprovalRequired(
            f"action {action.id} is {action.status}; only an approved action runs; "
            f"{hint}"
        )
    _claim_run(session, action)
    reach.checkpoint()
    kind = ACTION_TYPES[action.type]
    started = utcnow()
    journal = _Journal(action, "targets", reach.checkpoint)
    try:
        if action.params.get("recommendation") or kind.name == "reset_credentials":
            journal.add(
                {
                    "target": action.target,
                    "status": OutcomeStatus.BY_PERSON.value,
                    "detail": "a recommendation: no mail system heron reaches can "
                    "carry it out; the approval records that a person does",
                    "verified": "not checked by heron",
                }
            )
        elif kind.name == "hard_delete":
            _purge_copies(session, action, reach, journal)
        elif kind.destination is not None:
            _move_copies(session, action, kind.destination, reach, journal)
        elif kind.name in BLOCKS:
            _block_sender(session, action, reach, journal)
        elif kind.name == "disable_forwarding":
            _disable_forwarding(session, action, reach, journal)
        elif kind.name == "remove_delegation":
            _remove_delegation(session, action, reach, journal)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        # Parameters no proposal writes (changed in the database by hand): the
        # action fails with the reason instead of staying "running".
        journal.add(
            _failed(action.target, f"the action's parameters cannot be read: {exc}")
        )
    targets = journal.targets
    if not targets:
        journal.add(_failed(action.target, "the action names nothing to act on"))
    failed = [t for t in targets if t["status"] == OutcomeStatus.FAILED.value]
    action.status = (
        ActionStatus.COMPLETED
        if not failed
        else ActionStatus.PARTIAL
        if len(failed) < len(targets)
        else ActionStatus.FAILED
    ).value
    action.executed_at = utcnow()
    action.run_by = ""
    trail.append(
        session,
        SYSTEM,
        f"action.{action.status}",
        "action",
        action.id,
        investigation_id=action.investigation_id,
        detail={
            "type": action.type,
            "approved_by": action.decided_by,
            **_counts(targets),
        },
    )
    repo.add_log(
        session,
        action.investigation_id,
        "Execute action",
        "failed" if failed else "completed",
        f"{_describe(action)}: " + _tally(targets),
        started_at=started,
    )
    return action


def undo(session: Session, action_id: int, by: Principal, reach: Reach) -> m.Action:
    """Reverse an executed action: copies go back where they were, blocks are
    lifted, forwarding rules and delegations are put back. Undoing is deciding:
    it needs the approver or admin role."""
    action = get_action(session, action_id)
    if not by.is_person or not by.may(Permission.DECIDE):
        raise PermissionDenied(
            f"{by.label} may not undo actions: that needs the approver or admin role"
        )
    kind = ACTION_TYPES[action.type]
    if action.params.get("recommendation"):
        raise ActionError(
            f"action {action_id} was a recommendation a person carried out; a person "
            "undoes it"
        )
    if not kind.undo:
        raise ActionError(
            f"action {action_id} ({kind.description}) cannot be undone: "
            f"it {kind.side_effect}"
        )
    purged = next(
        (
            hard.id
            for hard in session.scalars(
                select(m.Action).where(
                    m.Action.investigation_id == action.investigation_id,
                    m.Action.type == "hard_delete",
                    m.Action.status.in_(
                        (ActionStatus.COMPLETED.value, ActionStatus.PARTIAL.value)
                    ),
                )
            )
            if hard.params.get("after") == action.id
        ),
        None,
    )
    if purged is not None:
        raise ActionError(
            f"action {action_id} cannot be undone: action {purged} deleted its "
            "copies for good"
        )
    before = ActionStatus(action.status)
    _claim(
        session,
        action,
        UNDOABLE,
        ActionStatus.RUNNING,
        "only an executed action can be undone",
    )
    started = utcnow()
    journal = _Journal(action, "undo", lambda: None)
    if kind.destination is not None:
        _restore_copies(session, action, reach, journal)
    elif kind.name in BLOCKS:
        _unblock_sender(session, action, reach, journal)
    elif kind.name == "disable_forwarding":
        _restore_forwarding(session, action, reach, journal)
    elif kind.name == "remove_delegation":
        _restore_delegation(session, action, reach, journal)
    targets = journal.targets
    # A copy undo cannot find (deleted for good since) is not put back: a failure.
    unfound = OutcomeStatus.NOT_FOUND.value if kind.destination is not None else ""
    failed = [
        t for t in targets if t["status"] in (OutcomeStatus.FAILED.value, unfound)
    ]
    action.status = ActionStatus.UNDONE.value if not failed else before.value
    action.undone_by, action.undone_at = by.label, utcnow()
    trail.append(
        session,
        by,
        "action.undone" if not failed else "action.undo_failed",
        "action",
        action.id,
        investigation_id=action.investigation_id,
        detail={"type": action.type, "target": action.target[:500], **_counts(targets)},
    )
    repo.add_log(
        session,
        action.investigation_id,
        "Undo action",
        "failed" if failed else "completed",
        f"{_describe(action)} undone by {by.label}: " + _tally(targets),
        started_at=started,
    )
    return action


class _Journal:
    """The outcome of each target, written into the action's result as it lands."""

    def __init__(
        self, action: m.Action, part: str, checkpoint: Callable[[], None]
    ) -> None:
        self.action, self.part, self.checkpoint = action, part, checkpoint
        self.targets: list[dict[str, Any]] = []

    def earlier(self) -> list[dict[str, Any]]:
        """Outcomes an interrupted run recorded."""
        return list(self.action.result.get(self.part, []))

    def add(self, target: dict[str, Any]) -> None:
        self.targets.append(target)
        self.action.result = {**self.action.result, self.part: list(self.targets)}
        self.action.run_at = utcnow()  # the run is alive
        self.checkpoint()


def _claim_run(session: Session, action: m.Action) -> None:
    """Take the action for this process. An action another run is executing is
    refused while that run is alive: on this host while its process lives, on
    another until it has recorded nothing for ``RUN_LEASE``. A run that died (a
    crash, a kill) is taken over, and of two processes taking it over at once,
    one wins."""
    now = utcnow()
    if action.status == ActionStatus.RUNNING.value and _run_alive(
        action.run_by, action.run_at, now
    ):
        raise ActionError(
            f"action {action.id} is being executed by {action.run_by} (last outcome "
            f"at {action.run_at:%Y-%m-%d %H:%M:%S} UTC); it runs once at a time"
            if action.run_at
            else f"action {action.id} is being executed by {action.run_by}"
        )
    observed = action.run_by
    claimed = session.execute(
        update(m.Action)
        .where(
            m.Action.id == action.id,
            or_(
                m.Action.status.in_(
                    [s.value for s in RUNNABLE if s is not ActionStatus.RUNNING]
                ),
                and_(
                    m.Action.status == ActionStatus.RUNNING.value,
                    m.Action.run_by == observed,
                ),
            ),
        )
        .values(status=ActionStatus.RUNNING.value, run_by=_run_token(), run_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(action)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ActionError(
            f"action {action.id} is {action.status}; another run took it a moment ago"
        )


RUN_LEASE = timedelta(minutes=10)


def _run_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _run_alive(run_by: str, run_at: datetime | None, now: datetime) -> bool:
    host, _, rest = run_by.partition(":")
    pid_text = rest.partition(":")[0]
    if not run_by or not pid_text.isdigit():
        return False
    if host == socket.gethostname():
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return run_at is not None and now - run_at < RUN_LEASE


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
        trail.append(
            session,
            SYSTEM,
            "action.expired",
            "action",
            action.id,
            investigation_id=action.investigation_id,
            detail={"type": action.type, "target": action.target[:500]},
        )
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
    reach: Reach,
    journal: _Journal,
) -> None:
    done_before = {t["copy_id"]: t for t in journal.earlier()}
    for copy_id in action.params.get("copies", []):
        before = done_before.get(copy_id)
        if before is not None and before["status"] != OutcomeStatus.FAILED.value:
            journal.add(before)  # finished before an interruption
            continue
        copy = session.get(m.Copy, copy_id)
        target = _move_one(session, copy, copy_id, destination, reach)
        if before is not None and "from" in before:  # where it was before any run
            target["from"] = before["from"]
            target["from_locator"] = before.get("from_locator", "")
        journal.add(target)
    for copy_id in action.params.get("gone", []):
        if copy_id in done_before:
            journal.add(done_before[copy_id])
            continue
        gone = session.get(m.Copy, copy_id)
        journal.add(
            {
                "copy_id": copy_id,
                "mailbox": gone.mailbox if gone else "",
                "location": gone.location if gone else "",
                "status": OutcomeStatus.GONE.value,
                "detail": "left the mailbox before the action ran; counted as "
                "remediated",
            }
        )


def _move_one(
    session: Session,
    copy: m.Copy | None,
    copy_id: int,
    destination: Location,
    reach: Reach,
    origin: str = "",
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
        "from_locator": copy.locator,
    }
    connector = reach.connector_for(session, copy.mailbox)
    if connector is None:
        return {
            **target,
            "status": OutcomeStatus.FAILED.value,
            "detail": "no connector reaches the mailbox",
        }
    message_id = _message_id(session, copy)
    try:
        outcome = connector.move(
            CopyRef(copy.mailbox, copy.locator, Location(copy.location)),
            destination,
            copy.message_sha256,
            message_id,
            origin,
        )
    except ConnectorError as exc:
        outcome = Outcome(OutcomeStatus.FAILED, None, str(exc))
    target.update(
        status=outcome.status.value, detail=outcome.detail, to=destination.value
    )
    if outcome.status is OutcomeStatus.DONE and outcome.origin is not None:
        # Where the copy really was (the user may have moved it since heron last
        # looked): undo returns it there.
        target["from"] = outcome.origin.location.value
        target["from_locator"] = outcome.origin.locator
    if outcome.copy is not None:
        copy.location, copy.locator, copy.updated_at = (
            outcome.copy.location.value,
            outcome.copy.locator,
            utcnow(),
        )
    target["verified"] = _verify(connector, copy, destination, message_id)
    session.flush()
    return target


def _message_id(session: Session, copy: m.Copy) -> str:
    message = session.get(m.Message, copy.message_sha256)
    return message.message_id if message is not None else ""


def _verify(
    connector: Connector, copy: m.Copy, destination: Location, message_id: str
) -> str:
    """Re-read the mailbox: where is the copy now?"""
    try:
        seen = connector.find(copy.mailbox, copy.message_sha256, message_id)
    except ConnectorError as exc:
        return f"could not be checked: {exc}"
    if not seen:
        return "no copy found"
    places = sorted({c.location.value for c in seen})
    return (
        "in "
        + ", ".join(places)
        + ("" if places == [destination.value] else f" (expected {destination.value})")
    )


def _purge_copies(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    done_before = {t["copy_id"]: t for t in journal.earlier()}
    for copy_id in action.params.get("copies", []):
        before = done_before.get(copy_id)
        if before is not None and before["status"] != OutcomeStatus.FAILED.value:
            journal.add(before)
            continue
        copy = session.get(m.Copy, copy_id)
        connector = reach.connector_for(session, copy.mailbox) if copy else None
        if copy is None or connector is None:
            journal.add(
                {
                    "copy_id": copy_id,
                    "status": OutcomeStatus.FAILED.value,
                    "detail": "copy unknown" if copy is None else "no connector",
                }
            )
            continue
        message_id = _message_id(session, copy)
        try:
            outcome = connector.purge(
                CopyRef(copy.mailbox, copy.locator, Location(copy.location)),
                copy.message_sha256,
                message_id,
            )
        except ConnectorError as exc:
            outcome = Outcome(OutcomeStatus.FAILED, None, str(exc))
        if outcome.status in (OutcomeStatus.DONE, OutcomeStatus.NOT_FOUND):
            copy.location, copy.locator, copy.updated_at = "gone", "", utcnow()
        try:
            left = connector.find(copy.mailbox, copy.message_sha256, message_id)
            verified = "no copy left" if not left else f"{len(left)} cop(ies) left"
        except ConnectorError as exc:
            verified = f"could not be checked: {exc}"
        journal.add(
            {
                "copy_id": copy_id,
                "mailbox": copy.mailbox,
                "from": copy.location,
                "status": outcome.status.value,
                "detail": outcome.detail,
                "verified": verified,
            }
        )
        session.flush()


def _restore_copies(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    for target in action.result.get("targets", []):
        if target["status"] not in (
            OutcomeStatus.DONE.value,
            OutcomeStatus.ALREADY_THERE.value,
        ):
            continue
        copy = session.get(m.Copy, target["copy_id"])
        back = Location(target.get("from", Location.INBOX.value))
        journal.add(
            _move_one(
                session,
                copy,
                target["copy_id"],
                back,
                reach,
                origin=target.get("from_locator", ""),
            )
        )


def _block_sender(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    """Block in heron's list, then in every connector that blocks senders. A run
    after an interruption keeps what the earlier run did: its "done" is not
    mistaken for a block that predates the action."""
    earlier = {
        t.get("where", LIST_TARGET): t
        for t in journal.earlier()
        if t["status"] != OutcomeStatus.FAILED.value
    }
    if LIST_TARGET in earlier:
        journal.add(earlier[LIST_TARGET])
    else:
        existed = any(
            e.list == "block"
            and e.kind == BLOCKS[action.type]
            and e.value == action.target
            for e in repo.list_entries(session)
        )
        repo.add_list_entry(
            session, "block", BLOCKS[action.type], action.target, f"action {action.id}"
        )
        status = OutcomeStatus.ALREADY_THERE if existed else OutcomeStatus.DONE
        journal.add(
            {
                "target": action.target,
                "where": LIST_TARGET,
                "status": status.value,
                "verified": "on the block list",
            }
        )
    for connector in reach.blockers:
        if connector.name in earlier:
            journal.add(earlier[connector.name])
            continue
        try:
            outcome = connector.block(
                BLOCKS[action.type], action.target, f"action {action.id}"
            )
        except ConnectorError as exc:
            outcome = Outcome(OutcomeStatus.FAILED, None, str(exc))
        journal.add(
            {
                "target": action.target,
                "where": connector.name,
                "status": outcome.status.value,
                "detail": outcome.detail,
            }
        )


def _unblock_sender(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    for target in action.result.get("targets", []):
        where = target.get("where", LIST_TARGET)
        if target.get("status") == OutcomeStatus.ALREADY_THERE.value:
            # The block was there before this action; undoing the action leaves it.
            journal.add(
                {
                    "target": action.target,
                    "where": where,
                    "status": OutcomeStatus.ALREADY_THERE.value,
                    "detail": "the block predates this action and stays",
                }
            )
            continue
        if target.get("status") != OutcomeStatus.DONE.value:
            continue
        if where == LIST_TARGET:
            removed = repo.remove_list_entry(
                session, "block", BLOCKS[action.type], action.target
            )
            outcome = Outcome(
                OutcomeStatus.DONE if removed else OutcomeStatus.NOT_FOUND
            )
        else:
            connector = next((c for c in reach.blockers if c.name == where), None)
            if connector is None:
                outcome = Outcome(
                    OutcomeStatus.FAILED, None, f"connector {where} is not configured"
                )
            else:
                try:
                    outcome = connector.unblock(BLOCKS[action.type], action.target)
                except ConnectorError as exc:
                    outcome = Outcome(OutcomeStatus.FAILED, None, str(exc))
        journal.add(
            {
                "target": action.target,
                "where": where,
                "status": outcome.status.value,
                "detail": outcome.detail,
            }
        )


def _mailbox_step(
    session: Session,
    reach: Reach,
    journal: _Journal,
    *,
    mailbox: str,
    target: str,
    operation: Operation,
    change: Callable[[Connector], Outcome],
    check: Callable[[Connector], str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Run one change on a mailbox's settings through its connector, read them
    again with ``check`` (a changed outcome whose check says otherwise is failed),
    and journal what happened."""
    connector = reach.connector_for(session, mailbox)
    if connector is None or not connector.supports(operation):
        journal.add(_failed(target, f"no connector reaching {mailbox} can {operation}"))
        return
    verified = ""
    try:
        outcome = change(connector)
        if check is not None:
            verified = check(connector)
    except ConnectorError as exc:
        outcome = Outcome(OutcomeStatus.FAILED, None, str(exc))
    if verified.startswith("still") and outcome.status is not OutcomeStatus.FAILED:
        outcome = Outcome(OutcomeStatus.FAILED, None, verified)
    journal.add(
        {
            "target": target,
            **(extra or {}),
            "status": outcome.status.value,
            "detail": outcome.detail,
            **({"verified": verified} if check is not None else {}),
        }
    )


def _disable_forwarding(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    """Keep the mailbox's rules as they are (once: a re-run keeps the first copy),
    turn the external ones off, and read them again to confirm."""
    mailbox = str(action.params.get("mailbox") or action.target)

    def change(connector: Connector) -> Outcome:
        if "saved" not in action.result:
            action.result = {
                **action.result,
                "saved": connector.save_forwarding(mailbox, reach.org_domains),
            }
            reach.checkpoint()
        return connector.disable_forwarding(mailbox, reach.org_domains)

    def check(connector: Connector) -> str:
        rules = connector.forwarding(mailbox, reach.org_domains)
        left = [r for r in rules if r.external and r.enabled]
        if left:
            return f"still {len(left)} rule(s) forwarding outside"
        return "no forwarding outside the organisation left"

    _mailbox_step(
        session,
        reach,
        journal,
        mailbox=mailbox,
        target=mailbox,
        operation=Operation.DISABLE_FORWARDING,
        change=change,
        check=check,
    )


def _restore_forwarding(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    mailbox = str(action.params.get("mailbox") or action.target)
    saved = action.result.get("saved")
    if saved is None:
        journal.add(_failed(mailbox, "no rules were kept before they changed"))
        return

    def check(connector: Connector) -> str:
        back = connector.forwarding(mailbox, reach.org_domains)
        return f"{sum(1 for r in back if r.external)} rule(s) forward outside again"

    _mailbox_step(
        session,
        reach,
        journal,
        mailbox=mailbox,
        target=mailbox,
        operation=Operation.DISABLE_FORWARDING,
        change=lambda connector: connector.restore_forwarding(mailbox, saved),
        check=check,
    )


def _delegation(action: m.Action) -> Delegation:
    return Delegation(**action.params["delegation"])


def _remove_delegation(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    grant = _delegation(action)

    def check(connector: Connector) -> str:
        for held in connector.delegations(grant.mailbox):
            if (held.folder, held.grantee) == (grant.folder, grant.grantee):
                return f"still holds {held.rights}"
        return "no rights left"

    _mailbox_step(
        session,
        reach,
        journal,
        mailbox=grant.mailbox,
        target=action.target,
        operation=Operation.REMOVE_DELEGATION,
        change=lambda connector: connector.remove_delegation(grant),
        check=check,
        extra={"delegation": asdict(grant)},
    )


def _restore_delegation(
    session: Session, action: m.Action, reach: Reach, journal: _Journal
) -> None:
    grant = _delegation(action)
    _mailbox_step(
        session,
        reach,
        journal,
        mailbox=grant.mailbox,
        target=action.target,
        operation=Operation.REMOVE_DELEGATION,
        change=lambda connector: connector.restore_delegation(grant),
    )


def _failed(target: str, why: str) -> dict[str, Any]:
    return {"target": target, "status": OutcomeStatus.FAILED.value, "detail": why}


def _describe(action: m.Action) -> str:
    kind: ActionType | None = ACTION_TYPES.get(action.type)
    what = kind.description if kind else action.type
    return f"action {action.id} ({what}, {action.target_type} {action.target[:64]})"


def outcome_counts(targets: list[dict[str, Any]]) -> dict[str, int]:
    """How many targets ended in each outcome (done, not found, failed...)."""
    counts: dict[str, int] = {}
    for target in targets:
        status = str(target.get("status", ""))
        counts[status] = counts.get(status, 0) + 1
    return counts


def _counts(targets: list[dict[str, Any]]) -> dict[str, int]:
    counts = outcome_counts(targets)
    return {"targets": len(targets), **{f"outcome_{k}": v for k, v in counts.items()}}


def _tally(targets: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for target in targets:
        counts[target["status"]] = counts.get(target["status"], 0) + 1
    return (
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        or "no targets"
    )
