"""Who may decide an action, and when automation may decide it instead.

The rule that never bends: an action runs only after a person whose role allows it
approved it, or after automation approved it under a rule an admin turned on for
that action type. ``check_decision`` is called inside the transaction that records
the decision, whoever asks (the API, the command line, the engine's automation).

Automation levels, per action type:
- ``off`` (the default): a person always decides;
- ``automatic``: automation approves a new pending action of that type when it
  stays within the rule's limits: at most ``max_copies`` copies, only clusters of
  the listed ``cluster_kinds``, only when the investigation's verdict is
  malicious (``malicious_only``, on by default).

Hard delete and recommendations are never automated: one cannot be undone, the
other is for a person to carry out. Nor is an action a person proposed: automation
approves what the playbook proposed, never a person's proposal in their stead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from heron.actions.types import ACTION_TYPES
from heron.domain.roles import Permission, Principal, PrincipalKind
from heron.errors import InvalidInput, NotFoundError, PermissionDenied
from heron.store import models as m

NEVER_AUTOMATED = frozenset({"hard_delete", "reset_credentials"})
CLUSTER_KINDS = ("indicator", "similarity")
MAX_COPIES_LIMIT = 1_000_000


class Level(StrEnum):
    OFF = "off"
    AUTOMATIC = "automatic"


@dataclass(frozen=True)
class Rule:
    """An automation level for one action type, with its limits."""

    action_type: str
    level: Level = Level.OFF
    max_copies: int | None = None
    cluster_kinds: tuple[str, ...] = ()
    malicious_only: bool = True
    updated_by: str = ""

    @classmethod
    def from_row(cls, row: m.AutomationRule) -> Rule:
        limits = row.limits or {}
        return cls.parse(
            row.action_type,
            row.level,
            {**limits, "updated_by": row.updated_by},
        )

    @classmethod
    def parse(cls, action_type: str, level: str, limits: dict[str, Any]) -> Rule:
        """A rule from what an admin sent; a clear error for anything else."""
        if action_type not in ACTION_TYPES:
            raise NotFoundError(
                f"no action type {action_type[:40]!r}; known: "
                f"{', '.join(sorted(ACTION_TYPES))}"
            )
        try:
            parsed = Level(level)
        except ValueError:
            raise InvalidInput(
                f"automation level {level[:40]!r}: one of "
                f"{', '.join(v.value for v in Level)}"
            ) from None
        if parsed is Level.AUTOMATIC and action_type in NEVER_AUTOMATED:
            raise InvalidInput(
                f"{action_type} is never automatic: "
                + (
                    "it cannot be undone"
                    if action_type == "hard_delete"
                    else "a person carries it out"
                )
            )
        max_copies = limits.get("max_copies")
        if max_copies is not None and (
            isinstance(max_copies, bool)
            or not isinstance(max_copies, int)
            or not 0 < max_copies <= MAX_COPIES_LIMIT
        ):
            raise InvalidInput(
                f"max_copies must be a whole number from 1 to {MAX_COPIES_LIMIT}"
            )
        kinds = limits.get("cluster_kinds") or []
        if not isinstance(kinds, list) or not all(k in CLUSTER_KINDS for k in kinds):
            raise InvalidInput(
                f"cluster_kinds must list cluster kinds: {', '.join(CLUSTER_KINDS)}"
            )
        malicious_only = limits.get("malicious_only", True)
        if not isinstance(malicious_only, bool):
            raise InvalidInput("malicious_only must be true or false")
        return cls(
            action_type,
            parsed,
            max_copies,
            tuple(kinds),
            malicious_only,
            str(limits.get("updated_by", "")),
        )

    @property
    def limits(self) -> dict[str, Any]:
        return {
            "max_copies": self.max_copies,
            "cluster_kinds": list(self.cluster_kinds),
            "malicious_only": self.malicious_only,
        }

    def view(self) -> dict[str, Any]:
        return {
            "action_type": self.action_type,
            "level": self.level.value,
            **self.limits,
            "updated_by": self.updated_by,
        }

    def refusal(self, session: Session, action: m.Action) -> str:
        """Why this rule does not let automation approve the action, or ""."""
        if self.level is not Level.AUTOMATIC:
            return f"automation is off for {self.action_type}"
        if action.type != self.action_type:
            return f"the rule is for {self.action_type}, not {action.type}"
        if action.type in NEVER_AUTOMATED or action.params.get("recommendation"):
            return f"{action.type} is never automatic"
        if action.proposed_by:
            return f"{action.proposed_by} proposed it: a person decides it"
        copies = len(action.params.get("copies", []))
        if self.max_copies is not None and copies > self.max_copies:
            return f"{copies} copies, over the rule's {self.max_copies}"
        if self.cluster_kinds:
            kind = _cluster_kind(session, action)
            if kind not in self.cluster_kinds:
                return (
                    f"the action's cluster is {kind or 'none'}, not one of "
                    f"{', '.join(self.cluster_kinds)}"
                )
        if self.malicious_only:
            investigation = session.get(m.Investigation, action.investigation_id)
            if investigation is None or investigation.verdict != "malicious":
                return "the investigation is not malicious"
        return ""


def _cluster_kind(session: Session, action: m.Action) -> str:
    cluster_id = action.params.get("cluster_id")
    if not isinstance(cluster_id, int):
        return ""
    row = session.get(m.Cluster, cluster_id)
    return row.kind if row is not None else ""


def rule_for(session: Session, action_type: str) -> Rule:
    row = session.get(m.AutomationRule, action_type)
    return Rule.from_row(row) if row is not None else Rule(action_type)


def all_rules(session: Session) -> list[Rule]:
    stored = {
        row.action_type: Rule.from_row(row)
        for row in session.scalars(select(m.AutomationRule))
    }
    return [stored.get(name, Rule(name)) for name in sorted(ACTION_TYPES)]


@dataclass
class Decision:
    """What a decider asked, with what the checks need to know."""

    approve: bool
    by: Principal
    two_person_rule: bool = False
    rule: Rule | None = None


def check_decision(session: Session, action: m.Action, decision: Decision) -> None:
    """Raise PermissionDenied unless ``decision.by`` may make this decision."""
    by = decision.by
    kind = ACTION_TYPES.get(action.type)
    if by.kind is PrincipalKind.SYSTEM:
        raise PermissionDenied("the system expires actions; it does not decide them")
    if by.kind is PrincipalKind.AUTOMATION:
        _check_automation(session, action, decision)
        return
    if not by.may(Permission.DECIDE):
        raise PermissionDenied(
            f"{by.name} ({by.role.value}) may not decide actions: that needs the "
            "approver or admin role"
        )
    if not decision.approve:
        return
    if kind is not None and kind.approver_role == "purge" and not by.purge:
        raise PermissionDenied(
            f"{by.name} may not approve action {action.id} ({action.type}): it cannot "
            "be undone and needs the purge permission (`heron users add NAME --role "
            "approver --purge`)"
        )
    if decision.two_person_rule:
        started_by = ""
        investigation = session.get(m.Investigation, action.investigation_id)
        if investigation is not None:
            started_by = investigation.started_by
        if by.name in {action.proposed_by, started_by} - {""}:
            what = "proposed it" if by.name == action.proposed_by else "started"
            raise PermissionDenied(
                f"{by.name} may not approve action {action.id}: they {what}"
                + (" its investigation" if what == "started" else "")
                + ", and the two-person rule wants someone else to approve"
            )


def _check_automation(session: Session, action: m.Action, decision: Decision) -> None:
    rule = decision.rule
    if not decision.approve:
        raise PermissionDenied("automation approves; it never rejects")
    if rule is None or rule.action_type != action.type:
        raise PermissionDenied(
            f"automation may not approve action {action.id}: no rule for {action.type}"
        )
    # The rule as stored now, not as the caller holds it: an admin may have turned
    # it off a moment ago.
    current = rule_for(session, action.type)
    why = current.refusal(session, action)
    if why:
        raise PermissionDenied(f"automation may not approve action {action.id}: {why}")
