"""YARA: the organisation's rules and heron's own, matched against every file and
the HTML body. A match is a finding with the rule's severity and description."""

from __future__ import annotations

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import Severity

NAME = "yara"
SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}


@analyzer(
    NAME,
    accepts=(EntityType.FILE, EntityType.MESSAGE),
    needs=("yara",),
    description="Matches YARA rules against every attachment and the HTML body.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    rules = context.lookups.yara
    if rules is None:
        return AnalyzerResult.not_applicable("no YARA rules are loaded")
    facts = context.message
    targets: list[tuple[EntityRef, str, bytes]] = [
        (EntityRef(EntityType.FILE, a.sha256), a.filename or a.sha256[:12], a.payload)
        for a in {a.sha256: a for a in facts.every_attachment()}.values()
        if a.payload
    ]
    if facts.html_body:
        targets.append(
            (
                context.entity,
                "the HTML body",
                facts.html_body.encode("utf-8", "surrogatepass"),
            )
        )
    if not targets:
        return AnalyzerResult.not_applicable("no files and no HTML body to match")
    findings = [
        Finding(
            NAME,
            entity,
            match.rule,
            SEVERITY[match.severity],
            f"{where}: {match.description} (YARA {match.rule} in {match.source})",
            {"rule": match.rule, "source": match.source},
        )
        for entity, where, data in targets
        for match in rules.match(data)
    ]
    return AnalyzerResult.from_findings(
        findings,
        "; ".join(f.summary for f in findings),
        clean_summary=f"{len(targets)} buffer(s) matched no rule",
    )
