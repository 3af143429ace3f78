"""Sender authentication from the trusted receiving hop, with DMARC alignment.

Only one Authentication-Results header is evidence: the topmost one, which the
organisation's receiving server added last, or, when trusted authserv-ids are
configured, the topmost header with one of those ids. Headers from other hops are
ignored; with trusted authserv-ids configured, one below the trusted header that
names the trusted hop was forged by whoever sent the message, and is a finding.
heron does not take the DMARC result from the header; it checks alignment itself: the
From domain aligns with an SPF or DKIM domain when both have the same organisational
domain (relaxed alignment).
"""

from __future__ import annotations

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity
from heron.mail.facts import AuthenticationResults, AuthResult

NAME = "authentication"


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE,),
    needs=("trusted_authserv_ids",),
    description="SPF, DKIM and DMARC alignment from the trusted hop's Authentication-Results.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    header = trusted_header(
        facts.authentication_results, context.lookups.trusted_authserv_ids
    )
    if header is None:
        return AnalyzerResult.not_applicable(
            "no Authentication-Results from a trusted hop"
        )
    from_domain = facts.from_.domain if facts.from_ else ""
    findings = [
        *_composite(header, message),
        *_spf(header, message),
        *_dkim(header, message),
        _alignment(header, from_domain, message, context.lookups.org_domains),
        *_ignored_headers(
            facts.authentication_results,
            header,
            message,
            bool(context.lookups.trusted_authserv_ids),
        ),
    ]
    summary = "; ".join(f.summary for f in findings if f.severity.rank > 0)
    return AnalyzerResult.from_findings(
        findings,
        summary,
        clean_summary=f"authenticated by {header.authserv_id or 'receiving hop'}",
    )


def trusted_header(
    headers: tuple[AuthenticationResults, ...], trusted_ids: tuple[str, ...]
) -> AuthenticationResults | None:
    """The one header heron believes: the topmost, or the topmost with a trusted id."""
    if not trusted_ids:
        return headers[0] if headers else None
    wanted = {t.lower() for t in trusted_ids}
    return next((h for h in headers if h.authserv_id.lower() in wanted), None)


def _hop(header: AuthenticationResults) -> str:
    """The hop's name for a summary, even when its header names none."""
    return header.authserv_id or "the receiving hop (no authserv-id)"


def _results(header: AuthenticationResults, method: str) -> list[AuthResult]:
    return [r for r in header.results if r.method.lower() == method]


def _spf(header: AuthenticationResults, message: EntityRef) -> list[Finding]:
    results = _results(header, "spf")
    if not results:
        return []
    result = results[0]
    domain = result.properties.get("smtp.mailfrom", "").rpartition("@")[2]
    outcome = result.result.lower()
    severity = {
        "fail": Severity.MEDIUM,
        # softfail and permerror weigh through the alignment finding, not twice
    }.get(outcome, Severity.INFORMATIONAL)
    return [
        Finding(
            NAME,
            message,
            f"spf-{outcome}",
            severity,
            f"SPF {outcome} for {domain or 'an unnamed domain'} at {_hop(header)}",
            {"domain": domain, "hop": header.authserv_id, "reason": result.reason},
        )
    ]


def _composite(header: AuthenticationResults, message: EntityRef) -> list[Finding]:
    """Microsoft's composite authentication, when the trusted hop reports it."""
    failed = [
        r
        for r in _results(header, "compauth")
        if r.result.lower() in ("fail", "softfail")
    ]
    if not failed:
        return []
    reason = failed[0].properties.get("reason", failed[0].reason)
    return [
        Finding(
            NAME,
            message,
            "compauth-fail",
            Severity.MEDIUM,
            f"composite authentication {failed[0].result} at {_hop(header)}"
            + (f" (reason {reason})" if reason else ""),
            {"hop": header.authserv_id, "reason": reason},
        )
    ]


def _dkim(header: AuthenticationResults, message: EntityRef) -> list[Finding]:
    results = _results(header, "dkim")
    if not results:
        return []
    passing = [
        r.properties.get("header.d", "") for r in results if r.result.lower() == "pass"
    ]
    failing = [r for r in results if r.result.lower() in ("fail", "permerror")]
    if passing:
        return [
            Finding(
                NAME,
                message,
                "dkim-pass",
                Severity.INFORMATIONAL,
                f"DKIM signature of {', '.join(d for d in passing if d) or 'a domain'} verified",
                {"domains": passing, "hop": header.authserv_id},
            )
        ]
    if failing:
        domains = [r.properties.get("header.d", "") for r in failing]
        return [
            Finding(
                # The alignment finding carries the weight of a broken signature;
                # mailing lists break signatures of legitimate mail every day.
                NAME,
                message,
                "dkim-fail",
                Severity.INFORMATIONAL,
                f"DKIM signature of {', '.join(d for d in domains if d) or 'a domain'} "
                "did not verify",
                {"domains": domains, "hop": header.authserv_id},
            )
        ]
    return []


def _alignment(
    header: AuthenticationResults,
    from_domain: str,
    message: EntityRef,
    org_domains: tuple[str, ...] = (),
) -> Finding:
    if not from_domain:
        return Finding(
            NAME,
            message,
            "dmarc-no-from",
            Severity.MEDIUM,
            "no From domain to align: the message has no usable From address",
        )
    org = organisational_domain(from_domain)
    spf_domains = [
        r.properties.get("smtp.mailfrom", "").rpartition("@")[2]
        for r in _results(header, "spf")
        if r.result.lower() == "pass"
    ]
    dkim_domains = [
        r.properties.get("header.d", "")
        for r in _results(header, "dkim")
        if r.result.lower() == "pass"
    ]
    aligned = [
        d for d in spf_domains + dkim_domains if d and organisational_domain(d) == org
    ]
    details = {
        "from_domain": from_domain,
        "spf_pass": spf_domains,
        "dkim_pass": dkim_domains,
        "hop": header.authserv_id,
    }
    if aligned:
        return Finding(
            NAME,
            message,
            "dmarc-aligned",
            Severity.INFORMATIONAL,
            f"From domain {from_domain} aligned with authenticated {aligned[0]}",
            details,
        )
    if any(organisational_domain(d) == org for d in org_domains):
        return Finding(
            NAME,
            message,
            "own-domain-spoof",
            Severity.HIGH,
            f"From claims the organisation's own domain {from_domain} but neither SPF nor "
            "DKIM authenticated it",
            details,
        )
    claimed = _results(header, "dmarc")
    policy = _dmarc_policy(claimed)
    severity = Severity.MEDIUM if policy in ("reject", "quarantine") else Severity.LOW
    named = sorted({d for d in spf_domains + dkim_domains if d})
    if named:
        why = f"only {', '.join(named)} authenticated"
    elif spf_domains or dkim_domains:
        why = "a check passed, but for no domain the header names"
    else:
        why = "neither SPF nor DKIM passed"
    return Finding(
        NAME,
        message,
        "dmarc-unaligned",
        severity,
        f"From domain {from_domain} is not authenticated: {why}"
        + (f" (its DMARC policy is {policy})" if policy else ""),
        {**details, "policy": policy},
    )


def _dmarc_policy(results: list[AuthResult]) -> str:
    for result in results:
        for key in ("policy.published-domain-policy", "p", "policy.dmarc"):
            if key in result.properties:
                return result.properties[key].lower()
        if "action" in result.properties:
            action = result.properties["action"].lower()
            if action in ("reject", "quarantine", "oreject"):
                return "reject" if action == "oreject" else action
    return ""


def _ignored_headers(
    headers: tuple[AuthenticationResults, ...],
    used: AuthenticationResults,
    message: EntityRef,
    configured: bool,
) -> list[Finding]:
    others = [h for h in headers if h is not used]
    if not others:
        return []
    found: list[Finding] = []
    # Only a configured authserv-id says whose name a header may not carry: without
    # one, the topmost id is a provider's (mx.google.com), which stamps each of its
    # hops, so a message forwarded through it carries that name more than once.
    forged = [
        h
        for h in headers[headers.index(used) + 1 :]
        if configured
        and used.authserv_id
        and h.authserv_id.lower() == used.authserv_id.lower()
    ]
    if forged:
        # The trusted hop adds its header once, on top of what it received; the same
        # name further down was in the message before the message reached it.
        found.append(
            Finding(
                NAME,
                message,
                "forged-authentication-results",
                Severity.MEDIUM,
                f"{len(forged)} Authentication-Results header(s) claim to come from "
                f"{used.authserv_id} but were in the message before it arrived there",
                {
                    "authserv_id": used.authserv_id,
                    "claimed": [h.raw[:300] for h in forged],
                },
            )
        )
    ids = sorted({h.authserv_id or "(none)" for h in others})
    return found + [
        Finding(
            NAME,
            message,
            "untrusted-authentication-results",
            Severity.INFORMATIONAL,
            f"ignored {len(others)} Authentication-Results from hops heron does not trust: "
            + ", ".join(ids),
            {"authserv_ids": ids},
        )
    ]
