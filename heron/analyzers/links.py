"""How links are built: what a link shows against where it goes, raw ip hosts,
userinfo tricks, shorteners, free hosting, cheap domains and links that carry the
recipient's address. Structure only; nothing is fetched."""

from __future__ import annotations

import re
import unicodedata

from heron.analyzers import lexicon
from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.lookalike import unicode_name
from heron.domain.names import (
    is_ip,
    organisational_domain,
    related,
)
from heron.domain.rewriters import unwrap
from heron.domain.verdicts import Severity
from heron.mail.facts import Url

NAME = "links"
# Distinct links from which a message reads as a newsletter: among that many, one
# carrying the reader's address is a mailing's own tracking, not a phishing kit's.
NEWSLETTER_LINKS = 25
_SHOWN_HOST = re.compile(
    r"(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#\s]|$)", re.I
)


@analyzer(
    NAME,
    accepts=(EntityType.URL,),
    description="Checks how each link is built and where it really points.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts = context.message
    urls = list({u.url: u for u in facts.every_url()}.values())
    recipients = [a.address for a in facts.recipients if a.address]
    sender = organisational_domain(facts.from_.domain) if facts.from_ else ""
    newsletter = len(urls) >= NEWSLETTER_LINKS
    lists = context.lookups.host_lists
    findings = [
        f
        for url in urls
        for f in examine(url, recipients, sender, newsletter=newsletter, lists=lists)
    ]
    bad = [f for f in findings if f.severity.rank > 0]
    return AnalyzerResult.from_findings(
        findings,
        f"{len({f.entity for f in bad})} of {len(urls)} link(s) look deceptive",
        clean_summary=f"{len(urls)} link(s), none built to deceive",
    )


def examine(
    url: Url,
    recipients: list[str],
    sender: str = "",
    *,
    newsletter: bool = False,
    lists: lexicon.HostLists = lexicon.DEFAULT_HOST_LISTS,
) -> list[Finding]:
    """Findings about one link; an informational one when nothing is wrong.

    ``sender`` is the organisational domain of From: a link to the sender's own site
    that shows another name, or carries the reader's address, is how newsletters
    track clicks, not a deception."""
    entity = EntityRef(EntityType.URL, url.url)
    host = url.host.lower().strip("[]")
    own_site = bool(sender) and related(host, sender)
    findings: list[Finding] = []

    def add(code: str, severity: Severity, summary: str) -> None:
        findings.append(
            Finding(NAME, entity, code, severity, summary, {"url": url.url[:500]})
        )

    scheme = url.url.split(":", 1)[0].lower()
    if scheme in ("javascript", "data", "vbscript"):
        # Mail clients do not run javascript: links; old newsletters are full of
        # them. A data: link opens a page carried inside the link itself.
        add(
            "script-link",
            Severity.INFORMATIONAL if scheme == "javascript" else Severity.LOW,
            f"a {scheme}: link runs or embeds content in place",
        )
    shown = _shown_host(url.anchor_text)
    if shown and host and organisational_domain(shown) != organisational_domain(host):
        add(
            "anchor-mismatch",
            _mismatch_severity(url, shown, recipients, own_site),
            f"the link shows {shown} but goes to {host}",
        )
    if is_ip(host):
        # Weak alone (old newsletters linked to their servers by address); with a
        # login form or a lure it adds up.
        add("ip-host", Severity.LOW, f"the link goes to a bare ip address {host}")
    if "@" in url.url.split("//", 1)[-1].split("/", 1)[0]:
        add("userinfo", Severity.MEDIUM, "the link hides its host behind user@ text")
    if lists.listed(host, lists.shorteners):
        add(
            "shortener",
            Severity.LOW,
            f"{host} is a link shortener that hides the target",
        )
    if lists.listed(host, lists.free_hosting) or _CLOUD_STORAGE.search(host):
        add("free-hosting", Severity.LOW, f"{host} hosts pages anyone can publish")
    if lists.listed(host, lists.file_sharing):
        add(
            "file-sharing",
            Severity.LOW,
            f"{host} hands over files that no mail filter scanned",
        )
    symbols = _symbols_in(host)
    if symbols:
        add(
            "symbol-host",
            Severity.MEDIUM,
            f"{host} spells {symbols!r} in its name: symbols no real site uses",
        )
    if url.defanged:
        add(
            "defanged",
            Severity.LOW,
            "the link is written defanged (hxxp, [.]), a way past link scanners",
        )
    cheap = lexicon.cheap_suffix(host)
    if cheap:
        add(
            "cheap-tld",
            Severity.LOW,
            f"{host} is under {cheap}, which phishing favours",
        )
    lowered = url.url.lower()
    if not own_site and any(r in lowered for r in recipients):
        add(
            "recipient-in-link",
            Severity.INFORMATIONAL if newsletter else Severity.LOW,
            "the link carries the recipient's address"
            + (", as newsletters' many links do" if newsletter else ""),
        )
    if url.wrapped_by:
        add(
            "unwrapped",
            Severity.INFORMATIONAL,
            f"wrapped by {url.wrapped_by}; the target is what heron checks",
        )
    if all(f.severity is Severity.INFORMATIONAL for f in findings):
        add("link-ok", Severity.INFORMATIONAL, "built plainly")
    return findings


# Cloud storage buckets anyone can fill: s3.<region>.amazonaws.com and its kin.
_CLOUD_STORAGE = re.compile(
    r"(^|\.)s3[.-]([a-z0-9-]+\.)?amazonaws\.com$|\.blob\.core\.windows\.net$", re.I
)


def _symbols_in(host: str) -> str:
    """The pictographs and symbols an internationalised host name decodes to."""
    shown = ".".join(unicode_name(label) for label in host.split("."))
    return "".join(ch for ch in shown if unicodedata.category(ch) in ("So", "Sk", "Sm"))


def _mismatch_severity(
    url: Url, shown: str, recipients: list[str], own_site: bool
) -> Severity:
    """Showing the reader's own domain is the deception itself (medium); a click
    tracker, or the sender's own site, shows another name for ordinary reasons
    (informational); anything else is low."""
    shown_org = organisational_domain(shown)
    readers = {organisational_domain(r.rpartition("@")[2]) for r in recipients}
    if shown_org in readers:
        return Severity.MEDIUM
    if own_site or _CLICK_TRACKER.search(url.url):
        return Severity.INFORMATIONAL
    return Severity.LOW


# Paths of newsletters' click-tracking redirects: /Click?q=, /ls/click, /c/123/.
_CLICK_TRACKER = re.compile(
    r"^https?://[^/]+/(?:[^?#]*/)?(?:click|clickthru|ls/click|c/\d+|track/click|"
    r"redirect|r/\w+)(?:[/?]|$)",
    re.I,
)


def _shown_host(anchor_text: str) -> str | None:
    text = anchor_text.strip()
    if text.lower().startswith(("http://", "https://")):
        # Text that is itself a wrapped link shows the wrapped target.
        text = unwrap(text.split()[0])[0]
    match = _SHOWN_HOST.search(text)
    if not match or " " in text[: match.start()].strip():
        return None
    return match.group(1).lower()
