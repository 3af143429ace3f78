"""The rule that gives an investigation its status once its steps have run."""

from __future__ import annotations

from collections.abc import Iterable

from heron.domain.verdicts import ActionStatus, InvestigationStatus, Verdict


def settled_status(
    verdict: Verdict, actions: Iterable[ActionStatus]
) -> InvestigationStatus:
    """Status of an investigation whose playbook has finished.

    No threat: no threats found. A threat with nothing to remediate: partially
    investigated. Any action waiting for a person, or approved and not yet run:
    pending action. Then, from the decided actions: all completed, remediated; some
    completed, or one done on only some of its targets, partially remediated; all
    expired, terminated by system; all rejected or undone, terminated by user;
    otherwise failed.
    """
    statuses = list(actions)
    if not statuses:
        if verdict.is_threat:
            return InvestigationStatus.PARTIALLY_INVESTIGATED
        return InvestigationStatus.NO_THREATS_FOUND
    waiting = {ActionStatus.PENDING, ActionStatus.APPROVED, ActionStatus.RUNNING}
    if any(s in waiting for s in statuses):
        return InvestigationStatus.PENDING_ACTION
    completed = statuses.count(ActionStatus.COMPLETED)
    if completed == len(statuses):
        return InvestigationStatus.REMEDIATED
    if completed or ActionStatus.PARTIAL in statuses:
        return InvestigationStatus.PARTIALLY_REMEDIATED
    if all(s is ActionStatus.EXPIRED for s in statuses):
        return InvestigationStatus.TERMINATED_BY_SYSTEM
    if all(
        s in (ActionStatus.REJECTED, ActionStatus.UNDONE, ActionStatus.EXPIRED)
        for s in statuses
    ):
        return InvestigationStatus.TERMINATED_BY_USER
    return InvestigationStatus.FAILED
