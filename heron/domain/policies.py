"""Alert policies: which events raise which alerts, and the playbook each one starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertPolicy:
    """A rule that turns events of one type into alerts."""

    name: str
    severity: str
    category: str
    event_type: str
    playbook: str
    description: str


USER_REPORTED = AlertPolicy(
    name="Email reported by user as malware or phish",
    severity="low",
    category="Threat management",
    event_type="message.reported",
    playbook="user-reported-message",
    description="A user reported a message as phishing or malware.",
)

BUILTIN_POLICIES: tuple[AlertPolicy, ...] = (USER_REPORTED,)


def policies_for(
    event_type: str, policies: tuple[AlertPolicy, ...] = BUILTIN_POLICIES
) -> list[AlertPolicy]:
    """The policies an event of ``event_type`` fires."""
    return [p for p in policies if p.event_type == event_type]
