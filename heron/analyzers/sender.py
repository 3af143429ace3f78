"""Reply-To and display-name mismatches.

A reply that goes to another organisation than the one in From, or a display name that
shows an address or domain other than the real one, are the classic tricks of a
message that wants an answer from someone who did not look closely.
"""

from __future__ import annotations

import re

from heron.analyzers import lexicon
from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.analyzers.brands import BRANDS, named_brand
from heron.analyzers.lexicon import without_invisible
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import (
    is_same_or_subdomain,
    organisational_domain,
    related,
    under_public_suffix,
)
from heron.domain.verdicts import Severity
from heron.mail.facts import Address, MessageFacts

NAME = "sender"

_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>")
_ADDRESS_IN_NAME = re.compile(r"[\w.+-]{1,64}@([\w-]{1,63}(?:\.[\w-]{1,63}){1,10})")
# Host names that say "a server", not "an organisation": vps-1a2b.example, ip-10-0-0-1.
_SERVER_LABEL = re.compile(
    r"^(vps|vds|dedi|dedicated|server|srv|host|static|ip)[-\d]", re.I
)
_DOMAIN_IN_NAME = re.compile(r"\b((?:[a-z0-9-]{1,63}\.){1,10}[a-z]{2,12})\b", re.I)


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
        *_reply_to(facts.from_, _without_list(facts.reply_to, facts), message),
        *_display_name(facts.from_, message),
        *_brand(facts.from_, message, _own_domains(context)),
        *_freemail(facts.from_, facts.subject, bool(facts.attachments), message),
        *_brand_in_subject(facts.from_, facts.subject, message),
        *_fake_reply(facts.subject, facts, message),
        *_sending_host(facts.from_, message, context.lookups.host_lists),
        *_cheap_sender_domain(facts.from_, facts.envelope_sender, message),
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


def _without_list(
    reply_to: tuple[Address, ...], facts: MessageFacts
) -> tuple[Address, ...]:
    """Reply-To without the mailing list's own address: lists set it so that answers
    go to the list (the address in List-Post)."""
    posts = " ".join(facts.header("List-Post")).lower()
    return tuple(a for a in reply_to if not a.address or a.address not in posts)


def _same_sender(domain: str, from_domain: str) -> bool:
    """Free mailboxes are anyone's: only the same one is the same sender."""
    free = {organisational_domain(d) for d in (domain, from_domain)} & lexicon.FREEMAIL
    if free:
        return organisational_domain(domain) == organisational_domain(from_domain)
    return related(domain, from_domain)


def _reply_to(
    from_: Address, reply_to: tuple[Address, ...], message: EntityRef
) -> list[Finding]:
    other = [
        a for a in reply_to if a.domain and not _same_sender(a.domain, from_.domain)
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
    if (
        not shown
        and domain
        and under_public_suffix(domain.group(1))
        and not related(domain.group(1), from_.domain)
    ):
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


def _own_domains(context: AnalyzerContext) -> tuple[str, ...]:
    """The organisation's domains; without configured ones, the recipients' domains,
    which are the organisation's when a user reports mail they received."""
    if context.lookups.org_domains:
        return tuple(context.lookups.org_domains)
    return tuple(sorted({a.domain for a in context.message.recipients if a.domain}))


def _brand(
    from_: Address, message: EntityRef, org_domains: tuple[str, ...]
) -> list[Finding]:
    name = without_invisible(from_.display_name)
    # A mailing list rewrites From to "Name via List <list@...>": the name is the
    # original sender's claim, the address the list's.
    name = re.split(r"\s{1,5}via\s{1,5}", " ".join(name.split()), maxsplit=1)[0]
    brand = named_brand(name)
    if brand is None:
        return []
    owners = BRANDS[brand] or org_domains
    if not owners:
        return []  # a generic name ("IT Support") needs the organisation's domains
    if _owned_by(owners, from_.domain):
        return []
    from_org = organisational_domain(from_.domain)
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


def _owned_by(owners: tuple[str, ...], domain: str) -> bool:
    """True when ``domain`` is one of ``owners`` or under one, by organisation."""
    own = organisational_domain(domain)
    return any(own == organisational_domain(owner) for owner in owners)


def _freemail(
    from_: Address, subject: str, attached: bool, message: EntityRef
) -> list[Finding]:
    """Organisations send from their own domains; a free mailbox that calls itself a
    company, or claims an invoice or a parcel, is someone pretending to be one. Both
    at once, or a claim with a document attached, weigh more."""
    if organisational_domain(from_.domain) not in lexicon.FREEMAIL:
        return []
    if from_.address.partition("@")[0] in ("mailer-daemon", "postmaster"):
        return []  # the provider's own bounces
    name = without_invisible(from_.display_name).lower()
    claim = lexicon.BUSINESS_CLAIM.search(_plain(subject))
    named = lexicon.ORGANISATION_WORDS.search(name.replace("_", " ")) or re.search(
        r"_{2,}", name
    )
    if not (claim or named):
        return []
    why = []
    if named:
        why.append(f"its name {from_.display_name!r} is an organisation's")
    if claim:
        why.append(f"its subject claims business ({claim.group(0)!r})")
        if attached:
            why.append("a document comes with it")
    severity = Severity.MEDIUM if len(why) > 1 else Severity.LOW
    return [
        Finding(
            NAME,
            message,
            "freemail-organisation",
            severity,
            f"sent from a free mailbox at {from_.domain}, yet {' and '.join(why)}",
            {"from": from_.address},
        )
    ]


def _plain(text: str) -> str:
    return without_invisible(text).lower().replace("_", " ")


def _brand_in_subject(
    from_: Address, subject: str, message: EntityRef
) -> list[Finding]:
    """A subject that puts a brand beside an invoice, an order or an account, on
    mail from none of the brand's domains."""
    plain = _plain(subject)
    claim = lexicon.BUSINESS_CLAIM.search(plain) or re.search(
        r"\b(account|konto|cuenta|conta|compte)\b", plain
    )
    brand = named_brand(subject) if claim else None
    if brand is None or not BRANDS[brand] or len(brand) < 4:
        return []
    if _owned_by(BRANDS[brand], from_.domain):
        return []
    return [
        Finding(
            NAME,
            message,
            "brand-in-subject",
            Severity.LOW,
            f"the subject speaks of a {brand} {claim.group(0)} but the mail is from "  # type: ignore[union-attr]
            f"{from_.domain}",
            {"brand": brand, "from": from_.address},
        )
    ]


def _fake_reply(subject: str, facts: MessageFacts, message: EntityRef) -> list[Finding]:
    """A "Re:" on a message that answers nothing, or a "Fwd:" on one that forwards
    nothing: tricks to look like a thread."""
    if re.match(r"\s*(fwd?|wg|tr|rv|enc)\s*:", subject, re.I):
        return _fake_forward(facts, message)
    if not re.match(r"\s*(re|aw|sv|antw|res)\s*:", subject, re.I):
        return []
    if facts.answers_earlier:
        return []
    return [
        Finding(
            NAME,
            message,
            "fake-reply",
            Severity.LOW,
            "the subject says it is a reply, but the message answers no earlier one "
            "(no In-Reply-To or References)",
        )
    ]


def _sending_host(
    from_: Address, message: EntityRef, lists: lexicon.HostLists
) -> list[Finding]:
    domain = from_.domain.lower()
    if lists.listed(domain, lists.free_hosting):
        code, severity, what = (
            "sender-free-hosting",
            Severity.MEDIUM,
            "a free hosting service where anyone can take a name",
        )
    elif any(is_same_or_subdomain(domain, h) for h in lexicon.DYNAMIC_DNS):
        code, severity, what = (
            "sender-dynamic-dns",
            Severity.LOW,
            "a dynamic-DNS service where anyone can take a name",
        )
    elif is_same_or_subdomain(domain, "onmicrosoft.com"):
        code, severity, what = (
            "sender-default-tenant",
            Severity.LOW,
            "a Microsoft 365 tenant's default domain, which organisations rarely "
            "send from",
        )
    elif any(_SERVER_LABEL.match(label) for label in domain.split(".")[:-2]):
        code, severity, what = (
            "sender-server-name",
            Severity.LOW,
            "a server's host name rather than an organisation's mail domain",
        )
    else:
        return []
    return [
        Finding(
            NAME,
            message,
            code,
            severity,
            f"the From domain {domain} is {what}",
            {"from": from_.address},
        )
    ]


def _cheap_sender_domain(
    from_: Address, envelope_sender: str, message: EntityRef
) -> list[Finding]:
    """A From or envelope domain under a top-level domain that costs little and that
    phishing favours (see ``lexicon.cheap_suffix``)."""
    envelope = envelope_sender.rpartition("@")[2].lower().strip("<> ")
    for role, domain in (("From", from_.domain.lower()), ("envelope sender", envelope)):
        cheap = lexicon.cheap_suffix(domain) if domain else ""
        if cheap:
            return [
                Finding(
                    NAME,
                    message,
                    "sender-cheap-tld",
                    Severity.LOW,
                    f"the {role} domain {domain} is under {cheap}, which phishing "
                    "favours",
                    {"domain": domain},
                )
            ]
    return []


_FORWARDED = re.compile(
    r"forwarded message|begin forwarded|original message|mensagem original|"
    r"mensaje original|ursprüngliche nachricht|message d'origine|"
    r"doorgestuurd bericht|^[ \t>]{0,20}(from|de|von|van|da)[ \t]{0,5}:",
    re.I | re.M,
)


def _fake_forward(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    if any(a.message is not None for a in facts.attachments):
        return []
    body = f"{facts.text_body[:20000]} {facts.html_body[:50000]}"
    if _FORWARDED.search(body):
        return []
    return [
        Finding(
            NAME,
            message,
            "fake-forward",
            Severity.LOW,
            "the subject says it forwards a message, but nothing forwarded is in it",
        )
    ]
