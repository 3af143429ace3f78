"""heron's own check of a message's authentication: DKIM signatures (dkimpy), SPF
(pyspf), the ARC chain (dkimpy) and the From domain's DMARC record, from DNS records
that a ``RecordSource`` answers (a local file or a configured resolver; see
``heron.intel.dns_records``).

The checks need the message's raw bytes, so they run where the raw message is at
hand, beside parsing; their result travels with the facts as ``Verification`` and
the authentication analyzer prefers it to any Authentication-Results header.

A record the source does not know leaves that check "temperror" with the name it
missed: heron could not check, which is not a failure. Without a source, ``read_arc``
still reads the ARC headers as the message carries them, unverified.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from heron.mail.facts import MessageFacts

# dkimpy logs every missing key as an error; heron reports them as findings instead.
_QUIET = logging.getLogger("heron.mail.verification.dkimpy")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

# DKIM signatures checked per message; more are noted and left unchecked.
MAX_SIGNATURES = 10
# ARC sets read per message (RFC 8617 allows 50).
MAX_ARC_SETS = 50
MIN_KEY_BITS = 1024


class RecordSource(Protocol):
    """Where DNS answers come from: [] when a name has no record of the type, None
    when the answer is unknown (not in the file, or the resolver did not answer)."""

    origin: str

    def lookup(self, name: str, rtype: str) -> list[str] | None: ...


@dataclass(frozen=True)
class SignatureCheck:
    """One DKIM signature: its domain and selector, and what verifying it gave."""

    domain: str
    selector: str
    result: str  # pass, fail, permerror, temperror
    reason: str = ""


@dataclass(frozen=True)
class SpfCheck:
    result: str  # pass, fail, softfail, neutral, none, permerror, temperror
    domain: str
    ip: str
    helo: str
    reason: str = ""


@dataclass(frozen=True)
class DmarcRecord:
    """The DMARC record that governs the From domain, and where it was found."""

    domain: str
    policy: str
    subdomain_policy: str
    dkim_alignment: str  # "r" relaxed or "s" strict
    spf_alignment: str
    percent: int
    raw: str

    def policy_for(self, from_domain: str) -> str:
        """The policy for ``from_domain``: sp= when the record is its parent's."""
        if from_domain.lower().rstrip(".") != self.domain:
            return self.subdomain_policy or self.policy
        return self.policy


@dataclass(frozen=True)
class ArcSet:
    """One ARC set as the message carries it."""

    instance: int
    sealer: str  # d= of the ARC-Seal
    chain_status: str  # cv= of the ARC-Seal: none, pass or fail
    results: str  # the ARC-Authentication-Results text after i=


@dataclass(frozen=True)
class ArcCheck:
    sets: tuple[ArcSet, ...]
    result: str  # pass, fail, none, or "unverified" when no record source
    reason: str = ""


@dataclass(frozen=True)
class Verification:
    """What heron itself verified, against which records."""

    source: str
    spf: SpfCheck | None
    dkim: tuple[SignatureCheck, ...]
    dmarc: DmarcRecord | None
    arc: ArcCheck
    unknown: tuple[str, ...] = field(default=())


def verify(raw: bytes, facts: MessageFacts, records: RecordSource) -> Verification:
    """Check DKIM, SPF and ARC of ``raw`` and look up the From domain's DMARC record."""
    missed: list[str] = []
    from_domain = facts.from_.domain if facts.from_ else ""
    return Verification(
        source=records.origin,
        spf=_spf(facts, records, missed),
        dkim=_dkim(raw, facts, records, missed),
        dmarc=dmarc_record(from_domain, records, missed) if from_domain else None,
        arc=_arc(raw, facts, records, missed),
        unknown=tuple(dict.fromkeys(missed)),
    )


# --- DKIM -----------------------------------------------------------------------


def _dkim(
    raw: bytes, facts: MessageFacts, records: RecordSource, missed: list[str]
) -> tuple[SignatureCheck, ...]:
    import dkim

    signatures = facts.header("DKIM-Signature")
    checks: list[SignatureCheck] = []
    verifier = None  # the message is read once for all its signatures
    for index, value in enumerate(signatures[:MAX_SIGNATURES]):
        tags = _tags(value)
        domain, selector = tags.get("d", "").lower(), tags.get("s", "")
        before = len(missed)
        try:
            if verifier is None:
                verifier = dkim.DKIM(raw, logger=_QUIET, minkey=MIN_KEY_BITS)
            good = verifier.verify(idx=index, dnsfunc=_txt_function(records, missed))
        except dkim.NaClNotFoundError:
            reason = "ed25519 signatures need pynacl, which is not installed"
            checks.append(SignatureCheck(domain, selector, "temperror", reason))
            continue
        except dkim.DKIMException as exc:
            # A body that no longer matches its hash is a failed signature; any
            # other complaint means the signature itself is unreadable.
            if "body hash mismatch" in str(exc):
                reason, result = "the body changed after it was signed", "fail"
            else:
                reason, result = str(exc)[:200], "permerror"
            checks.append(SignatureCheck(domain, selector, result, reason))
            continue
        except Exception as exc:  # noqa: BLE001 - hostile input must not stop the rest
            # dkimpy was not written for hostile input; whatever it raises on a
            # message it cannot read makes this signature unverifiable, nothing more.
            reason = f"{type(exc).__name__}: {exc}"[:200]
            checks.append(SignatureCheck(domain, selector, "permerror", reason))
            continue
        if len(missed) > before:
            checks.append(
                SignatureCheck(
                    domain, selector, "temperror", f"no key record for {missed[-1]}"
                )
            )
        elif good and tags.get("l", "").isdigit():
            # l= signs only the first bytes of the body; whatever follows them was
            # added by anyone on the way.
            reason = f"l={tags['l']}: only the first {tags['l']} bytes of the body are signed"
            checks.append(SignatureCheck(domain, selector, "pass", reason))
        elif good:
            checks.append(SignatureCheck(domain, selector, "pass"))
        else:
            checks.append(
                SignatureCheck(domain, selector, "fail", "signature did not verify")
            )
    for value in signatures[MAX_SIGNATURES:]:
        tags = _tags(value)
        checks.append(
            SignatureCheck(
                tags.get("d", "").lower(),
                tags.get("s", ""),
                "skipped",
                f"not checked: only the first {MAX_SIGNATURES} signatures are",
            )
        )
    return tuple(checks)


def _txt_function(records: RecordSource, missed: list[str]):  # type: ignore[no-untyped-def]
    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace").rstrip(".")
        found = records.lookup(text, "TXT")
        if found is None:
            missed.append(text)
            return None
        return found[0].encode() if found else None

    return txt


def _tags(value: str) -> dict[str, str]:
    """The tag=value list of a DKIM or ARC header, whitespace removed."""
    tags = {}
    for part in value.split(";"):
        key, _, text = part.partition("=")
        if key.strip():
            tags[key.strip().lower()] = re.sub(r"\s+", "", text)
    return tags


# --- SPF ------------------------------------------------------------------------


def sending_hop(facts: MessageFacts) -> tuple[str, str]:
    """The ip and HELO name of the client that handed the message to the topmost
    hop with a public address: the organisation's receiving server's view. Without
    one (a lab, or documentation addresses such as 192.0.2.0/24), the topmost hop
    with any address other than loopback or link-local."""
    hops = [hop for hop in facts.received if hop.ip and _address(hop.ip)]
    for hop in hops:
        if _address(hop.ip).is_global:  # type: ignore[union-attr]
            return str(hop.ip), hop.from_host
    for hop in hops:
        address = _address(hop.ip)
        if address and not (address.is_loopback or address.is_link_local):
            return str(hop.ip), hop.from_host
    return "", ""


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip or "")
    except ValueError:
        return None


def _spf(
    facts: MessageFacts, records: RecordSource, missed: list[str]
) -> SpfCheck | None:
    import spf

    ip, helo = sending_hop(facts)
    if not ip:
        return None
    sender = facts.envelope_sender.strip("<> ") or f"postmaster@{helo}"
    domain = sender.rpartition("@")[2].lower()

    class Query(spf.query):  # type: ignore[misc]
        def dns(self, name, qtype, cnames=None, ignore_void=False):  # type: ignore[no-untyped-def]
            found = records.lookup(str(name), qtype)
            if found is None:
                missed.append(f"{name} {qtype}")
                raise spf.TempError(f"no {qtype} record known for {name}")
            if not found and not ignore_void:
                self.void_lookups += 1
                if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                    raise spf.PermError("too many lookups found nothing")
            return [_spf_value(qtype, value) for value in found]

    try:
        result, _, explanation = Query(i=ip, s=sender, h=helo or domain).check()
    except Exception as exc:  # noqa: BLE001 - see _dkim: pyspf on hostile records
        return SpfCheck(
            "permerror", domain, ip, helo, f"{type(exc).__name__}: {exc}"[:200]
        )
    return SpfCheck(str(result), domain, ip, helo, str(explanation)[:200])


def _spf_value(qtype: str, value: str) -> object:
    if qtype in ("TXT", "SPF"):
        return (value.encode(),)
    if qtype == "MX":
        preference, _, exchange = value.partition(" ")
        return (int(preference) if preference.isdigit() else 0, exchange.rstrip("."))
    return value.rstrip(".") if qtype == "PTR" else value


# --- DMARC ----------------------------------------------------------------------


def dmarc_record(
    from_domain: str, records: RecordSource, missed: list[str] | None = None
) -> DmarcRecord | None:
    """The DMARC record of ``from_domain``, or else of its organisational domain."""
    from heron.domain.names import organisational_domain

    domain = from_domain.lower().rstrip(".")
    for candidate in dict.fromkeys((domain, organisational_domain(domain))):
        if not candidate:
            continue
        name = f"_dmarc.{candidate}"
        found = records.lookup(name, "TXT")
        if found is None:
            # Unknown, not absent: still ask for the organisational domain's record,
            # which governs its subdomains that have none (RFC 7489, 6.6.3).
            if missed is not None:
                missed.append(name)
            continue
        for text in found:
            if text.replace(" ", "").lower().startswith("v=dmarc1"):
                return parse_dmarc(candidate, text)
    return None


def parse_dmarc(domain: str, text: str) -> DmarcRecord:
    tags = {k: v.lower() for k, v in _tags(text).items()}
    percent = tags.get("pct", "100")
    return DmarcRecord(
        domain=domain,
        policy=tags.get("p", "none"),
        subdomain_policy=tags.get("sp", ""),
        dkim_alignment="s" if tags.get("adkim") == "s" else "r",
        spf_alignment="s" if tags.get("aspf") == "s" else "r",
        percent=int(percent) if percent.isdigit() else 100,
        raw=text[:500],
    )


# --- ARC ------------------------------------------------------------------------


def read_arc(headers: Sequence[tuple[str, str]]) -> tuple[ArcSet, ...]:
    """The ARC sets the message carries, newest first, as written (unverified)."""
    seals: dict[int, dict[str, str]] = {}
    results: dict[int, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered == "arc-seal":
            tags = _tags(value)
            instance = tags.get("i", "")
            if instance.isdigit():
                seals[int(instance)] = tags
        elif lowered == "arc-authentication-results":
            match = re.match(r"\s*i\s*=\s*(\d+)\s*;(.*)", value, re.S)
            if match:
                results[int(match.group(1))] = " ".join(match.group(2).split())[:1000]
    instances = sorted(set(seals) | set(results), reverse=True)[:MAX_ARC_SETS]
    return tuple(
        ArcSet(
            instance=i,
            sealer=seals.get(i, {}).get("d", "").lower(),
            chain_status=seals.get(i, {}).get("cv", "").lower(),
            results=results.get(i, ""),
        )
        for i in instances
    )


def _arc(
    raw: bytes, facts: MessageFacts, records: RecordSource, missed: list[str]
) -> ArcCheck:
    import dkim

    sets = read_arc(facts.headers)
    if not sets:
        return ArcCheck(sets, "none")
    seals = sum(1 for name, _ in facts.headers if name.lower() == "arc-seal")
    if seals > MAX_ARC_SETS:
        # RFC 8617 ends a chain at 50 sets; more is an attack on the verifier, whose
        # cost grows with every set.
        return ArcCheck(sets, "fail", f"{seals} ARC sets, more than {MAX_ARC_SETS}")
    before = len(missed)
    try:
        status, _, reason = dkim.arc_verify(
            raw,
            logger=_QUIET,
            dnsfunc=_txt_function(records, missed),
            minkey=MIN_KEY_BITS,
        )
    except Exception as exc:  # noqa: BLE001 - see _dkim
        return ArcCheck(sets, "fail", f"{type(exc).__name__}: {exc}"[:200])
    result = status.decode() if isinstance(status, bytes) else str(status)
    if len(missed) > before:
        return ArcCheck(sets, "temperror", f"no key record for {missed[-1]}")
    return ArcCheck(sets, result.lower(), str(reason)[:200])
