"""Reply-To and display-name mismatches.

A reply that goes to another organisation than the one in From, or a display name that
shows an address or domain other than the real one, are the classic tricks of a
message that wants an answer from someone who did not look closely.
"""

from __future__ import annotations

import re

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.analyzers.brands import BRANDS, named_brand
from heron.analyzers.lexicon import without_invisible
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity
from heron.mail.facts import Address

NAME = "sender"

_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>")
_ADDRESS_IN_NAME = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_DOMAIN_IN_NAME = re.compile(
    r"\b((?:[a-z0-9-]+\.)+(?:com|net|org|gov|edu|io|co|info|biz))\b", re.I
)


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE, EntityType.SENDER),
    description="Compares Reply-To and the display name with the From address.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    if facts.from_ is None or not facts.from_.address:
        finding = Finding(
            NAME,
            message,
            "no-from",
            Severity.LOW,
            "the message has no usable From address",
        )
        return AnalyzerResult.from_findings([finding], finding.summary)
    findings = [
        *_several_from(facts.header("From"), message),
        *_unroutable(facts.from_, message),
        *_reply_to(facts.from_, facts.reply_to, message),
        *_display_name(facts.from_, message),
        *_brand(facts.from_, message, context.lookups.org_domains),
    ]
    summary = "; ".join(f.summary for f in findings)
    if not findings:
        findings.append(
            Finding(
                NAME,
                message,
                "sender-consistent",
                Severity.INFORMATIONAL,
                f"From {facts.from_.address} is consistent",
            )
        )
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=findings[-1].summary
    )


def _several_from(values: list[str], message: EntityRef) -> list[Finding]:
    addresses = sorted(
        {a.lower() for value in values for a in _ANGLE_ADDRESS.findall(value)}
    )
    if len(values) < 2 and len(addresses) < 2:
        return []
    return [
        Finding(
            NAME,
            message,
            "several-from",
            Severity.MEDIUM,
            f"the message names {max(len(values), len(addresses))} senders in From; mail "
            "clients disagree on which one they show",
            {"from_headers": values[:5], "addresses": addresses[:5]},
        )
    ]


def _unroutable(from_: Address, message: EntityRef) -> list[Finding]:
    domain = from_.domain
    if domain and "." in domain.strip("."):
        return []
    return [
        Finding(
            NAME,
            message,
            "from-without-domain",
            Severity.MEDIUM,
            f"the From address {from_.address} has no domain that mail could come from",
            {"from": from_.address},
        )
    ]


def _reply_to(
    from_: Address, reply_to: tuple[Address, ...], message: EntityRef
) -> list[Finding]:
    from_org = organisational_domain(from_.domain)
    other = [
        a for a in reply_to if a.domain and organisational_domain(a.domain) != from_org
    ]
    if not other:
        return []
    return [
        Finding(
            NAME,
            message,
            "reply-to-mismatch",
            Severity.LOW,
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
                NAME,
                message,
                "display-name-address-mismatch",
                Severity.MEDIUM,
                f"display name shows {shown.group(0)} but the mail is from {from_.address}",
                {"display_name": name, "from": from_.address},
            )
        ]
    domain = _DOMAIN_IN_NAME.search(name)
    if not shown and domain and organisational_domain(domain.group(1)) != from_org:
        return [
            Finding(
                NAME,
                message,
                "display-name-domain-mismatch",
                Severity.LOW,
                f"display name names {domain.group(1)} but the mail is from {from_.domain}",
                {"display_name": name, "from": from_.address},
            )
        ]
    return []


def _brand(
    from_: Address, message: EntityRef, org_domains: tuple[str, ...]
) -> list[Finding]:
    name = without_invisible(from_.display_name)
    brand = named_brand(name)
    if brand is None:
        return []
    owners = BRANDS[brand] or org_domains
    if not owners:
        return []  # a generic name ("IT Support") needs the organisation's domains
    from_org = organisational_domain(from_.domain)
    if any(from_org == organisational_domain(owner) for owner in owners):
        return []
    if brand.replace(" ", "") in from_org.replace("-", ""):
        # Known limit: a domain that contains the brand's name (microsoftstore-mail.test)
        # is taken as the brand's own; lookalike scoring of domains will judge these.
        return []
    return [
        Finding(
            NAME,
            message,
            "brand-impersonation",
            Severity.MEDIUM,
            f"display name {name!r} names {brand} but the mail is from {from_.domain}",
            {"brand": brand, "from": from_.address, "brand_domains": list(owners)},
        )
    ]
