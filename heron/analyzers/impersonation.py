"""Impersonation: domains that imitate the organisation, its partners or a brand, and
display names of the organisation's VIPs on outside addresses.

The sender's domain, the Reply-To domains and the link domains are each compared with
the protected domains (the organisation's, the configured partners', and those of the
brands in ``brands.BRANDS``) by ``domain.lookalike.resemblance``. A sender or Reply-To
imitating the organisation or a partner is high: that is how invoice fraud and CEO
fraud begin; imitating a brand is high when the trick is invisible to a reader
(confusable characters, punycode) and medium otherwise; a link imitating any of them
is medium, or low when the protected name is only a subdomain of another host. A
VIP's name (configured) on mail from outside the organisation is high.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.analyzers.brands import BRAND_DOMAINS
from heron.analyzers.lexicon import without_invisible
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.lookalike import Resemblance, resemblance
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity

NAME = "impersonation"
INVISIBLE_TRICKS = ("confusable",)
# How close a display name must be to a VIP's name (rapidfuzz token ratio, 0-100).
VIP_SIMILARITY = 90


@analyzer(
    NAME,
    accepts=(EntityType.SENDER, EntityType.DOMAIN, EntityType.URL),
    needs=("org_domains", "partner_domains", "vip_names"),
    description="Finds lookalikes of the organisation's, partners' and brands' domains "
    "and VIP names on outside mail.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, lookups = context.message, context.lookups
    own = tuple(lookups.org_domains)
    partners = tuple(lookups.partner_domains)
    findings: list[Finding] = []
    sender_domains = (
        {facts.from_.domain} if facts.from_ and facts.from_.domain else set()
    )
    reply_domains = {a.domain for a in facts.reply_to if a.domain}
    for domain in sorted(sender_domains | reply_domains):
        findings.extend(_domain(domain, own, partners, context.entity, sending=True))
    for host in sorted({u.host for u in facts.every_url() if u.host}):
        entity = EntityRef(EntityType.DOMAIN, host)
        findings.extend(_domain(host, own, partners, entity, sending=False))
    if facts.from_ is not None:
        findings.extend(_vip(facts.from_.display_name, facts.from_.domain, context))
    return AnalyzerResult.from_findings(
        findings,
        "; ".join(f.summary for f in findings),
        clean_summary="no lookalike domain and no VIP name from outside",
    )


def _domain(
    domain: str,
    own: tuple[str, ...],
    partners: tuple[str, ...],
    entity: EntityRef,
    *,
    sending: bool,
) -> list[Finding]:
    protected = (
        [(d, "the organisation's") for d in own]
        + [(d, "a partner's") for d in partners]
        + [(d, "a brand's") for d in BRAND_DOMAINS]
    )
    org = organisational_domain(domain)
    if any(org == organisational_domain(d) for d, _ in protected):
        return []
    for target, whose in protected:
        found = resemblance(domain, target)
        if found is None:
            continue
        if whose == "a brand's" and not _fits_brand(found):
            continue
        return [_finding(found, whose, entity, sending)]
    return []


def _fits_brand(found: Resemblance) -> bool:
    """Brands own many country domains and their names are words, so a different
    top-level domain or one letter off a short name says little on its own."""
    if found.trick in ("tld-swap", "letter-replaced"):
        return False
    name = organisational_domain(found.protected).partition(".")[0]
    one_letter = found.trick.startswith(("letter-", "keyboard-"))
    return not (one_letter and len(name) < 6)


def _finding(
    found: Resemblance, whose: str, entity: EntityRef, sending: bool
) -> Finding:
    if sending and (whose != "a brand's" or found.trick in INVISIBLE_TRICKS):
        severity = Severity.HIGH
    elif not sending and found.trick == "subdomain":
        # Hosted services name their customers' pages so (brand.zendesk.com).
        severity = Severity.LOW
    else:
        severity = Severity.MEDIUM
    role = "the sender's domain" if sending else "a link's domain"
    return Finding(
        NAME,
        entity,
        f"lookalike-{found.trick}",
        severity,
        f"{role} {found.candidate} imitates {whose} {found.protected}: {found.detail}",
        {"domain": found.candidate, "imitates": found.protected, "trick": found.trick},
    )


def _vip(
    display_name: str, from_domain: str, context: AnalyzerContext
) -> list[Finding]:
    vips = context.lookups.vip_names
    name = " ".join(without_invisible(display_name).split()).strip("\"' ")
    if not vips or not name:
        return []
    own = {organisational_domain(d) for d in context.lookups.org_domains}
    if organisational_domain(from_domain) in own:
        return []
    for vip in vips:
        if fuzz.token_sort_ratio(name.lower(), vip.lower()) >= VIP_SIMILARITY:
            return [
                Finding(
                    NAME,
                    context.entity,
                    "vip-impersonation",
                    Severity.HIGH,
                    f"display name {name!r} is the organisation's {vip} on mail from "
                    f"outside ({from_domain or 'no domain'})",
                    {"display_name": name, "vip": vip, "from_domain": from_domain},
                )
            ]
    return []
