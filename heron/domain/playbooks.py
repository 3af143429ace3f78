"""Playbooks as data: ordered, named steps, each an analyzer with a condition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlaybookStep:
    """One step: the analyzer it runs and the condition under which it applies.

    ``when`` names a condition on the message facts (see
    ``heron.analyzers.base.CONDITIONS``); a step whose condition is false is logged as
    not applicable.
    """

    name: str
    analyzer: str
    when: str = "always"


@dataclass(frozen=True)
class Playbook:
    """The ordered steps one kind of alert runs."""

    name: str
    description: str
    steps: tuple[PlaybookStep, ...]
    # What the playbook investigates: email messages, or mailboxes (whose steps
    # the engine runs itself, reading the mailbox through its connector).
    subject: str = "message"


# What every investigation of an email message runs, whatever raised it.
EMAIL_STEPS: tuple[PlaybookStep, ...] = (
    PlaybookStep("Extract indicators", "indicators"),
    PlaybookStep("Check sender authentication", "authentication"),
    PlaybookStep("Check sender and reply-to", "sender"),
    PlaybookStep("Check for impersonation", "impersonation"),
    PlaybookStep("Check first contact and new domains", "history"),
    PlaybookStep("Check content", "content"),
    PlaybookStep("Check how links are built", "links", when="has_urls"),
    PlaybookStep("Check URL reputation", "url-reputation", when="has_urls"),
    PlaybookStep("Check attachments", "attachments", when="has_attachments"),
    PlaybookStep("Check what files hold", "file-contents", when="has_attachments"),
    PlaybookStep("Check file reputation", "file-reputation", when="has_attachments"),
    PlaybookStep("Match YARA rules", "yara"),
    PlaybookStep("Check sending ip reputation", "ip-reputation"),
    PlaybookStep("Check organisation allow and block lists", "org-lists"),
)

USER_REPORTED_MESSAGE = Playbook(
    name="user-reported-message",
    description="Investigate a message a user reported as phishing or malware.",
    steps=EMAIL_STEPS,
)
POST_DELIVERY_MESSAGE = Playbook(
    name="post-delivery-message",
    description="Investigate delivered mail carrying a url or file found malicious "
    "after delivery.",
    steps=EMAIL_STEPS,
)
URL_CLICK = Playbook(
    name="url-click",
    description="Investigate the message whose malicious url a user clicked.",
    steps=EMAIL_STEPS,
)
MANUAL_EMAIL = Playbook(
    name="manual-investigation",
    description="Investigate the messages an analyst chose in the explorer.",
    steps=EMAIL_STEPS,
)

MAILBOX_SETTINGS = Playbook(
    name="mailbox-settings",
    description="Investigate a mailbox's forwarding rules and delegations.",
    steps=(
        PlaybookStep("Read forwarding rules", "forwarding"),
        PlaybookStep("Read delegations", "delegations"),
    ),
    subject="mailbox",
)

COMPROMISED_USER = Playbook(
    name="compromised-user",
    description="Investigate a user whose mailbox may be in an attacker's hands: its "
    "forwarding rules and mailbox forwarding, its delegations, and what the audit "
    "records say it did.",
    steps=(
        PlaybookStep("Read forwarding rules", "forwarding"),
        PlaybookStep("Read delegations", "delegations"),
        PlaybookStep("Read audit records", "audit"),
    ),
    subject="mailbox",
)

PLAYBOOKS: dict[str, Playbook] = {
    p.name: p
    for p in (
        USER_REPORTED_MESSAGE,
        POST_DELIVERY_MESSAGE,
        URL_CLICK,
        MANUAL_EMAIL,
        MAILBOX_SETTINGS,
        COMPROMISED_USER,
    )
}
