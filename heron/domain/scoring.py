"""Turning findings into verdicts.

The rule, stated once: an entity with any high finding is malicious; one whose low and
medium findings add up to ``SUSPICIOUS_POINTS`` or more is suspicious, and to
``MALICIOUS_POINTS`` or more malicious; an entity some analyzer examined without
finding anything worse than informational is clean; an entity nothing examined is
unknown. A message also takes the worst verdict of the urls and files it carries,
and its weak signals add up with theirs (see ``message_verdict``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from heron.domain.entities import EntityRef, EntityVerdict, Finding
from heron.domain.verdicts import Severity, Verdict, worst

POINTS = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 6,
}
SUSPICIOUS_POINTS = 2
MALICIOUS_POINTS = 6


def entity_verdict(entity: EntityRef, findings: Iterable[Finding]) -> EntityVerdict:
    """The verdict of one entity from the findings about it alone."""
    own = tuple(f for f in findings if f.entity == entity)
    if not own:
        return EntityVerdict(entity, Verdict.UNKNOWN, ())
    points = sum(POINTS[f.severity] for f in own)
    bad = tuple(f for f in own if f.severity is not Severity.INFORMATIONAL)
    if points >= MALICIOUS_POINTS:
        return EntityVerdict(entity, Verdict.MALICIOUS, _by_severity(bad))
    if points >= SUSPICIOUS_POINTS:
        return EntityVerdict(entity, Verdict.SUSPICIOUS, _by_severity(bad))
    if bad:
        # Known limit: a single low finding leaves the entity clean with that finding
        # shown; a second weak signal is what turns it suspicious.
        return EntityVerdict(entity, Verdict.CLEAN, _by_severity(own))
    return EntityVerdict(entity, Verdict.CLEAN, own)


def message_verdict(
    message: EntityRef,
    findings: Iterable[Finding],
    carried: Mapping[EntityRef, EntityVerdict],
) -> EntityVerdict:
    """A message's verdict: its own findings together with those of what it carries.

    ``carried`` holds the verdicts of the urls, files, senders and domains of this
    message. A carried threat is the message's threat. Weak signals add up across the
    message and its entities, each kind of signal (analyzer and code) counted once at
    its worst, so that ten links carrying the same weak sign weigh as one.
    """
    findings = list(findings)
    own = entity_verdict(message, findings)
    scope = {message, *carried}
    relevant = [f for f in findings if f.entity in scope]
    strongest: dict[tuple[str, str], Finding] = {}
    for finding in relevant:
        key = (finding.analyzer, finding.code)
        if key not in strongest or finding.severity.rank > strongest[key].severity.rank:
            strongest[key] = finding
    points = sum(POINTS[f.severity] for f in strongest.values())
    threats = [v for v in carried.values() if v.verdict.is_threat]
    combined = Verdict.UNKNOWN if not relevant else Verdict.CLEAN
    if points >= MALICIOUS_POINTS:
        combined = Verdict.MALICIOUS
    elif points >= SUSPICIOUS_POINTS:
        combined = Verdict.SUSPICIOUS
    verdict = worst([own.verdict, combined, *(v.verdict for v in threats)])
    if verdict is own.verdict:
        return own
    bad = [f for f in strongest.values() if f.severity is not Severity.INFORMATIONAL]
    reasons = bad + [f for v in threats for f in v.reasons if f not in bad]
    return EntityVerdict(message, verdict, _by_severity(reasons or relevant))


def _by_severity(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: -f.severity.rank))
