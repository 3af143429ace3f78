"""People, their roles and what each role may do.

Roles grow from one another: an analyst may do what a reader may, an approver what
an analyst may, an admin everything. Hard delete cannot be undone, so approving one
needs the purge permission besides the approver role; it is granted per person.

Automation and the system are principals too: automation decides the action types an
admin turned on for it, the system expires actions and runs scheduled jobs. Neither
is a person, and the audit trail says which one acted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    READER = "reader"
    ANALYST = "analyst"
    APPROVER = "approver"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"  # everything heron holds, except users and settings
    INVESTIGATE = "investigate"  # start investigations, report, upload records
    COMMENT = "comment"
    PROPOSE = "propose"  # propose actions (block a domain, hard delete)
    DECIDE = "decide"  # approve, reject and undo actions
    MANAGE_LISTS = "manage_lists"  # the allow and block list, intel reloads
    ADMINISTER = "administer"  # users, tokens, automation, settings, jobs, audit


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.READER: frozenset({Permission.READ}),
    Role.ANALYST: frozenset(
        {
            Permission.READ,
            Permission.INVESTIGATE,
            Permission.COMMENT,
            Permission.PROPOSE,
        }
    ),
}
_GRANTS[Role.APPROVER] = _GRANTS[Role.ANALYST] | {
    Permission.DECIDE,
    Permission.MANAGE_LISTS,
}
_GRANTS[Role.ADMIN] = frozenset(Permission)


def grants(role: Role) -> frozenset[Permission]:
    """What a role may do."""
    return _GRANTS[role]


class PrincipalKind(StrEnum):
    PERSON = "person"
    AUTOMATION = "automation"
    SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """Whoever acts: a heron user, automation under a rule, or the system."""

    name: str
    role: Role
    purge: bool = False
    kind: PrincipalKind = PrincipalKind.PERSON

    def may(self, permission: Permission) -> bool:
        return permission in grants(self.role)

    @property
    def is_person(self) -> bool:
        return self.kind is PrincipalKind.PERSON

    @property
    def label(self) -> str:
        """How records name it: a person by name, automation and system by kind."""
        if self.kind is PrincipalKind.PERSON:
            return self.name
        return f"{self.kind.value}:{self.name}" if self.name else self.kind.value


SYSTEM = Principal("", Role.ADMIN, kind=PrincipalKind.SYSTEM)


def automation(rule: str) -> Principal:
    """Automation deciding under the rule for one action type."""
    return Principal(rule, Role.APPROVER, kind=PrincipalKind.AUTOMATION)
