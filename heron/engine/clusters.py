"""Clusters: from one investigated message to every copy of its campaign.

For each investigated message heron builds

- similarity clusters, from what the message looks like: the message itself (its
  copies, byte-equal or content-equal), near-duplicate bodies, the sender's domain
  (the sender's address when the domain is a free mailbox or the organisation's own),
  the sending ip and the subject key;
- indicator clusters, one per url and per file the investigation judged malicious.

Each cluster is an explorer query over delivered copies, limited to a window that
starts ``cluster_lookback`` before the message's first copy. It is stored with its
members, counts per latest location, per verdict and per threat, and the difference
from its previous run.

The verdict rule, stated once:

- an indicator cluster is malicious: every member carries what was judged malicious;
- the message and body clusters are malicious when the investigated message is;
- any similarity cluster is malicious when the share of its member copies known to be
  malicious reaches ``cluster_malicious_share`` (0.5 by default). Known malicious are
  copies whose message carries a malicious verdict in the index and copies already in
  a malicious cluster of this investigation. Below that share, a cluster with known
  malicious copies is suspicious; one whose members were all judged clean is clean;
  otherwise unknown.

A malicious cluster's verdict propagates to the messages of its members (in the
index) and back to the investigated message. Mailboxes configured as the security
team's or as phishing simulations are never members.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from heron.analyzers.lexicon import DEFAULT_HOST_LISTS, FREEMAIL
from heron.domain.entities import EntityRef, EntityType
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Verdict
from heron.store import explorer
from heron.store import models as m
from heron.store.explorer import ExploreQuery, Member
from heron.store.models import row_key, utcnow

# The name findings made by clusters carry, where analyzers carry theirs.
NAME = "clusters"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SIMILARITY = "similarity"
INDICATOR = "indicator"
# Similarity keys whose members share content with the investigated message.
CONTENT_KEYS = ("message", "body")
# A subject key of fewer words ("invoice #", "hello") is too common to mark a
# campaign: a supplier's real invoices share it with the phish that imitates them.
MIN_SUBJECT_WORDS = 3
# A volume anomaly: at least this many copies in the cluster's last day, and this many
# times the daily mean of the baseline days before it.
VOLUME_MIN_COPIES = 10
VOLUME_FACTOR = 3.0
# Copy ids kept in a run's difference; the counts cover all.
DIFF_KEPT = 200


@dataclass(frozen=True)
class Spec:
    """What one cluster is: kind, key, value and the query that finds its copies."""

    kind: str
    key: str
    value: str
    query: ExploreQuery

    @property
    def ident(self) -> str:
        return row_key(self.kind, self.key, self.value)


@dataclass(frozen=True)
class Rules:
    """The settings clusters follow."""

    lookback: timedelta
    malicious_share: float
    max_members: int
    baseline_days: int
    excluded: tuple[str, ...] = ()


@dataclass
class Built:
    """One cluster after a run: its row, members and the copies counted malicious."""

    row: m.Cluster
    members: list[Member]
    malicious: set[int] = field(default_factory=set)
    volume_anomaly: bool = False


def specs_for(
    message: m.Message,
    same: list[str],
    judged: list[EntityRef],
    org_domains: set[str],
    excluded: tuple[str, ...],
) -> list[Spec]:
    """The clusters of one investigated message, indicator clusters first.

    ``same`` lists the stored messages that are this one; ``judged`` the urls and
    files of it the investigation judged malicious."""
    base = ExploreQuery(exclude_mailboxes=excluded)
    specs = []
    for entity in sorted(set(judged)):
        if entity.type is EntityType.URL:
            specs.append(
                Spec(INDICATOR, "url", entity.value, replace(base, url=entity.value))
            )
        elif entity.type is EntityType.FILE and entity.value != EMPTY_SHA256:
            # The empty file's hash is every empty attachment's: it names no file.
            specs.append(
                Spec(
                    INDICATOR,
                    "file",
                    entity.value,
                    replace(base, file_hash=entity.value),
                )
            )
    specs.append(
        Spec(SIMILARITY, "message", message.sha256, replace(base, messages=tuple(same)))
    )
    if message.fingerprint:
        specs.append(
            Spec(
                SIMILARITY,
                "body",
                f"near duplicates of {message.sha256[:12]}",
                replace(base, near_body=message.fingerprint),
            )
        )
    domain = organisational_domain(message.from_domain)
    own = {organisational_domain(d) for d in org_domains}
    if domain and not shared_domain(message.from_domain, domain, own):
        specs.append(
            Spec(
                SIMILARITY, "sender_domain", domain, replace(base, sender_domain=domain)
            )
        )
    elif message.from_address:
        specs.append(
            Spec(
                SIMILARITY,
                "sender",
                message.from_address,
                replace(base, sender=message.from_address),
            )
        )
    if message.sending_ip:
        specs.append(
            Spec(
                SIMILARITY,
                "sending_ip",
                message.sending_ip,
                replace(base, sending_ip=message.sending_ip),
            )
        )
    if len(re.findall(r"[^\W\d_]{2,}", message.subject_key)) >= MIN_SUBJECT_WORDS:
        specs.append(
            Spec(
                SIMILARITY,
                "subject",
                message.subject_key,
                replace(base, subject_key=message.subject_key),
            )
        )
    return specs


def shared_domain(host: str, domain: str, own: set[str]) -> bool:
    """True for a sender domain many unrelated senders share: free mailboxes, the
    organisation's own, Microsoft 365's default tenant domain, free hosting."""
    return (
        domain in FREEMAIL
        or domain in own
        or domain == "onmicrosoft.com"
        or DEFAULT_HOST_LISTS.shared(host)
    )


def anchor(session: Session, same: list[str], fallback: datetime) -> datetime:
    """When the message reached the organisation: its first copy, else ``fallback``."""
    first = session.scalar(
        select(func.min(m.Copy.received_at)).where(m.Copy.message_sha256.in_(same))
    )
    return first or fallback


def run(
    session: Session,
    investigation_id: int,
    spec: Spec,
    query: ExploreQuery,
    rules: Rules,
    *,
    source_message: str,
    original: Verdict,
    known_bad: set[int],
    own: frozenset[str] = frozenset(),
) -> Built:
    """Run one cluster's query and store what it found, with the difference from
    the cluster's previous run. ``query`` is the spec's query with its window;
    ``own`` names the investigated message (all stored messages that are it)."""
    now = utcnow()
    conditions, cut = explorer.conditions_for(session, query)
    found, more = explorer.members(session, conditions, rules.max_members)
    if more:
        by_location = explorer.location_counts(session, conditions)
        messages = (
            session.scalar(
                select(func.count(func.distinct(m.Copy.message_sha256)))
                .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
                .where(*conditions)
            )
            or 0
        )
    else:
        by_location = dict(sorted(Counter(c.location for c in found).items()))
        messages = len({c.message for c in found})
    total = sum(by_location.values())
    verdict, reason, malicious = _judge(spec, found, original, known_bad, own, rules)
    row = session.scalar(
        select(m.Cluster).where(
            m.Cluster.investigation_id == investigation_id,
            m.Cluster.ident == spec.ident,
        )
    )
    before: set[int] = set()
    if row is None:
        row = m.Cluster(
            investigation_id=investigation_id,
            ident=spec.ident,
            kind=spec.kind,
            key=spec.key,
            value=spec.value,
        )
        session.add(row)
    else:
        before = set(
            session.scalars(
                select(m.ClusterMember.copy_id).where(
                    m.ClusterMember.cluster_id == row.id
                )
            )
        )
    after = {c.copy_id for c in found}
    volume = _volume(session, query, found, rules)
    row.source_message = source_message
    row.query = query.to_dict()
    row.window_start, row.window_end = query.since, now
    row.copies, row.messages, row.malicious_copies = total, messages, len(malicious)
    row.counts = {
        "by_location": by_location,
        "by_verdict": dict(sorted(Counter(c.verdict for c in found).items())),
        "by_threat": _threats(session, found),
        "volume": volume,
    }
    row.verdict, row.reason = verdict.value, reason
    row.truncated = more or cut
    row.runs = (row.runs or 0) + 1
    row.last_diff = (
        {
            "run": row.runs,
            "added": len(after - before),
            "removed": len(before - after),
            "added_copies": sorted(after - before)[:DIFF_KEPT],
            "removed_copies": sorted(before - after)[:DIFF_KEPT],
        }
        if row.runs > 1
        else {"run": 1, "added": len(after), "removed": 0}
    )
    row.queried_at = now
    session.flush()
    if before != after:
        session.execute(
            delete(m.ClusterMember).where(m.ClusterMember.cluster_id == row.id)
        )
        if found:
            session.execute(
                insert(m.ClusterMember),
                [
                    {
                        "cluster_id": row.id,
                        "copy_id": c.copy_id,
                        "message_sha256": c.message,
                    }
                    for c in found
                ],
            )
    return Built(row, found, malicious, bool(volume.get("anomaly")))


def rejudge(
    built: Built,
    spec: Spec,
    rules: Rules,
    *,
    original: Verdict,
    known_bad: set[int],
    own: frozenset[str] = frozenset(),
) -> Built:
    """Decide a cluster's verdict again over the members its run found, after the
    investigated message's verdict or the known malicious copies changed: the same
    rule as ``run``, without querying again."""
    verdict, reason, malicious = _judge(
        spec, built.members, original, known_bad, own, rules
    )
    built.row.verdict, built.row.reason = verdict.value, reason
    built.row.malicious_copies = len(malicious)
    built.malicious = malicious
    return built


def _judge(
    spec: Spec,
    found: list[Member],
    original: Verdict,
    known_bad: set[int],
    own: frozenset[str],
    rules: Rules,
) -> tuple[Verdict, str, set[int]]:
    """The cluster's verdict, why, and the member copies counted malicious (all of
    them once the cluster is malicious)."""
    if spec.kind == INDICATOR:
        malicious = {c.copy_id for c in found}
    else:
        malicious = {
            c.copy_id for c in found if c.judged_malicious or c.copy_id in known_bad
        }
    verdict, reason = _verdict(spec, found, malicious, original, own, rules)
    if verdict is Verdict.MALICIOUS:
        malicious = {c.copy_id for c in found}
    return verdict, reason, malicious


def _verdict(
    spec: Spec,
    found: list[Member],
    malicious: set[int],
    original: Verdict,
    own: frozenset[str],
    rules: Rules,
) -> tuple[Verdict, str]:
    if not found:
        return Verdict.UNKNOWN, "no copies in the window"
    if spec.kind == INDICATOR:
        return Verdict.MALICIOUS, f"every copy carries the {spec.key} judged malicious"
    if spec.key in CONTENT_KEYS:
        if original is Verdict.MALICIOUS:
            return Verdict.MALICIOUS, "the investigated message is malicious"
        others = found
    else:
        # A looser cluster speaks of the other mail sharing the fact: the
        # investigated message's own copies do not vote, so a verdict this cluster
        # gave the message cannot come back to confirm itself.
        others = [c for c in found if c.message not in own]
        if not others:
            return Verdict.UNKNOWN, "it holds only the investigated message's copies"
    bad = [c for c in others if c.copy_id in malicious]
    share = len(bad) / len(others)
    counted = (
        f"{len(bad)} of {len(others)} cop{'y' if len(others) == 1 else 'ies'}"
        + ("" if others is found else " besides the investigated message's")
        + f" known malicious (threshold {rules.malicious_share:.0%})"
    )
    if bad and share >= rules.malicious_share:
        return Verdict.MALICIOUS, counted
    if bad:
        return Verdict.SUSPICIOUS, counted
    if all(c.verdict == Verdict.CLEAN.value for c in others):
        return Verdict.CLEAN, "every copy's message was judged clean"
    return Verdict.UNKNOWN, "no copy known malicious"


def _threats(session: Session, found: list[Member]) -> dict[str, int]:
    """Copies per threat their message carries (phish, malware)."""
    bad = {c.message for c in found if c.verdict != Verdict.UNKNOWN.value}
    if not bad:
        return {}
    threats: dict[str, list[str]] = {}
    for chunk in _chunks(sorted(bad), 500):
        for sha256, names in session.execute(
            select(m.Message.sha256, m.Message.threats).where(
                m.Message.sha256.in_(chunk)
            )
        ):
            threats[sha256] = list(names or [])
    counts: Counter[str] = Counter()
    for copy in found:
        for name in threats.get(copy.message, []):
            counts[name] += 1
    return dict(sorted(counts.items()))


def _volume(
    session: Session, query: ExploreQuery, found: list[Member], rules: Rules
) -> dict[str, Any]:
    """The cluster's copies in its last day against the daily mean of the baseline
    days before; an anomaly when the last day is well above it."""
    if not found:
        return {}
    newest = max(c.received_at for c in found)
    day_start = newest - timedelta(days=1)
    base_start = day_start - timedelta(days=rules.baseline_days)
    unwindowed = replace(query, since=None, until=None)
    conditions, _ = explorer.conditions_for(session, unwindowed)
    last_day = sum(1 for c in found if c.received_at > day_start)
    baseline = explorer.count(
        session,
        [*conditions, m.Copy.received_at > base_start, m.Copy.received_at <= day_start],
    )
    mean = baseline / rules.baseline_days
    anomaly = last_day >= VOLUME_MIN_COPIES and last_day >= VOLUME_FACTOR * max(
        mean, 1.0
    )
    return {
        "last_day": last_day,
        "baseline_days": rules.baseline_days,
        "baseline_daily_mean": round(mean, 2),
        "anomaly": anomaly,
    }


def propagate(session: Session, cluster: m.Cluster, threats: list[str]) -> int:
    """Mark the messages of a malicious cluster's members malicious in the index;
    returns how many messages changed."""
    shas = sorted(
        set(
            session.scalars(
                select(m.ClusterMember.message_sha256).where(
                    m.ClusterMember.cluster_id == cluster.id
                )
            )
        )
    )
    changed = 0
    for chunk in _chunks(shas, 500):
        result = session.execute(
            update(m.Message)
            .where(
                m.Message.sha256.in_(chunk),
                m.Message.verdict != Verdict.MALICIOUS.value,
            )
            .values(
                verdict=Verdict.MALICIOUS.value,
                threats=threats,
                verdict_source=(
                    f"cluster {cluster.id} ({cluster.key} {cluster.value[:80]}) of "
                    f"investigation {cluster.investigation_id}"
                ),
            )
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def view(row: m.Cluster) -> dict[str, Any]:
    """One cluster as plain data."""
    return {
        "id": row.id,
        "kind": row.kind,
        "key": row.key,
        "value": row.value,
        "verdict": row.verdict,
        "reason": row.reason,
        "copies": row.copies,
        "messages": row.messages,
        "malicious_copies": row.malicious_copies,
        "by_location": row.counts.get("by_location", {}),
        "by_verdict": row.counts.get("by_verdict", {}),
        "by_threat": row.counts.get("by_threat", {}),
        "volume": row.counts.get("volume", {}),
        "query": row.query,
        "window_start": row.window_start.isoformat() if row.window_start else None,
        "window_end": row.window_end.isoformat() if row.window_end else None,
        "truncated": row.truncated,
        "runs": row.runs,
        "last_diff": row.last_diff,
        "queried_at": row.queried_at.isoformat(),
        "source_message": row.source_message,
    }
