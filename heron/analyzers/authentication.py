"""Sender authentication, alignment-aware.

Evidence comes first from heron's own checks, when a DNS record source is configured
(``MessageFacts.verification``: DKIM signatures and SPF verified, the DMARC record
read). Otherwise from one Authentication-Results header: the topmost one, which the
organisation's receiving server added last, or, when trusted authserv-ids are
configured, the topmost header with one of those ids. Headers from other hops are
ignored; with trusted authserv-ids configured, one below the trusted header that
names the trusted hop was forged by whoever sent the message, and is a finding.

heron does not take the DMARC result from any header; it evaluates DMARC itself:
the From domain aligns with an SPF or DKIM domain when both have the same
organisational domain (relaxed), or are the same name when the DMARC record asks for
strict alignment (``adkim=s``, ``aspf=s``). Without a record, alignment is relaxed,
as DMARC's default is. The ARC chain is read and reported; a DMARC pass recorded by a
configured trusted sealer counts when forwarding broke authentication on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.names import organisational_domain
from heron.domain.scoring import COULD_NOT_CHECK
from heron.domain.verdicts import Severity
from heron.mail.facts import AuthenticationResults, AuthResult
from heron.mail.verification import ArcSet, DmarcRecord, Verification, read_arc

NAME = "authentication"


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE,),
    needs=("trusted_authserv_ids", "trusted_arc_sealers"),
    description="Verifies DKIM and SPF (or reads the trusted hop's results), evaluates "
    "DMARC alignment and reports the ARC chain.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    header = trusted_header(
        facts.authentication_results, context.lookups.trusted_authserv_ids
    )
    verified = facts.verification
    from_domain = facts.from_.domain if facts.from_ else ""
    evidence = _own_evidence(verified, from_domain) if verified else None
    if evidence is None and header is not None:
        evidence = _header_evidence(header)
    if evidence is None and verified is not None and (verified.dkim or verified.spf):
        return _could_not_check(verified, message)
    if evidence is None:
        return AnalyzerResult.not_applicable(
            "no Authentication-Results from a trusted hop and nothing heron could verify"
        )
    record = verified.dmarc if verified else None
    arc_sets = verified.arc.sets if verified else read_arc(facts.headers)
    findings = [
        *(_composite(header, message) if header else []),
        *evidence.findings(message),
        _alignment(evidence, from_domain, message, context, record, header),
        *_arc(arc_sets, header, verified, message),
        *(
            _ignored_headers(
                facts.authentication_results,
                header,
                message,
                bool(context.lookups.trusted_authserv_ids),
            )
            if header
            else []
        ),
    ]
    findings = _forgiven_by_arc(findings, arc_sets, context, message)
    summary = "; ".join(f.summary for f in findings if f.severity.rank > 0)
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=f"authenticated ({evidence.who})"
    )


def _could_not_check(verified: Verification, message: EntityRef) -> AnalyzerResult:
    """heron tried, but its records held nothing it needed, and no trusted hop said."""
    missing = ", ".join(verified.unknown[:5]) or "the records it needed"
    finding = Finding(
        NAME,
        message,
        COULD_NOT_CHECK,
        Severity.INFORMATIONAL,
        f"authentication could not be checked: {verified.source} had no answer for "
        f"{missing}, and no trusted hop's Authentication-Results say more",
        {"unknown": list(verified.unknown[:20]), "source": verified.source},
    )
    return AnalyzerResult.from_findings([finding], finding.summary)


@dataclass(frozen=True)
class Evidence:
    """SPF and DKIM outcomes from one source: heron's checks or the trusted hop."""

    who: str
    spf: tuple[str, str, str] | None  # result, domain, reason
    dkim: tuple[tuple[str, str, str], ...]  # result, domain, reason per signature
    hop: str

    @property
    def spf_pass(self) -> list[str]:
        return [self.spf[1]] if self.spf and self.spf[0] == "pass" else []

    @property
    def dkim_pass(self) -> list[str]:
        return [d for result, d, _ in self.dkim if result == "pass"]

    def findings(self, message: EntityRef) -> list[Finding]:
        return [
            *self._spf_finding(message),
            *self._dkim_finding(message),
            *self._partial_body(message),
            *self._skipped(message),
        ]

    def _skipped(self, message: EntityRef) -> list[Finding]:
        skipped = [d for result, d, _ in self.dkim if result == "skipped"]
        if not skipped:
            return []
        return [
            Finding(
                NAME,
                message,
                "dkim-unchecked",
                Severity.INFORMATIONAL,
                f"{len(skipped)} more DKIM signature(s) not checked "
                f"({', '.join(sorted(set(d for d in skipped if d))[:5]) or 'no domain'})",
                {"domains": skipped[:20]},
            )
        ]

    def _partial_body(self, message: EntityRef) -> list[Finding]:
        partial = [
            (d, r)
            for result, d, r in self.dkim
            if result == "pass" and r.startswith("l=")
        ]
        if not partial:
            return []
        domain, reason = partial[0]
        return [
            Finding(
                NAME,
                message,
                "dkim-partial-body",
                Severity.LOW,
                f"DKIM signature of {domain} covers part of the body only ({reason}); "
                "text after it may have been added by anyone",
                {"domain": domain, "reason": reason},
            )
        ]

    def _spf_finding(self, message: EntityRef) -> list[Finding]:
        if self.spf is None:
            return []
        outcome, domain, reason = self.spf
        severity = {
            "fail": Severity.MEDIUM,
            # softfail and permerror weigh through the alignment finding, not twice
        }.get(outcome, Severity.INFORMATIONAL)
        why = f" ({reason})" if reason and outcome != "pass" else ""
        return [
            Finding(
                NAME,
                message,
                f"spf-{outcome}",
                severity,
                f"SPF {outcome} for {domain or 'an unnamed domain'} ({self.who}){why}",
                {"domain": domain, "hop": self.hop, "reason": reason},
            )
        ]

    def _dkim_finding(self, message: EntityRef) -> list[Finding]:
        passing = self.dkim_pass
        failing = [
            (d, r) for result, d, r in self.dkim if result in ("fail", "permerror")
        ]
        unknown = [d for result, d, _ in self.dkim if result == "temperror"]
        if passing:
            return [
                Finding(
                    NAME,
                    message,
                    "dkim-pass",
                    Severity.INFORMATIONAL,
                    f"DKIM signature of {', '.join(d for d in passing if d) or 'a domain'}"
                    f" verified ({self.who})",
                    {"domains": passing, "hop": self.hop},
                )
            ]
        if failing:
            domains = [d for d, _ in failing]
            reasons = "; ".join(r for _, r in failing if r)[:200]
            return [
                Finding(
                    # The alignment finding carries the weight of a broken signature;
                    # mailing lists break signatures of legitimate mail every day.
                    NAME,
                    message,
                    "dkim-fail",
                    Severity.INFORMATIONAL,
                    f"DKIM signature of {', '.join(d for d in domains if d) or 'a domain'}"
                    f" did not verify ({self.who})"
                    + (f" ({reasons})" if reasons else ""),
                    {"domains": domains, "hop": self.hop, "reasons": reasons},
                )
            ]
        if unknown:
            return [
                Finding(
                    NAME,
                    message,
                    "dkim-unknown",
                    Severity.INFORMATIONAL,
                    f"DKIM signature of {', '.join(d for d in unknown if d)} could not be "
                    f"checked: no key record for it ({self.who})",
                    {"domains": unknown},
                )
            ]
        return []


def _own_evidence(verified: Verification, from_domain: str) -> Evidence | None:
    """heron's own checks, unless they lacked the records that could decide.

    Checks that could not run decide nothing only if they could have aligned with
    From: an envelope or signing domain of another organisation never makes DMARC
    pass, so with the DMARC record at hand the message fails whatever they say.
    """
    spf = verified.spf
    dkim = tuple((c.result, c.domain, c.reason) for c in verified.dkim)
    undecided = (spf is None or spf.result == "temperror") and all(
        result in ("temperror", "skipped") for result, _, _ in dkim
    )
    if undecided:
        identities = [spf.domain] if spf else []
        identities += [domain for _, domain, _ in dkim]
        could_align = any(
            d and organisational_domain(d) == organisational_domain(from_domain)
            for d in identities
        )
        if verified.dmarc is None or could_align or not from_domain:
            return None  # nothing decided: the trusted hop's header says more
    who = f"checked by heron against {verified.source}"
    return Evidence(
        who,
        (spf.result, spf.domain, spf.reason) if spf else None,
        dkim,
        "heron",
    )


def _header_evidence(header: AuthenticationResults) -> Evidence:
    spf_results = _results(header, "spf")
    spf = None
    if spf_results:
        first = spf_results[0]
        domain = first.properties.get("smtp.mailfrom", "").rpartition("@")[2]
        spf = (first.result.lower(), domain, first.reason)
    dkim = tuple(
        (r.result.lower(), r.properties.get("header.d", ""), r.reason)
        for r in _results(header, "dkim")
    )
    return Evidence(f"as {_hop(header)} reported", spf, dkim, header.authserv_id)


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


def _alignment(
    evidence: Evidence,
    from_domain: str,
    message: EntityRef,
    context: AnalyzerContext,
    record: DmarcRecord | None,
    header: AuthenticationResults | None = None,
) -> Finding:
    if not from_domain:
        return Finding(
            NAME,
            message,
            "dmarc-no-from",
            Severity.MEDIUM,
            "no From domain to align: the message has no usable From address",
        )
    spf_domains, dkim_domains = evidence.spf_pass, evidence.dkim_pass
    strict_spf = bool(record and record.spf_alignment == "s")
    strict_dkim = bool(record and record.dkim_alignment == "s")
    aligned = [d for d in spf_domains if d and _aligns(d, from_domain, strict_spf)] + [
        d for d in dkim_domains if d and _aligns(d, from_domain, strict_dkim)
    ]
    mode = _mode(record)
    details = {
        "from_domain": from_domain,
        "spf_pass": spf_domains,
        "dkim_pass": dkim_domains,
        "hop": evidence.hop,
        "alignment": mode,
        "record": record.raw if record else "",
    }
    if aligned:
        return Finding(
            NAME,
            message,
            "dmarc-aligned",
            Severity.INFORMATIONAL,
            f"DMARC passes: From domain {from_domain} aligns ({mode}) with "
            f"{aligned[0]} ({evidence.who})",
            details,
        )
    own = context.lookups.org_domains
    org = organisational_domain(from_domain)
    if any(organisational_domain(d) == org for d in own):
        return Finding(
            NAME,
            message,
            "own-domain-spoof",
            Severity.HIGH,
            f"From claims the organisation's own domain {from_domain} but neither SPF nor "
            "DKIM authenticated it",
            details,
        )
    if record is not None:
        policy = record.policy_for(from_domain)
        where = f"its DMARC record at _dmarc.{record.domain} says p={policy}"
    else:
        policy = _dmarc_policy(_results(header, "dmarc")) if header else ""
        where = f"its DMARC policy is {policy}" if policy else ""
    severity = Severity.MEDIUM if policy in ("reject", "quarantine") else Severity.LOW
    named = sorted({d for d in spf_domains + dkim_domains if d})
    if named:
        near = [d for d in named if organisational_domain(d) == org]
        why = (
            f"{', '.join(near)} authenticated but the record asks for strict alignment"
            if near
            else f"only {', '.join(named)} authenticated"
        )
    else:
        why = "neither SPF nor DKIM passed"
    return Finding(
        NAME,
        message,
        "dmarc-unaligned",
        severity,
        f"DMARC fails: From domain {from_domain} is not authenticated ({mode}): {why}"
        + (f"; {where}" if where else ""),
        {**details, "policy": policy},
    )


def _aligns(domain: str, from_domain: str, strict: bool) -> bool:
    a, b = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return a == b
    return organisational_domain(a) == organisational_domain(b)


def _mode(record: DmarcRecord | None) -> str:
    if record is None:
        return "relaxed alignment; no DMARC record at hand"
    if record.dkim_alignment == record.spf_alignment:
        return ("strict" if record.dkim_alignment == "s" else "relaxed") + " alignment"
    dkim_mode = "strict" if record.dkim_alignment == "s" else "relaxed"
    spf_mode = "strict" if record.spf_alignment == "s" else "relaxed"
    return f"{dkim_mode} DKIM and {spf_mode} SPF alignment"


def _arc(
    sets: tuple[ArcSet, ...],
    header: AuthenticationResults | None,
    verified: Verification | None,
    message: EntityRef,
) -> list[Finding]:
    """The ARC chain as read, and as verified when heron could."""
    if not sets:
        return []
    if verified:
        status, how = verified.arc.result, f"heron verified it: {verified.arc.result}"
        if verified.arc.reason and verified.arc.result != "pass":
            how += f" ({verified.arc.reason})"
    else:
        claimed = [r.result.lower() for r in _results(header, "arc")] if header else []
        status = claimed[0] if claimed else "unverified"
        how = (
            f"{_hop(header)} says arc={claimed[0]}"
            if claimed and header
            else "not verified (no DNS record source configured)"
        )
    chain = ", ".join(
        f"i={s.instance} by {s.sealer or '(no sealer)'} cv={s.chain_status or '?'}"
        for s in sets[:5]
    )
    return [
        Finding(
            NAME,
            message,
            "arc-chain",
            Severity.INFORMATIONAL,
            f"ARC chain of {len(sets)} set(s) ({chain}); {how}",
            {
                "status": status,
                "sets": [
                    {
                        "instance": s.instance,
                        "sealer": s.sealer,
                        "cv": s.chain_status,
                        "results": s.results[:300],
                    }
                    for s in sets
                ],
            },
        )
    ]


def _forgiven_by_arc(
    findings: list[Finding],
    sets: tuple[ArcSet, ...],
    context: AnalyzerContext,
    message: EntityRef,
) -> list[Finding]:
    """Replace a DMARC failure with a pass that a trusted sealer recorded before a
    forwarder broke it, when the chain holds (verified, or vouched for by the hop)."""
    sealers = {s.lower() for s in context.lookups.trusted_arc_sealers}
    failed = next((f for f in findings if f.code == "dmarc-unaligned"), None)
    if not sealers or failed is None:
        return findings
    arc = next((f for f in findings if f.code == "arc-chain"), None)
    if arc is None or arc.details.get("status") != "pass":
        return findings
    vouching = next(
        (
            s
            for s in sets
            if s.sealer in sealers
            and re.search(r"\bdmarc\s*=\s*pass\b", s.results, re.I)
        ),
        None,
    )
    if vouching is None:
        return findings
    forgiven = Finding(
        NAME,
        message,
        "dmarc-pass-by-arc",
        Severity.INFORMATIONAL,
        f"DMARC failed here, but trusted sealer {vouching.sealer} recorded a pass "
        f"(ARC i={vouching.instance}) before forwarding broke it",
        {**failed.details, "sealer": vouching.sealer, "instance": vouching.instance},
    )
    return [forgiven if f is failed else f for f in findings]


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
