"""Reply-To and display-name mismatches.

A reply that goes to another organisation than the one in From, or a display name that
shows an address or domain other than the real one, are the classic tricks of a
message that wants an answer from someone who did not look closely.
"""

from __future__ import annotations

import re

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity
from heron.mail.facts import Address

NAME = "sender"

_ADDRESS_IN_NAME = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_DOMAIN_IN_NAME = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:com|net|org|gov|edu|io|co|info|biz))\b", re.I)


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE, EntityType.SENDER),
    description="Compares Reply-To and the display name with the From address.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    if facts.from_ is None or not facts.from_.address:
        finding = Finding(
            NAME, message, "no-from", Severity.LOW, "the message has no usable From address"
        )
        return AnalyzerResult.from_findings([finding], finding.summary)
    findings = [
        *_reply_to(facts.from_, facts.reply_to, message),
        *_display_name(facts.from_, message),
    ]
    summary = "; ".join(f.summary for f in findings)
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=f"From {facts.from_.address} is consistent"
    )


def _reply_to(from_: Address, reply_to: tuple[Address, ...], message: EntityRef) -> list[Finding]:
    from_org = organisational_domain(from_.domain)
    other = [a for a in reply_to if a.domain and organisational_domain(a.domain) != from_org]
    if not other:
        return []
    return [
        Finding(
            NAME, message, "reply-to-mismatch", Severity.LOW,
            f"replies go to {other[0].address}, not to the From domain {from_.domain}",
            {"from": from_.address, "reply_to": [a.address for a in other]},
        )
    ]


def _display_name(from_: Address, message: EntityRef) -> list[Finding]:
    name = from_.display_name.strip()
    if not name:
        return []
    from_org = organisational_domain(from_.domain)
    shown = _ADDRESS_IN_NAME.search(name)
    if shown and organisational_domain(shown.group(1)) != from_org:
        return [
            Finding(
                NAME, message, "display-name-address-mismatch", Severity.MEDIUM,
                f"display name shows {shown.group(0)} but the mail is from {from_.address}",
                {"display_name": name, "from": from_.address},
            )
        ]
    domain = _DOMAIN_IN_NAME.search(name)
    if not shown and domain and organisational_domain(domain.group(1)) != from_org:
        return [
            Finding(
                NAME, message, "display-name-domain-mismatch", Severity.LOW,
                f"display name names {domain.group(1)} but the mail is from {from_.domain}",
                {"display_name": name, "from": from_.address},
            )
        ]
    return []
