"""Mailbox settings attackers abuse: forwarding rules and delegations.

``scan`` reads every mailbox a connector reaches and compares what it finds with
what the last scan saw. A forward to an address outside the organisation that is
new (or came back) raises ``rule.changed``; a right granted to another user that is
new raises ``delegation.changed``. The alert policies turn those into alerts, and
the ``mailbox-settings`` playbook (``investigate``) reads the mailbox again, records
findings, judges the mailbox and proposes turning the forwarding off and removing
the delegations, as actions where the mailbox's connector can carry them out and as
recommendations for a person where it cannot.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heron.connectors.base import Connector, Delegation, ForwardRule, Operation
from heron.domain.entities import EntityRef, EntityType, Event, Finding
from heron.domain.names import is_outside
from heron.domain.verdicts import Severity, Verdict
from heron.engine import clusters
from heron.errors import HeronError
from heron.store import models as m
from heron.store import repository as repo
from heron.store.explorer import ExploreQuery
from heron.store.models import utcnow

if TYPE_CHECKING:
    from heron.engine.service import Heron

log = logging.getLogger(__name__)

FORWARD = "forward"
DELEGATION = "delegation"


@dataclass
class ScanSummary:
    """What one scan read and raised."""

    mailboxes: int = 0
    forwards: int = 0
    delegations: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Seen:
    """A mailbox's forwarding rules and delegations as read now."""

    mailbox: str
    forwards: list[ForwardRule]
    delegations: list[Delegation]
    errors: list[str]


def read(connector: Connector, mailbox: str, org_domains: frozenset[str]) -> Seen:
    """Read the mailbox's forwarding and delegations; a failure is an error line."""
    forwards: list[ForwardRule] = []
    delegations: list[Delegation] = []
    errors = []
    if connector.supports(Operation.READ_FORWARDING):
        try:
            forwards = connector.forwarding(mailbox, org_domains)
        except Exception as exc:  # one mailbox's failure must not stop the scan
            errors.append(f"{mailbox}: forwarding could not be read: {_reason(exc)}")
    if connector.supports(Operation.READ_DELEGATIONS):
        try:
            delegations = connector.delegations(mailbox)
        except Exception as exc:
            errors.append(f"{mailbox}: delegations could not be read: {_reason(exc)}")
    return Seen(mailbox, forwards, delegations, errors)


def _reason(exc: Exception) -> str:
    if isinstance(exc, HeronError):
        return str(exc)
    log.exception("reading a mailbox's settings failed")
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def scan(heron: Heron, mailboxes: list[str] | None = None) -> ScanSummary:
    """Read every reachable mailbox (or those named) and raise events for new
    outside forwards and new delegations."""
    summary = ScanSummary()
    with heron.store.session() as session:
        org = frozenset(heron.org_domains(session))
        rows = session.scalars(select(m.Mailbox).order_by(m.Mailbox.address)).all()
        targets = [
            (row.address, heron.connector_for(session, row.address))
            for row in rows
            if mailboxes is None or row.address in mailboxes
        ]
    known = {row.address for row in rows}
    summary.errors.extend(
        f"{name[:200]}: heron knows no such mailbox"
        for name in (mailboxes or [])
        if name not in known
    )
    for address, connector in targets:
        if connector is None or not (
            connector.supports(Operation.READ_FORWARDING)
            or connector.supports(Operation.READ_DELEGATIONS)
        ):
            continue
        seen = read(connector, address, org)
        summary.mailboxes += 1
        summary.errors.extend(seen.errors)
        summary.forwards += len(seen.forwards)
        summary.delegations += len(seen.delegations)

        def record(session: Session, seen: Seen = seen) -> int:
            return _record(session, seen)

        summary.events += heron.store.retrying(record)
    return summary


def _record(session: Session, seen: Seen) -> int:
    """Store what the scan saw; returns the events raised for what is new."""
    now = utcnow()
    raised = 0
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in seen.forwards:
        current[(FORWARD, f"{rule.ident}>{','.join(rule.targets)}")] = asdict(rule)
    for grant in seen.delegations:
        current[(DELEGATION, f"{grant.ident}\x1f{grant.rights}")] = asdict(grant)
    read_kinds = {FORWARD, DELEGATION} - _failed_kinds(seen)
    rows = {
        (r.kind, r.ident): r
        for r in session.scalars(
            select(m.MailboxSetting).where(m.MailboxSetting.mailbox == seen.mailbox)
        )
    }
    for key, detail in current.items():
        row = rows.get(key)
        # Alert on what starts sending mail outside: a new rule, one back after it
        # was gone, or one whose script was just made active.
        was_alerting = row is not None and row.present and _alerting(key[0], row.detail)
        new = not was_alerting
        if row is None:
            row = m.MailboxSetting(
                mailbox=seen.mailbox, kind=key[0], ident=key[1], first_seen=now
            )
            session.add(row)
        row.detail, row.present, row.last_seen = detail, True, now
        if new and _alerting(key[0], detail):
            _raise(session, seen.mailbox, key[0], detail, now)
            raised += 1
    for key, row in rows.items():
        if key not in current and key[0] in read_kinds:
            row.present = False
    session.flush()
    return raised


def _failed_kinds(seen: Seen) -> set[str]:
    failed = set()
    for error in seen.errors:
        if "forwarding" in error:
            failed.add(FORWARD)
        if "delegations" in error:
            failed.add(DELEGATION)
    return failed


def _alerting(kind: str, detail: dict[str, Any]) -> bool:
    if kind == FORWARD:
        return bool(detail.get("external")) and bool(detail.get("enabled"))
    return True


def _raise(
    session: Session, mailbox: str, kind: str, detail: dict[str, Any], now: datetime
) -> None:
    entity = EntityRef(EntityType.MAILBOX, mailbox)
    if kind == FORWARD:
        event = Event(
            "rule.changed",
            now,
            f"scan#{mailbox}#{detail['ident']}",
            (entity,),
            {"rule": detail, "summary": detail.get("description", "")},
        )
    else:
        event = Event(
            "delegation.changed",
            now,
            f"scan#{mailbox}#{detail['folder']}#{detail['grantee']}",
            (entity,),
            {
                "delegation": detail,
                "summary": f"{detail['grantee']} holds {detail['rights']} on "
                f"{detail['folder']}",
            },
        )
    repo.save_event(session, event)


# -- the mailbox-settings playbook -------------------------------------------------


def investigate(heron: Heron, investigation_id: int) -> None:
    """Read each investigated mailbox, judge it and propose what to turn off."""
    with heron.store.session() as session:
        mailboxes = [
            row.value
            for row in session.scalars(
                select(m.InvestigationEntity).where(
                    m.InvestigationEntity.investigation_id == investigation_id,
                    m.InvestigationEntity.type == EntityType.MAILBOX.value,
                    m.InvestigationEntity.role == "investigated",
                )
            )
        ]
        org = frozenset(heron.org_domains(session))
        reached = {a: heron.connector_for(session, a) for a in mailboxes}
    started = utcnow()
    seen = {
        address: read(connector, address, org)
        for address, connector in reached.items()
        if connector is not None
    }
    ended = utcnow()

    def record(session: Session) -> None:
        verdicts = []
        evidence = {
            address: audit_evidence(session, investigation_id, address, org)
            for address in mailboxes
        }
        for address, found in evidence.items():
            outbound_evidence(
                session, found, address, org, heron.settings.volume_baseline_days
            )
        for address in mailboxes:
            connector = reached[address]
            verdicts.append(
                _judge(
                    heron,
                    session,
                    investigation_id,
                    address,
                    connector,
                    seen.get(address),
                    (started, ended),
                    evidence[address],
                )
            )
        investigation = session.get(m.Investigation, investigation_id)
        assert investigation is not None
        overall = max(verdicts, key=lambda v: v.rank, default=Verdict.UNKNOWN)
        investigation.verdict = overall.value
        repo.add_log(
            session,
            investigation_id,
            "Decide verdicts",
            "completed",
            f"investigation verdict {overall.value}",
        )
        for address in mailboxes:
            sent_mail_cluster(heron, session, investigation_id, address)
        for address, verdict in zip(mailboxes, verdicts, strict=True):
            _propose(
                heron,
                session,
                investigation_id,
                address,
                reached[address],
                seen.get(address),
                evidence[address],
                verdict,
            )
        heron.settle(session, investigation_id)

    heron.store.retrying(record)


def _judge(
    heron: Heron,
    session: Session,
    investigation_id: int,
    address: str,
    connector: Connector | None,
    seen: Seen | None,
    window: tuple[datetime, datetime],
    evidence: Evidence,
) -> Verdict:
    entity = EntityRef(EntityType.MAILBOX, address)
    audit_findings = _audit_findings(entity, evidence)
    repo.add_findings(session, investigation_id, audit_findings)
    repo.add_log(
        session,
        investigation_id,
        "Read audit records",
        "completed" if audit_findings else "nothing found",
        f"{len(evidence.forwards)} forwarding change(s), {len(evidence.delegations)} "
        f"delegation(s) and {evidence.failed_sign_ins} failed sign-in(s) in the "
        f"audit records of its alerts; {evidence.sent_last_day} message(s) sent in "
        f"the last day (daily mean before {evidence.sent_daily_mean:.1f}), "
        f"{len(evidence.new_outside_recipients)} new outside recipient(s), "
        f"{len(evidence.malicious_sent)} sent message(s) judged malicious",
        findings_count=len(audit_findings),
    )
    restricted = any(
        SENDING_ALERTS[a.lower()] is Severity.HIGH for a in evidence.sending_alerts
    )
    from_audit = (
        Verdict.MALICIOUS
        if any(f["external"] for f in evidence.forwards)
        or restricted
        or evidence.malicious_sent
        else Verdict.SUSPICIOUS
        if evidence.delegations
        or evidence.sending_alerts
        or evidence.sending_burst
        or evidence.malicious_clicks
        else Verdict.UNKNOWN
    )
    if connector is None or seen is None:
        repo.add_log(
            session,
            investigation_id,
            "Read mailbox settings",
            "failed",
            f"no connector reaches {address}; its forwarding and delegations now are "
            "unknown beyond what the audit records say",
        )
        _set_entity_verdict(
            session, investigation_id, entity, from_audit, audit_findings
        )
        return from_audit
    for error in seen.errors:
        repo.add_warning(
            session, investigation_id, "mailbox-settings", "read-failed", address, error
        )
    outside = [r for r in seen.forwards if r.external and r.enabled]
    findings = [
        Finding(
            "forwarding",
            entity,
            "external-forward",
            Severity.HIGH,
            f"{address} forwards mail outside the organisation: {r.description}",
            {"rule": asdict(r)},
        )
        for r in outside
    ] + [
        Finding(
            "delegations",
            entity,
            "delegated",
            Severity.MEDIUM,
            f"{d.grantee} holds rights {d.rights} on {address}'s folder {d.folder}",
            {"delegation": asdict(d)},
        )
        for d in seen.delegations
    ]
    repo.add_findings(session, investigation_id, findings)
    started, ended = window
    repo.add_log(
        session,
        investigation_id,
        "Read forwarding rules",
        "completed" if outside else "nothing found",
        f"{len(seen.forwards)} forwarding rule(s), {len(outside)} outside the "
        "organisation",
        started_at=started,
        ended_at=ended,
        findings_count=len(outside),
    )
    repo.add_log(
        session,
        investigation_id,
        "Read delegations",
        "completed" if seen.delegations else "nothing found",
        f"{len(seen.delegations)} right(s) held by other users",
        started_at=started,
        ended_at=ended,
        findings_count=len(seen.delegations),
    )
    verdict = (
        Verdict.MALICIOUS
        if outside
        else Verdict.SUSPICIOUS
        if seen.delegations
        else Verdict.CLEAN
    )
    verdict = max(verdict, from_audit, key=lambda v: v.rank)
    _set_entity_verdict(
        session, investigation_id, entity, verdict, findings + audit_findings
    )
    return verdict


def _set_entity_verdict(
    session: Session,
    investigation_id: int,
    entity: EntityRef,
    verdict: Verdict,
    findings: list[Finding],
) -> None:
    row = repo.add_entity(session, investigation_id, entity, role="investigated")
    row.verdict = verdict.value
    row.reasons = [
        {"summary": f.summary, "severity": f.severity.value} for f in findings[:5]
    ]


def _propose(
    heron: Heron,
    session: Session,
    investigation_id: int,
    address: str,
    connector: Connector | None,
    seen: Seen | None,
    evidence: Evidence,
    verdict: Verdict,
) -> None:
    """Turn off forwarding and remove delegations as actions where the mailbox's
    connector can, and as recommendations for a person where it cannot; and, for
    a compromised user, recommend resetting the credentials."""
    expires_at = utcnow() + heron.settings.action_expiry
    notes: list[str] = []
    proposed = 0

    def propose(kind: str, target: str, reason: str, params: dict[str, Any]) -> None:
        nonlocal proposed
        _, new = repo.propose_action(
            session,
            investigation_id,
            kind,
            EntityType.MAILBOX.value,
            target[:400],
            reason=reason[:2000],
            params=params,
            expires_at=expires_at,
        )
        proposed += int(new)
        if params.get("recommendation"):
            notes.append(f"recommendation for a person: {kind} on {address}")

    outside = [r for r in (seen.forwards if seen else []) if r.external and r.enabled]
    audited = sorted({t for f in evidence.forwards for t in f["external"]})
    can_turn_off = connector is not None and connector.supports(
        Operation.DISABLE_FORWARDING
    )
    if outside and can_turn_off:
        # The targets are part of the action's name: a forward added after an
        # earlier one was turned off is a new action.
        propose(
            "disable_forwarding",
            f"{address} to "
            + ", ".join(sorted({t for r in outside for t in r.external})),
            "; ".join(r.description for r in outside),
            {"mailbox": address, "rules": [asdict(r) for r in outside]},
        )
    elif outside or audited:
        targets = sorted({t for r in outside for t in r.external} | set(audited))
        propose(
            "disable_forwarding",
            f"{address} to " + ", ".join(targets),
            "forwarding outside the organisation: "
            + "; ".join(
                [r.description for r in outside]
                + [f["summary"] for f in evidence.forwards]
            ),
            {"mailbox": address, "recommendation": True, "targets": targets},
        )
    can_remove = connector is not None and connector.supports(
        Operation.REMOVE_DELEGATION
    )
    for grant in seen.delegations if seen else []:
        if can_remove:
            propose(
                "remove_delegation",
                f"{address} {grant.folder} {grant.grantee}",
                f"{grant.grantee} holds rights {grant.rights} on {grant.folder}",
                {"delegation": asdict(grant)},
            )
    if not can_remove:
        grants = [
            (d.grantee, d.rights, d.folder) for d in (seen.delegations if seen else [])
        ] + [
            (g["grantee"], g["rights"], g.get("folder", ""))
            for g in evidence.delegations
        ]
        for grantee, rights, folder in sorted(set(grants)):
            propose(
                "remove_delegation",
                f"{address} {folder} {grantee}".replace("  ", " "),
                f"{grantee} holds rights {rights}"
                + (f" on {folder}" if folder else ""),
                {
                    "recommendation": True,
                    "delegation": {
                        "mailbox": address,
                        "folder": folder,
                        "grantee": grantee,
                        "rights": rights,
                    },
                },
            )
    if evidence.sending_alerts or evidence.sending_burst or evidence.malicious_sent:
        # Blocking sending: through every mail server that blocks senders, where
        # the user is an address one can refuse; else for a person to do.
        blockers = [
            c for c in heron.connectors.values() if c.supports(Operation.BLOCK_SENDER)
        ]
        propose(
            "block_sender",
            address,
            "the user's sending looks like an attacker's: "
            + "; ".join(
                sorted(set(evidence.sending_alerts))
                + (["a burst of outbound mail"] if evidence.sending_burst else [])
                + (["mail heron judged malicious"] if evidence.malicious_sent else [])
            ),
            {} if blockers and "@" in address else {"recommendation": True},
        )
    investigation = session.get(m.Investigation, investigation_id)
    if (
        investigation is not None
        and investigation.playbook == "compromised-user"
        and verdict is Verdict.MALICIOUS
    ):
        propose(
            "reset_credentials",
            address,
            "the mailbox shows signs of an attacker's hand; whoever set them may "
            "still hold its password or sessions",
            {"recommendation": True},
        )
    repo.add_log(
        session,
        investigation_id,
        "Propose actions",
        "completed" if proposed or notes else "nothing found",
        "; ".join(
            [
                f"{proposed} action(s) proposed, awaiting approval"
                if proposed
                else "no action proposed",
                *notes,
            ]
        ),
    )


def sent_mail_cluster(
    heron: Heron, session: Session, investigation_id: int, address: str
) -> clusters.Built | None:
    """The copies of the user's sent mail in the mailboxes heron knows (a
    compromised account often writes to colleagues), stored as a cluster of the
    investigation; a soft delete of them is proposed when the cluster is
    malicious."""
    if "@" not in address:
        return None
    rules = heron._cluster_rules()
    spec = clusters.Spec(
        clusters.SIMILARITY,
        "sender",
        address,
        ExploreQuery(sender=address, exclude_mailboxes=rules.excluded),
    )
    query = replace(spec.query, since=utcnow() - rules.lookback)
    built = clusters.run(
        session,
        investigation_id,
        spec,
        query,
        rules,
        source_message="",
        original=Verdict.UNKNOWN,
        known_bad=set(),
    )
    row = built.row
    repo.add_log(
        session,
        investigation_id,
        "Cluster the user's sent mail",
        "completed" if row.copies else "nothing found",
        f"{row.copies} cop(ies) of {row.messages} message(s) from {address} in "
        f"mailboxes heron knows; the cluster is {row.verdict}",
    )
    if row.verdict == Verdict.MALICIOUS.value:
        notes: list[str] = []
        heron._propose_cluster_delete(
            session,
            investigation_id,
            built,
            utcnow() + heron.settings.action_expiry,
            notes,
            {},
        )
    return built


@dataclass
class Evidence:
    """What the audit records behind an investigation's alerts say of a mailbox."""

    forwards: list[dict[str, Any]] = field(default_factory=list)
    delegations: list[dict[str, Any]] = field(default_factory=list)
    failed_sign_ins: int = 0
    # Microsoft 365's own alerts about the user's sending.
    sending_alerts: list[str] = field(default_factory=list)
    # The user's sending on its last day against the days before it.
    sent_last_day: int = 0
    sent_daily_mean: float = 0.0
    new_outside_recipients: list[str] = field(default_factory=list)
    malicious_sent: list[str] = field(default_factory=list)
    # Urls the user clicked that heron judged malicious (click alerts).
    malicious_clicks: list[str] = field(default_factory=list)

    @property
    def sending_burst(self) -> bool:
        """Ten or more messages on the last day, three times the daily mean."""
        return self.sent_last_day >= BURST_MIN and self.sent_last_day >= (
            BURST_FACTOR * max(self.sent_daily_mean, 1.0)
        )


EVIDENCE_TYPES = (
    "inbox_rule.changed",
    "mailbox.forwarding_set",
    "mailbox.delegation_added",
    "user.sign_in_failed",
    "alert.m365",
)
EVIDENCE_DAYS = timedelta(days=30)


def audit_evidence(
    session: Session, investigation_id: int, address: str, org: frozenset[str]
) -> Evidence:
    """Forwarding and delegation changes in the audit events of the
    investigation's alerts, for this mailbox."""
    found = Evidence()
    first = session.scalar(
        select(func.min(m.EventRecord.occurred_at))
        .join(m.Alert, m.Alert.event_id == m.EventRecord.id)
        .where(m.Alert.investigation_id == investigation_id)
    )
    since = (first or utcnow()) - EVIDENCE_DAYS
    # Every audit record about the mailbox from a while before the case opened,
    # those folded into an alert's count included.
    events = session.scalars(
        select(m.EventRecord)
        .where(
            m.EventRecord.type.in_(EVIDENCE_TYPES),
            m.EventRecord.occurred_at >= since,
        )
        .order_by(m.EventRecord.id)
    )
    for event in events:
        fields = event.payload.get("fields", {})
        user = str(fields.get("mailbox") or event.payload.get("user", "")).lower()
        kind = str(event.payload.get("kind", event.type))  # a Sigma match's record
        if kind in ("inbox_rule.changed", "mailbox.forwarding_set"):
            targets = sorted(
                {
                    str(t).lower()
                    for key in ("forward_to", "redirect_to", "forward_as_attachment_to")
                    for t in fields.get(key, []) or []
                }
            )
            if not targets or user != address:
                continue
            found.forwards.append(
                {
                    "targets": targets,
                    "external": [t for t in targets if is_outside(t, org)],
                    "summary": f"{event.payload.get('operation', event.type)} at "
                    f"{event.occurred_at:%Y-%m-%d %H:%M} UTC sends mail to "
                    f"{', '.join(targets)}"
                    + (" and deletes it" if fields.get("delete") else ""),
                }
            )
        elif (
            kind == "mailbox.delegation_added"
            and fields.get("grantee")
            and user == address
        ):
            found.delegations.append(
                {
                    "grantee": str(fields["grantee"]),
                    "rights": str(fields.get("rights", "")),
                    "folder": "",
                }
            )
        elif kind == "user.sign_in_failed" and user == address:
            found.failed_sign_ins += 1
        elif kind == "alert.m365" and user == address:
            name = str(fields.get("alert", ""))
            if name.lower() in SENDING_ALERTS:
                found.sending_alerts.append(name)
    return found


BURST_MIN = 10
BURST_FACTOR = 3.0
NEW_RECIPIENTS_MIN = 5


def outbound_evidence(
    session: Session,
    evidence: Evidence,
    address: str,
    org: frozenset[str],
    baseline_days: int,
) -> None:
    """The user's sending from the audit records (``message.sent``) over the last
    day and the ``baseline_days`` before it, and the mail from the user heron's
    store holds and judged malicious."""
    if "@" not in address:
        return
    now = utcnow()
    day = timedelta(days=1)
    sent = session.scalars(
        select(m.EventRecord).where(
            m.EventRecord.type == "message.sent",
            m.EventRecord.occurred_at >= now - day * (baseline_days + 1),
        )
    )
    recent: set[str] = set()
    before: set[str] = set()
    days_before = 0
    for event in sent:
        if str(event.payload.get("user", "")).lower() != address:
            continue
        fields = event.payload.get("fields", {})
        recipients = {
            str(r).lower()
            for r in [
                fields.get("RecipientEmailAddress"),
                *(fields.get("recipients") or []),
            ]
            if r
        }
        if event.occurred_at >= now - day:
            evidence.sent_last_day += 1
            recent |= recipients
        else:
            days_before += 1
            before |= recipients
    evidence.sent_daily_mean = days_before / baseline_days
    evidence.new_outside_recipients = sorted(
        r for r in recent - before if is_outside(r, org)
    )
    for alert in session.scalars(
        select(m.EventRecord).where(
            m.EventRecord.type == "url.click_detected",
            m.EventRecord.occurred_at >= now - day * (baseline_days + 1),
        )
    ):
        if str(alert.payload.get("user", "")).lower() == address:
            evidence.malicious_clicks.append(str(alert.payload.get("url", "")))
    evidence.malicious_sent = list(
        session.scalars(
            select(m.Message.subject)
            .where(m.Message.from_address == address, m.Message.verdict == "malicious")
            .limit(20)
        )
    )


# Microsoft 365 alerts that say the user's sending looks like an attacker's.
SENDING_ALERTS = {
    "user restricted from sending email": Severity.HIGH,
    "suspicious email sending patterns detected": Severity.MEDIUM,
}


def _audit_findings(entity: EntityRef, evidence: Evidence) -> list[Finding]:
    findings = [
        Finding(
            "audit",
            entity,
            "external-forward" if f["external"] else "forward",
            Severity.HIGH if f["external"] else Severity.LOW,
            f["summary"],
            {"targets": f["targets"], "external": f["external"]},
        )
        for f in evidence.forwards
    ]
    findings += [
        Finding(
            "audit",
            entity,
            "delegation-added",
            Severity.MEDIUM,
            f"{d['grantee']} was given rights {d['rights'] or '(unnamed)'} on the mailbox",
            d,
        )
        for d in evidence.delegations
    ]
    findings += [
        Finding(
            "audit",
            entity,
            "sending-alert",
            SENDING_ALERTS[name.lower()],
            f"Microsoft 365 raised {name!r} for the user",
            {"alert": name},
        )
        for name in sorted(set(evidence.sending_alerts))
    ]
    if evidence.sending_burst:
        findings.append(
            Finding(
                "outbound",
                entity,
                "volume-burst",
                Severity.MEDIUM,
                f"sent {evidence.sent_last_day} message(s) in the last day against a "
                f"daily mean of {evidence.sent_daily_mean:.1f} before",
                {"last_day": evidence.sent_last_day, "mean": evidence.sent_daily_mean},
            )
        )
    if len(evidence.new_outside_recipients) >= NEW_RECIPIENTS_MIN:
        findings.append(
            Finding(
                "outbound",
                entity,
                "new-outside-recipients",
                Severity.LOW,
                f"wrote to {len(evidence.new_outside_recipients)} outside address(es) "
                "it had not written to in the days before",
                {"recipients": evidence.new_outside_recipients[:50]},
            )
        )
    if evidence.malicious_clicks:
        findings.append(
            Finding(
                "clicks",
                entity,
                "malicious-click",
                Severity.MEDIUM,
                f"clicked {len(evidence.malicious_clicks)} url(s) heron judged "
                "malicious",
                {"urls": sorted(set(evidence.malicious_clicks))[:20]},
            )
        )
    if evidence.malicious_sent:
        findings.append(
            Finding(
                "outbound",
                entity,
                "malicious-sent",
                Severity.HIGH,
                f"heron judged {len(evidence.malicious_sent)} message(s) from the user "
                "malicious",
                {"subjects": evidence.malicious_sent[:10]},
            )
        )
    return findings
