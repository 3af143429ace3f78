"""Indicator extraction: the urls, files, ips, domains and senders a message carries."""

from __future__ import annotations

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import Severity, StepStatus
from heron.mail.facts import MessageFacts

NAME = "indicators"


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE,),
    description="Lists the senders, urls, files, domains and sending ip of the message.",
)
def extract(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    found = message_entities(facts, message)
    findings = [_defects_finding(facts, message)] if facts.all_warnings() else []
    findings.extend(_unread_parts(facts, message))
    counts: dict[str, int] = {}
    for entity, _ in found:
        counts[entity.type.value] = counts.get(entity.type.value, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "none"
    return AnalyzerResult(
        StepStatus.COMPLETED, f"extracted {summary}", tuple(findings), found
    )


def sending_ip(facts: MessageFacts) -> str | None:
    """The first public address in the Received chain (see MessageFacts.sending_ip)."""
    return facts.sending_ip or None


def message_entities(
    facts: MessageFacts, message: EntityRef
) -> tuple[tuple[EntityRef, EntityRef], ...]:
    found: dict[EntityRef, EntityRef] = {}

    def add(kind: EntityType, value: str, parent: EntityRef = message) -> None:
        if value:
            found.setdefault(EntityRef(kind, value), parent)

    if facts.from_ is not None:
        add(EntityType.SENDER, facts.from_.address)
        add(EntityType.DOMAIN, facts.from_.domain)
    add(EntityType.SENDER, facts.envelope_sender)
    for address in facts.reply_to:
        add(EntityType.SENDER, address.address)
    for url in facts.every_url():
        add(EntityType.URL, url.url)
        add(EntityType.DOMAIN, url.host)
    for attachment in facts.every_attachment():
        add(EntityType.FILE, attachment.sha256)
    add(EntityType.IP, sending_ip(facts) or "")
    for recipient in facts.recipients:
        add(EntityType.MAILBOX, recipient.address)
    return tuple(found.items())


def _defects_finding(facts: MessageFacts, message: EntityRef) -> Finding:
    warnings = facts.all_warnings()
    codes = sorted({w.code for w in warnings})
    return Finding(
        analyzer=NAME,
        entity=message,
        code="malformed-message",
        severity=Severity.INFORMATIONAL,
        summary=f"{len(warnings)} defect(s) while reading the message: {', '.join(codes)}",
        details={
            "warnings": [f"{w.where}: {w.code}: {w.message}" for w in warnings[:50]]
        },
    )


# Warnings that mean part of the message was not read at all.
UNREAD = frozenset(
    {
        "address-limit",
        "body-limit",
        "depth-limit",
        "header-count-limit",
        "header-length-limit",
        "html-too-deep",
        "html-too-large",
        "mime-too-deep",
        "part-limit",
        "size-limit",
        "time-limit",
        "url-limit",
    }
)


def _unread_parts(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    """A message heron could not read whole cannot be called clean: what was left
    unread may be the payload, and crafting mail to exhaust a reader is an evasion."""
    hit = sorted({w.code for w in facts.all_warnings() if w.code in UNREAD})
    if not hit:
        return []
    return [
        Finding(
            NAME,
            message,
            "not-fully-read",
            Severity.MEDIUM,
            f"part of the message was not read: {', '.join(hit)}; what it holds is unknown",
            {"limits": hit},
        )
    ]
