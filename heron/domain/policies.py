"""Alert policies: which events raise which alerts, and the playbook each one starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertPolicy:
    """A rule that turns events of some types into alerts.

    ``condition`` names a test on the event the engine applies (``forwards``: the
    event names forwarding targets; ``forwards_outside``: one of them is outside
    the organisation); empty means every event of the types. ``playbook`` is empty
    for a policy that raises alerts and starts no investigation.
    """

    name: str
    severity: str
    category: str
    event_type: str
    playbook: str
    description: str
    also: tuple[str, ...] = ()
    condition: str = ""
    # Events for the same entities within the aggregation window count into one
    # alert, except for policies whose every alert is its own (clicks).
    aggregates: bool = True

    @property
    def event_types(self) -> tuple[str, ...]:
        return (self.event_type, *self.also)


USER_REPORTED = AlertPolicy(
    name="Email reported by user as malware or phish",
    severity="low",
    category="Threat management",
    event_type="message.reported",
    playbook="user-reported-message",
    description="A user reported a message as phishing or malware (to heron, or in "
    "Microsoft 365's audit records).",
    also=("message.reported_by_user",),
)

URL_REMOVED_AFTER_DELIVERY = AlertPolicy(
    name="Email messages containing malicious URL removed after delivery",
    severity="informational",
    category="Threat management",
    event_type="post_delivery.url",
    playbook="post-delivery-message",
    description="Delivered mail carries a url that threat intel or the block list "
    "called malicious after it arrived; or Microsoft 365 removed phish after "
    "delivery (a Phish ZAP record).",
    also=("email.post_delivery",),
    condition="zap_phish",
)
FILE_REMOVED_AFTER_DELIVERY = AlertPolicy(
    name="Email messages containing malicious file removed after delivery",
    severity="informational",
    category="Threat management",
    event_type="post_delivery.file",
    playbook="post-delivery-message",
    description="Delivered mail carries a file that threat intel or the block list "
    "called malicious after it arrived; or Microsoft 365 removed malware after "
    "delivery (a Malware ZAP record).",
    also=("email.post_delivery",),
    condition="zap_malware",
)
URL_CLICK_DETECTED = AlertPolicy(
    name="A potentially malicious URL click was detected",
    severity="high",
    category="Threat management",
    event_type="url.click_detected",
    playbook="url-click",
    description="A user clicked a url that is malicious, or turned malicious within "
    "48 hours after the click; or Microsoft 365 raised its alert of that name.",
    also=("alert.m365",),
    condition="named",
    aggregates=False,
)
CLICKED_THROUGH = AlertPolicy(
    name="A user clicked through to a potentially malicious URL",
    severity="high",
    category="Threat management",
    event_type="url.clicked",
    playbook="url-click",
    description="A user went on to a url past the warning page that called it "
    "malicious (Safe Links' clicked-through records).",
    condition="clicked_through",
    aggregates=False,
)
SENDING_PATTERNS = AlertPolicy(
    name="Suspicious email sending patterns detected",
    severity="medium",
    category="Threat management",
    event_type="alert.m365",
    playbook="compromised-user",
    description="Someone in the organisation sent suspicious mail and may soon be "
    "restricted from sending (Microsoft 365's alert of that name).",
    condition="named",
)
USER_RESTRICTED = AlertPolicy(
    name="User restricted from sending email",
    severity="high",
    category="Threat management",
    event_type="alert.m365",
    playbook="compromised-user",
    description="Someone in the organisation was restricted from sending mail "
    "(Microsoft 365's alert of that name).",
    condition="named",
)

SUSPICIOUS_FORWARDING = AlertPolicy(
    name="Suspicious email forwarding activity",
    severity="high",
    category="Threat management",
    event_type="rule.changed",
    playbook="compromised-user",
    description="A mailbox forwards or redirects mail to an address outside the "
    "organisation: found by a scan of its rules, or in an audit record of an inbox "
    "rule or mailbox forwarding.",
    also=("inbox_rule.changed", "mailbox.forwarding_set"),
    condition="forwards_outside",
)
FORWARDING_RULE_CREATED = AlertPolicy(
    name="Creation of forwarding/redirect rule",
    severity="informational",
    category="Threat management",
    event_type="inbox_rule.changed",
    playbook="",
    description="Someone created or changed an inbox rule that forwards or "
    "redirects messages to another address.",
    condition="forwards",
)
# heron's own policy: Microsoft's default policies have no alert for a delegation.
DELEGATION_GRANTED = AlertPolicy(
    name="Mailbox delegation granted to another user",
    severity="medium",
    category="Threat management",
    event_type="delegation.changed",
    also=("mailbox.delegation_added",),
    playbook="compromised-user",
    description="Another user was given rights on a mailbox's folders, found by a "
    "scan of its access control lists.",
)

BUILTIN_POLICIES: tuple[AlertPolicy, ...] = (
    USER_REPORTED,
    URL_REMOVED_AFTER_DELIVERY,
    FILE_REMOVED_AFTER_DELIVERY,
    URL_CLICK_DETECTED,
    CLICKED_THROUGH,
    SENDING_PATTERNS,
    USER_RESTRICTED,
    SUSPICIOUS_FORWARDING,
    FORWARDING_RULE_CREATED,
    DELEGATION_GRANTED,
)


def policies_for(
    event_type: str, policies: tuple[AlertPolicy, ...] = BUILTIN_POLICIES
) -> list[AlertPolicy]:
    """The policies events of ``event_type`` may fire (their conditions aside)."""
    return [p for p in policies if event_type in p.event_types]
