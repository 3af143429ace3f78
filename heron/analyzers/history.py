"""First contact and newly seen link domains, judged by the organisation's delivered
mail in the store (``MessageFacts.history``, filled by the engine).

Both are weak signals: most new senders are harmless, yet most phish come from one.
A sending domain no delivered copy came from before is low; a new address at a known
domain is informational. A link domain no earlier delivered copy linked to is low,
once per message. With fewer than ``MINIMUM_HISTORY`` delivered copies in the store
(a new installation, or one that only receives reports), heron says it cannot judge
yet rather than call every sender new.
"""

from __future__ import annotations

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity

NAME = "history"
# Delivered copies the store must hold before "never seen" means anything.
MINIMUM_HISTORY = 200
# New link domains named per message; the rest are counted.
MAX_NAMED_DOMAINS = 5


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE, EntityType.DOMAIN),
    description="First contact with a sender and links to domains the organisation's "
    "delivered mail never linked to.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    history = facts.history
    if history is None:
        return AnalyzerResult.not_applicable("no delivered-mail history at hand")
    if history.delivered < MINIMUM_HISTORY:
        finding = Finding(
            NAME,
            message,
            "history-too-short",
            Severity.INFORMATIONAL,
            f"the store held {history.delivered} delivered copies before this message, "
            f"fewer than the {MINIMUM_HISTORY} needed to judge first contact",
            {"delivered": history.delivered},
        )
        return AnalyzerResult.from_findings([finding], finding.summary)
    findings = [*_first_contact(context), *_new_domains(context)]
    return AnalyzerResult.from_findings(
        findings,
        "; ".join(f.summary for f in findings if f.severity.rank > 0),
        clean_summary="the sender and the link domains are known from delivered mail",
    )


def _first_contact(context: AnalyzerContext) -> list[Finding]:
    facts, message = context.message, context.entity
    history = facts.history
    if history is None or facts.from_ is None or not facts.from_.domain:
        return []
    domain = organisational_domain(facts.from_.domain)
    if any(organisational_domain(d) == domain for d in context.lookups.org_domains):
        return []  # the organisation's own people are judged by authentication
    details = {
        "from": facts.from_.address,
        "from_domain_copies": history.from_domain_copies,
        "from_address_copies": history.from_address_copies,
        "delivered": history.delivered,
    }
    if history.from_domain_copies == 0:
        return [
            Finding(
                NAME,
                message,
                "first-contact",
                Severity.LOW,
                f"first contact: none of {history.delivered} delivered copies came "
                f"from {domain} before",
                details,
            )
        ]
    if history.from_address_copies == 0:
        return [
            Finding(
                NAME,
                message,
                "first-contact-address",
                Severity.INFORMATIONAL,
                f"first mail from {facts.from_.address}; {history.from_domain_copies} "
                f"earlier copies came from {domain}",
                details,
            )
        ]
    return []


def _new_domains(context: AnalyzerContext) -> list[Finding]:
    facts = context.message
    history = facts.history
    if history is None:
        return []
    sender = organisational_domain(facts.from_.domain) if facts.from_ else ""
    new = [d for d, seen in history.link_domain_copies if not seen and d != sender]
    # Findings belong to the link hosts, the domain entities of the investigation.
    hosts: dict[str, str] = {}
    for url in facts.every_url():
        if url.host:
            hosts.setdefault(organisational_domain(url.host), url.host)
    return [
        Finding(
            NAME,
            EntityRef(EntityType.DOMAIN, hosts.get(domain, domain)),
            "newly-seen-domain",
            Severity.LOW,
            f"no delivered copy linked to {domain} before",
            {"domain": domain, "delivered": history.delivered},
        )
        for domain in new[:MAX_NAMED_DOMAINS]
    ]
