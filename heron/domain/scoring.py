"""Turning findings into verdicts.

The rule, stated once: every finding is worth points (by default by its severity:
informational 0, low 1, medium 2, high 6; ``Weights`` overrides them per analyzer or per
analyzer and code). An entity whose findings add up to ``Weights.malicious`` points (6 by
default, so one high finding) is malicious; to ``Weights.suspicious`` (2) suspicious; an
entity some analyzer examined without reaching that is clean; an entity nothing examined,
or only analyzers that could not check it (code ``could-not-check``), is unknown. A
message also takes the worst verdict of the urls and files it carries,
and its weak signals add up with theirs (see ``message_verdict``). Every verdict keeps
its reasons: the findings that made it, worth most first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from heron.domain.entities import EntityRef, EntityVerdict, Finding
from heron.domain.verdicts import Severity, Verdict, worst

POINTS = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 6,
}
SUSPICIOUS_POINTS = 2
# The finding code of an analyzer that could not examine an entity (a system library
# or tool it needs is missing): such findings alone leave the entity unknown, not clean.
COULD_NOT_CHECK = "could-not-check"
MALICIOUS_POINTS = 6


@dataclass(frozen=True)
class Weights:
    """What each finding is worth, and the points each verdict needs.

    ``overrides`` maps ``analyzer`` or ``analyzer/code`` to points; the more specific
    key wins, and a finding no key names is worth its severity's points. An
    informational finding is worth nothing unless a key names it.
    """

    overrides: Mapping[str, int] = field(default_factory=dict)
    suspicious: int = SUSPICIOUS_POINTS
    malicious: int = MALICIOUS_POINTS

    def points(self, finding: Finding) -> int:
        specific = f"{finding.analyzer}/{finding.code}"
        if specific in self.overrides:
            return self.overrides[specific]
        if finding.analyzer in self.overrides and finding.severity.rank > 0:
            return self.overrides[finding.analyzer]
        return POINTS[finding.severity]


DEFAULT_WEIGHTS = Weights()


def entity_verdict(
    entity: EntityRef, findings: Iterable[Finding], weights: Weights = DEFAULT_WEIGHTS
) -> EntityVerdict:
    """The verdict of one entity from the findings about it alone."""
    own = tuple(f for f in findings if f.entity == entity)
    if not own:
        return EntityVerdict(entity, Verdict.UNKNOWN, ())
    points = sum(weights.points(f) for f in own)
    counted = [f for f in own if weights.points(f) > 0]
    if points >= weights.malicious:
        return EntityVerdict(entity, Verdict.MALICIOUS, _by_worth(counted, weights))
    if points >= weights.suspicious:
        return EntityVerdict(entity, Verdict.SUSPICIOUS, _by_worth(counted, weights))
    if all(f.code == COULD_NOT_CHECK for f in own):
        # Nothing examined it: an analyzer said it lacked what it needed.
        return EntityVerdict(entity, Verdict.UNKNOWN, own)
    # Known limit: weak signals below the suspicious threshold leave the entity clean;
    # they stay listed among its reasons, worth most first, so a reader sees them.
    return EntityVerdict(entity, Verdict.CLEAN, _by_worth(own, weights))


def message_verdict(
    message: EntityRef,
    findings: Iterable[Finding],
    carried: Mapping[EntityRef, EntityVerdict],
    weights: Weights = DEFAULT_WEIGHTS,
) -> EntityVerdict:
    """A message's verdict: its own findings together with those of what it carries.

    ``carried`` holds the verdicts of the urls, files, senders and domains of this
    message. A carried threat is the message's threat. Weak signals add up across the
    message and its entities, each kind of signal (analyzer and code) counted once at
    its worst, so that ten links carrying the same weak sign weigh as one.
    """
    findings = list(findings)
    own = entity_verdict(message, findings, weights)
    scope = {message, *carried}
    relevant = [f for f in findings if f.entity in scope]
    strongest: dict[tuple[str, str], Finding] = {}
    for finding in relevant:
        key = (finding.analyzer, finding.code)
        if key not in strongest or weights.points(finding) > weights.points(
            strongest[key]
        ):
            strongest[key] = finding
    points = sum(weights.points(f) for f in strongest.values())
    threats = [v for v in carried.values() if v.verdict.is_threat]
    combined = Verdict.UNKNOWN if not relevant else Verdict.CLEAN
    if points >= weights.malicious:
        combined = Verdict.MALICIOUS
    elif points >= weights.suspicious:
        combined = Verdict.SUSPICIOUS
    verdict = worst([own.verdict, combined, *(v.verdict for v in threats)])
    counted = [f for f in strongest.values() if weights.points(f) > 0]
    if verdict is own.verdict and verdict is not Verdict.CLEAN:
        # Its own findings decided, but what it carries may weigh more: a listed url
        # belongs among the reasons whichever made the verdict first.
        counted = [*own.reasons, *(f for f in counted if f not in own.reasons)]
    reasons = counted + [f for v in threats for f in v.reasons if f not in counted]
    return EntityVerdict(message, verdict, _by_worth(reasons or relevant, weights))


def reason_view(
    finding: Finding, weights: Weights = DEFAULT_WEIGHTS
) -> dict[str, object]:
    """One reason as plain data: what was found, about what, and what it weighed."""
    return {
        "analyzer": finding.analyzer,
        "code": finding.code,
        "severity": finding.severity.value,
        "points": weights.points(finding),
        "entity": f"{finding.entity.type.value}:{finding.entity.value}",
        "summary": finding.summary,
    }


def _by_worth(findings: Iterable[Finding], weights: Weights) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (-weights.points(f), -f.severity.rank)))
