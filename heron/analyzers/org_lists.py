"""The organisation's own allow and block list.

A block entry that matches the sender, a url or a file is a high finding; an allow entry
is recorded as informational and never hides a threat found by another analyzer.
"""

from __future__ import annotations

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, ListMatch, analyzer
from heron.analyzers.indicators import sending_ip
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import Severity

NAME = "org-lists"


@analyzer(
    NAME,
    accepts=(EntityType.SENDER, EntityType.URL, EntityType.FILE, EntityType.IP),
    needs=("org_lists",),
    description="Matches sender, urls, files and sending ip against the allow and block list.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    lists = context.lookups.org_lists
    if lists is None:
        return AnalyzerResult.not_applicable("no allow or block list is configured")
    facts = context.message
    candidates: list[tuple[EntityRef, ListMatch | None]] = []
    for address in {
        facts.from_.address if facts.from_ else "",
        facts.envelope_sender,
    } - {""}:
        candidates.append(
            (EntityRef(EntityType.SENDER, address), lists.match_sender(address))
        )
    for url in {u.url for u in facts.every_url()}:
        candidates.append((EntityRef(EntityType.URL, url), lists.match_url(url)))
    for sha256 in {a.sha256 for a in facts.every_attachment()}:
        candidates.append(
            (EntityRef(EntityType.FILE, sha256), lists.match_hash(sha256))
        )
    ip = sending_ip(facts)
    if ip:
        candidates.append((EntityRef(EntityType.IP, ip), lists.match_ip(ip)))
    findings = [
        _finding(entity, match) for entity, match in candidates if match is not None
    ]
    blocked = [f for f in findings if f.severity.rank > 0]
    return AnalyzerResult.from_findings(
        findings,
        "; ".join(f.summary for f in blocked),
        clean_summary=f"{len(candidates)} value(s) checked, none blocked",
    )


def _finding(entity: EntityRef, match: ListMatch) -> Finding:
    details = {"list": match.list, "kind": match.kind, "value": match.value}
    if match.list == "block":
        return Finding(
            NAME,
            entity,
            "blocked",
            Severity.HIGH,
            f"{entity.value} is on the organisation's block list ({match.kind} {match.value})",
            details,
        )
    return Finding(
        NAME,
        entity,
        "allowed",
        Severity.INFORMATIONAL,
        f"{entity.value} is on the organisation's allow list ({match.kind} {match.value})",
        details,
    )
