"""URL and file-hash reputation from the loaded threat-intel feeds.

A url is looked up as written, then by its host and the host's organisational domain
(or, for a host written as an ip address, by that address and the networks holding it);
a file by its sha256, sha1 and md5; the sending ip by its address and networks. A hit
is a high finding on the entity; an entity that was looked up without a hit gets an
informational finding, so "checked and not listed" stays distinct from "could not
check".
"""

from __future__ import annotations

from collections.abc import Sequence

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, IntelLookup, analyzer
from heron.analyzers.indicators import sending_ip
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import is_ip, organisational_domain
from heron.domain.verdicts import Severity
from heron.mail.facts import Attachment, Url

URLS = "url-reputation"
FILES = "file-reputation"
IPS = "ip-reputation"


@analyzer(
    URLS,
    accepts=(EntityType.URL, EntityType.DOMAIN),
    needs=("intel",),
    description="Looks up each url and its domain in the threat-intel feeds.",
)
def check_urls(context: AnalyzerContext) -> AnalyzerResult:
    intel = context.lookups.intel
    if intel is None or context.lookups.intel_size == 0:
        return AnalyzerResult.not_applicable("no threat-intel feeds are loaded")
    urls = _unique_urls(context.message.every_url())
    findings = [url_finding(intel, url) for url in urls]
    hits = [f for f in findings if f.severity.rank > 0]
    return AnalyzerResult.from_findings(
        findings,
        f"{len(hits)} of {len(urls)} url(s) listed in threat intel",
        clean_summary=f"{len(urls)} url(s) not listed in {context.lookups.intel_size} indicators",
    )


@analyzer(
    FILES,
    accepts=(EntityType.FILE,),
    needs=("intel",),
    description="Looks up each attachment's hashes in the threat-intel feeds.",
)
def check_files(context: AnalyzerContext) -> AnalyzerResult:
    intel = context.lookups.intel
    if intel is None or context.lookups.intel_size == 0:
        return AnalyzerResult.not_applicable("no threat-intel feeds are loaded")
    files = list({a.sha256: a for a in context.message.every_attachment()}.values())
    findings = [_file_finding(intel, attachment) for attachment in files]
    hits = [f for f in findings if f.severity.rank > 0]
    return AnalyzerResult.from_findings(
        findings,
        f"{len(hits)} of {len(files)} file(s) listed in threat intel",
        clean_summary=f"{len(files)} file(s) not listed in {context.lookups.intel_size} indicators",
    )


@analyzer(
    IPS,
    accepts=(EntityType.IP,),
    needs=("intel",),
    description="Looks up the sending ip in the threat-intel feeds, by address and network.",
)
def check_sending_ip(context: AnalyzerContext) -> AnalyzerResult:
    intel = context.lookups.intel
    if intel is None or context.lookups.intel_size == 0:
        return AnalyzerResult.not_applicable("no threat-intel feeds are loaded")
    ip = sending_ip(context.message)
    if not ip:
        return AnalyzerResult.not_applicable(
            "no public sending ip in the Received chain"
        )
    entity = EntityRef(EntityType.IP, ip)
    hits = intel.lookup_ip(ip)
    if hits:
        finding = _hit(IPS, entity, hits, f"the sending ip {ip} is listed")
        return AnalyzerResult.from_findings([finding], finding.summary)
    finding = Finding(
        IPS, entity, "not-listed", Severity.INFORMATIONAL, "not listed in threat intel"
    )
    return AnalyzerResult.from_findings(
        [finding], "", clean_summary=f"the sending ip {ip} is not listed"
    )


def _unique_urls(urls: list[Url]) -> list[Url]:
    return list({u.url: u for u in urls}.values())


def url_finding(intel: IntelLookup, url: Url) -> Finding:
    """What intel says of a url: the url, its host or its organisational domain listed
    (code ``intel-hit``), else ``not-listed``."""
    entity = EntityRef(EntityType.URL, url.url)
    checks = [("url", url.url, "the url")]
    if is_ip(url.host):
        checks.append(("ip", url.host.strip("[]"), f"its host {url.host}"))
    elif url.host:
        checks.append(("domain", url.host, f"its host {url.host}"))
        org = organisational_domain(url.host)
        if org != url.host:
            checks.append(("domain", org, f"its domain {org}"))
    for kind, value, what in checks:
        hits = intel.lookup_ip(value) if kind == "ip" else intel.lookup(kind, value)
        if hits:
            return _hit(URLS, entity, hits, f"{what} is listed")
    return Finding(
        URLS, entity, "not-listed", Severity.INFORMATIONAL, "not listed in threat intel"
    )


def _file_finding(intel: IntelLookup, attachment: Attachment) -> Finding:
    entity = EntityRef(EntityType.FILE, attachment.sha256)
    for kind, value in (
        ("sha256", attachment.sha256),
        ("sha1", attachment.sha1),
        ("md5", attachment.md5),
    ):
        hits = intel.lookup(kind, value)
        if hits:
            return _hit(
                FILES,
                entity,
                hits,
                f"{attachment.filename or 'the file'}'s {kind} is listed",
            )
    return Finding(
        FILES,
        entity,
        "not-listed",
        Severity.INFORMATIONAL,
        "not listed in threat intel",
    )


def _hit(
    analyzer_name: str, entity: EntityRef, hits: Sequence[object], what: str
) -> Finding:
    feeds = sorted({str(getattr(h, "feed", "")) for h in hits})
    threats = sorted(
        {str(getattr(h, "threat", "")) for h in hits} - {"", "unspecified"}
    )
    summary = f"{what} in {', '.join(feeds)}" + (
        f" as {', '.join(threats)}" if threats else ""
    )
    references = sorted({str(getattr(h, "reference", "")) for h in hits} - {""})[:5]
    return Finding(
        analyzer_name,
        entity,
        "intel-hit",
        Severity.HIGH,
        summary,
        {"feeds": feeds, "threats": threats, "references": references},
    )
