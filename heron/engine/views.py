"""Read-only views of investigations, alerts and actions as plain dicts.

The command line prints them; the API will serve the same shapes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heron.engine import clusters
from heron.engine.service import _investigation
from heron.store import models as m
from heron.store import repository as repo


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def investigation_summary(session: Session, row: m.Investigation) -> dict[str, Any]:
    alerts = session.scalar(
        select(func.count()).where(m.Alert.investigation_id == row.id)
    )
    pending = session.scalar(
        select(func.count()).where(
            m.Action.investigation_id == row.id, m.Action.status == "pending"
        )
    )
    return {
        "id": row.id,
        "name": row.name,
        "playbook": row.playbook,
        "status": row.status,
        "verdict": row.verdict,
        "reasons": list(row.reasons or []),
        "alerts": alerts,
        "pending_actions": pending,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "ended_at": _time(row.ended_at),
        "purged_at": _time(row.purged_at),
    }


def investigation_row(session: Session, investigation_id: int) -> m.Investigation:
    return _investigation(session, investigation_id)


def list_investigations(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(m.Investigation).order_by(m.Investigation.id.desc()).limit(limit)
    )
    return [investigation_summary(session, row) for row in rows]


def count_investigations(session: Session) -> int:
    """How many investigations the store holds."""
    return session.scalar(select(func.count()).select_from(m.Investigation)) or 0


def investigation_detail(session: Session, investigation_id: int) -> dict[str, Any]:
    """Everything about one investigation: alerts, entities with findings, actions, log."""
    row = _investigation(session, investigation_id)
    detail = investigation_summary(session, row)
    detail["alerts"] = alerts_of(session, investigation_id)
    detail["entities"] = entities_of(session, investigation_id)
    investigated = [
        e["value"]
        for e in detail["entities"]
        if e["type"] == "message" and e["role"] == "investigated"
    ]
    detail["copies"] = [
        {"mailbox": c.mailbox, "location": c.location, "message": c.message_sha256}
        for c in {
            c.id: c for sha256 in investigated for c in repo.copies_of(session, sha256)
        }.values()
    ]
    detail["clusters"] = clusters_of(session, investigation_id)
    detail["actions"] = [
        action_view(a)
        for a in session.scalars(
            select(m.Action)
            .where(m.Action.investigation_id == investigation_id)
            .order_by(m.Action.id)
        )
    ]
    detail["log"] = log_of(session, investigation_id)
    detail["warnings"] = [
        {"source": w.source, "code": w.code, "where": w.location, "message": w.message}
        for w in session.scalars(
            select(m.WarningRecord)
            .where(m.WarningRecord.investigation_id == investigation_id)
            .order_by(m.WarningRecord.id)
        )
    ]
    return detail


def clusters_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    _investigation(session, investigation_id)  # an unknown id is a clear error
    rows = session.scalars(
        select(m.Cluster)
        .where(m.Cluster.investigation_id == investigation_id)
        .order_by(m.Cluster.id)
    )
    return [clusters.view(row) for row in rows]


def alerts_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(m.Alert)
        .where(m.Alert.investigation_id == investigation_id)
        .order_by(m.Alert.id)
    )
    return [alert_view(a) for a in rows]


def list_alerts(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """Alerts, newest first, those that opened no investigation included."""
    rows = session.scalars(select(m.Alert).order_by(m.Alert.id.desc()).limit(limit))
    return [alert_view(a) for a in rows]


def alert_view(alert: m.Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "policy": alert.policy,
        "name": alert.name,
        "severity": alert.severity,
        "category": alert.category,
        "count": alert.count,
        "entities": [
            {"type": t, "value": v} for t, v in alert.entities.get("items", [])
        ],
        "investigation_id": alert.investigation_id,
        "created_at": _time(alert.created_at),
    }


def entities_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    findings: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in session.scalars(
        select(m.FindingRecord)
        .where(m.FindingRecord.investigation_id == investigation_id)
        .order_by(m.FindingRecord.id)
    ):
        findings[(f.entity_type, f.entity_value)].append(
            {
                "analyzer": f.analyzer,
                "code": f.code,
                "severity": f.severity,
                "summary": f.summary,
            }
        )
    rows = session.scalars(
        select(m.InvestigationEntity)
        .where(m.InvestigationEntity.investigation_id == investigation_id)
        .order_by(m.InvestigationEntity.id)
    )
    return [
        {
            "type": e.type,
            "value": e.value,
            "role": e.role,
            "verdict": e.verdict,
            "reasons": list(e.reasons or []),
            "findings": findings.get((e.type, e.value), []),
        }
        for e in rows
    ]


def is_recommendation(action: m.Action) -> bool:
    return (
        bool(action.params.get("recommendation")) or action.type == "reset_credentials"
    )


def action_view(action: m.Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "investigation_id": action.investigation_id,
        "type": action.type,
        "target_type": action.target_type,
        "target": action.target,
        "status": action.status,
        "reason": action.reason,
        "copies": len(action.params.get("copies", [])),
        # A recommendation is for a person to carry out: approving it records that.
        "recommendation": is_recommendation(action),
        "proposed_at": _time(action.proposed_at),
        "expires_at": _time(action.expires_at),
        "decided_by": action.decided_by,
        "decided_at": _time(action.decided_at),
        "comment": action.decision_comment,
        "executed_at": _time(action.executed_at),
        "result": action.result,
        "undone_by": action.undone_by,
        "undone_at": _time(action.undone_at),
    }


def list_actions(
    session: Session, status: str | None = None, investigation_id: int | None = None
) -> list[dict[str, Any]]:
    query = select(m.Action).order_by(m.Action.id)
    if status:
        query = query.where(m.Action.status == status)
    if investigation_id is not None:
        query = query.where(m.Action.investigation_id == investigation_id)
    return [action_view(a) for a in session.scalars(query)]


def message_verdict(
    session: Session, investigation_id: int, sha256: str
) -> tuple[str, list[dict[str, Any]]]:
    """A message's verdict in one investigation, with its reasons."""
    row = session.scalar(
        select(m.InvestigationEntity).where(
            m.InvestigationEntity.investigation_id == investigation_id,
            m.InvestigationEntity.type == "message",
            m.InvestigationEntity.value == sha256,
        )
    )
    if row is None:
        return "unknown", []
    return row.verdict or "unknown", list(row.reasons or [])


def messages_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    """The investigation's messages: its own and the ones its clusters hold."""
    _investigation(session, investigation_id)
    rows = session.scalars(
        select(m.InvestigationEntity)
        .where(
            m.InvestigationEntity.investigation_id == investigation_id,
            m.InvestigationEntity.type == "message",
        )
        .order_by(m.InvestigationEntity.id)
    )
    out = []
    for entity in rows:
        message = session.get(m.Message, entity.value)
        out.append(
            {
                "sha256": entity.value,
                "role": entity.role,
                "verdict": entity.verdict,
                "message_id": message.message_id if message else None,
                "subject": message.subject if message else None,
                "from": message.from_address if message else None,
                "sending_ip": message.sending_ip if message else None,
                "first_seen_at": _time(message.first_seen_at) if message else None,
                "copies": len(repo.copies_of(session, entity.value)),
            }
        )
    return out


def mailboxes_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    """Each mailbox holding a copy of the investigation's messages, with where."""
    messages = [row["sha256"] for row in messages_of(session, investigation_id)]
    found: dict[str, dict[str, Any]] = {}
    for sha256 in messages:
        for copy in repo.copies_of(session, sha256):
            box = found.setdefault(
                copy.mailbox, {"mailbox": copy.mailbox, "copies": 0, "locations": {}}
            )
            box["copies"] += 1
            box["locations"][copy.location] = box["locations"].get(copy.location, 0) + 1
    return sorted(found.values(), key=lambda b: str(b["mailbox"]))


def log_of(session: Session, investigation_id: int) -> list[dict[str, Any]]:
    _investigation(session, investigation_id)
    return [
        {
            "step": e.step,
            "status": e.status,
            "started_at": _time(e.started_at),
            "ended_at": _time(e.ended_at),
            "summary": e.summary,
            "findings": e.findings_count,
        }
        for e in session.scalars(
            select(m.LogEntry)
            .where(m.LogEntry.investigation_id == investigation_id)
            .order_by(m.LogEntry.id)
        )
    ]


def investigation_graph(session: Session, investigation_id: int) -> dict[str, Any]:
    """Nodes (alerts, messages, clusters, mailboxes, entities, actions) and the
    edges between them."""
    _investigation(session, investigation_id)
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []

    def node(key: str, kind: str, label: str, **more: Any) -> str:
        nodes.setdefault(key, {"id": key, "kind": kind, "label": label[:300], **more})
        return key

    def edge(source: str, target: str, relation: str) -> None:
        edges.append({"source": source, "target": target, "relation": relation})

    for entity in session.scalars(
        select(m.InvestigationEntity)
        .where(m.InvestigationEntity.investigation_id == investigation_id)
        .order_by(m.InvestigationEntity.id)
    ):
        key = node(
            f"{entity.type}:{entity.value}",
            entity.type,
            entity.value,
            verdict=entity.verdict,
            role=entity.role,
        )
        if entity.parent:
            edge(entity.parent, key, "contains")
    for alert in session.scalars(
        select(m.Alert).where(m.Alert.investigation_id == investigation_id)
    ):
        key = node(f"alert:{alert.id}", "alert", alert.name, severity=alert.severity)
        for kind, value in alert.entities.get("items", []):
            if f"{kind}:{value}" in nodes:
                edge(key, f"{kind}:{value}", "about")
    for cluster in session.scalars(
        select(m.Cluster).where(m.Cluster.investigation_id == investigation_id)
    ):
        key = node(
            f"cluster:{cluster.id}",
            "cluster",
            f"{cluster.key} {cluster.value}",
            verdict=cluster.verdict,
            copies=cluster.copies,
        )
        if cluster.source_message:
            edge(f"message:{cluster.source_message}", key, "clustered")
    for box in mailboxes_of(session, investigation_id):
        node(f"mailbox:{box['mailbox']}", "mailbox", box["mailbox"])
    for sha256 in [n["label"] for n in list(nodes.values()) if n["kind"] == "message"]:
        for copy in repo.copies_of(session, sha256):
            edge(f"message:{sha256}", f"mailbox:{copy.mailbox}", f"in {copy.location}")
    for action in session.scalars(
        select(m.Action).where(m.Action.investigation_id == investigation_id)
    ):
        key = node(f"action:{action.id}", "action", action.type, status=action.status)
        cluster_id = action.params.get("cluster_id")
        target = (
            f"cluster:{cluster_id}"
            if cluster_id
            else f"{action.target_type}:{action.target}"
        )
        if target in nodes:
            edge(key, target, "acts on")
    return {"nodes": list(nodes.values()), "edges": edges}
