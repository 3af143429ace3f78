"""The activity feed: heron's reporting records, in the shape of the Office 365
Management Activity API, so that collectors written for Microsoft's feed read heron.

Every time an investigation's status or one of its actions changes, ``publish``
writes one record of the investigation as it now is (content type Audit.General):
- RecordType 64 (AirInvestigation) for investigations an alert opened;
- RecordType 86 (AirManualInvestigation) for investigations a person started;
- RecordType 89 (AirAdminActionInvestigation) when the change is a person's
  decision on an action (approve, reject, undo, propose).

A record carries the investigation's InvestigationId, InvestigationName,
InvestigationType, Status, StartTimeUtc, LastUpdateTimeUtc, DeeplinkURL, Actions
(each with ActionStatus, and ApprovedBy once approved) and Data, a JSON string with
the entities and alerts, as Microsoft's AIR records do.

Records are sealed into content blobs that never change afterwards (``seal``): by
the ``feed`` job of ``heron serve`` every minute, and by every content listing
before it lists. A blob's creation time is the moment it was sealed, so a blob
never appears in a window a collector has already listed: a collector that lists
consecutive windows up to "now" reads every record exactly once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heron.domain.roles import Principal, PrincipalKind
from heron.domain.verdicts import InvestigationStatus
from heron.errors import NotFoundError
from heron.store import models as m
from heron.store.models import utcnow

CONTENT_TYPE = "Audit.General"
CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
AIR_INVESTIGATION, AIR_MANUAL, AIR_ADMIN_ACTION = 64, 86, 89
WORKLOADS = {
    AIR_INVESTIGATION: "AirInvestigation",
    AIR_MANUAL: "AirManualInvestigation",
    AIR_ADMIN_ACTION: "AirAdminActionInvestigation",
}
# Microsoft keeps content for seven days; heron keeps it as long as the records
# and says so in contentExpiration.
CONTENT_RETENTION = timedelta(days=7)
MAX_ENTITIES = 500
MAX_CLUSTERS = 100
PAGE_SIZE = 200
MAX_BLOB_RECORDS = 1000

INVESTIGATION_TYPES = {
    "user-reported-message": "User-Reported Messages",
    "post-delivery-message": "Zapped Phish",
    "url-click": "Url Verdict Change",
    "manual-investigation": "Manual Investigation",
    "mailbox-settings": "Mailbox Settings Change",
    "compromised-user": "Compromised User",
}
ENTITY_SHAPES = {
    "message": "mail-message",
    "url": "url",
    "ip": "ip",
    "file": "file",
    "mailbox": "mailbox",
    "sender": "mailbox",
    "domain": "domain",
}


def tenant_of(tenant_id: str, org_domains: list[str]) -> str:
    """The organisation's GUID: the setting, else one derived from its first domain."""
    if tenant_id:
        return tenant_id
    seed = org_domains[0] if org_domains else "heron.invalid"
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, seed))


def _status_title(status: str) -> str:
    return " ".join(word.capitalize() for word in status.split())


def _utc(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else None


@dataclass(frozen=True)
class Feed:
    """What records name: the tenant and where people open an investigation."""

    tenant: str
    public_url: str

    def deeplink(self, investigation_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/api/v1/investigations/{investigation_id}"


def _action(action: m.Action) -> dict[str, Any]:
    approved = action.status not in ("pending", "rejected", "expired")
    ended = action.undone_at or action.executed_at or action.decided_at
    return {
        "ID": str(action.id),
        "ActionId": str(action.id),
        "InvestigationId": str(action.investigation_id),
        "ActionType": action.type,
        "ActionStatus": _status_title(action.status),
        "ApprovedBy": action.decided_by if approved and action.decided_by else None,
        "RejectedBy": action.decided_by if action.status == "rejected" else None,
        "DecisionComment": action.decision_comment or None,
        "UndoneBy": action.undone_by or None,
        "ProposedBy": action.proposed_by or None,
        "TimestampUtc": _utc(ended or action.proposed_at),
        "StartTimeUtc": _utc(action.proposed_at),
        "EndTimeUtc": _utc(ended) if action.status not in ("pending",) else None,
        "Entities": [{"Type": action.target_type, "Value": action.target[:2000]}],
        "Copies": len(action.params.get("copies", [])),
    }


def _entities(session: Session, investigation_id: int) -> tuple[list[Any], bool]:
    rows = session.scalars(
        select(m.InvestigationEntity)
        .where(m.InvestigationEntity.investigation_id == investigation_id)
        .order_by(m.InvestigationEntity.id)
        .limit(MAX_ENTITIES + 1)
    ).all()
    out: list[dict[str, Any]] = []
    for row in rows[:MAX_ENTITIES]:
        shape = ENTITY_SHAPES.get(row.type, row.type)
        entity: dict[str, Any] = {
            "Type": shape,
            "Verdict": row.verdict,
            "Role": row.role,
        }
        if row.type == "message":
            message = session.get(m.Message, row.value)
            entity.update(
                {
                    "Sha256": row.value,
                    "InternetMessageId": message.message_id if message else None,
                    "Subject": message.subject[:500] if message else None,
                    "Sender": message.from_address if message else None,
                    "SenderIP": (message.sending_ip or None) if message else None,
                }
            )
        elif row.type == "url":
            entity["Url"] = row.value[:2000]
        elif row.type == "ip":
            entity["Address"] = row.value
        elif row.type == "file":
            entity["FileHashes"] = [
                {"Type": "filehash", "Algorithm": "SHA256", "Value": row.value}
            ]
        elif row.type in ("mailbox", "sender"):
            entity["MailboxPrimaryAddress"] = row.value
            entity["Upn"] = row.value
        else:
            entity["Value"] = row.value[:2000]
        out.append(entity)
    clusters = session.scalars(
        select(m.Cluster)
        .where(m.Cluster.investigation_id == investigation_id)
        .order_by(m.Cluster.id)
        .limit(MAX_CLUSTERS)
    )
    for cluster in clusters:
        out.append(
            {
                "Type": "MailCluster",
                "Source": f"{cluster.kind}:{cluster.key}",
                "Query": json.dumps(cluster.query, sort_keys=True)[:4000],
                "QueryTime": _utc(cluster.queried_at),
                "MailCount": cluster.copies,
                "CountByDeliveryStatus": cluster.counts.get("by_location", {}),
                "CountByThreatType": cluster.counts.get("by_threat", {}),
                "Threats": sorted(cluster.counts.get("by_threat", {})),
                "Verdict": cluster.verdict,
            }
        )
    return out, len(rows) > MAX_ENTITIES


def snapshot(
    session: Session, feed: Feed, investigation: m.Investigation
) -> dict[str, Any]:
    """The investigation as one record's service-specific part."""
    actions = session.scalars(
        select(m.Action)
        .where(m.Action.investigation_id == investigation.id)
        .order_by(m.Action.id)
    ).all()
    alerts = session.scalars(
        select(m.Alert).where(m.Alert.investigation_id == investigation.id)
    ).all()
    entities, truncated = _entities(session, investigation.id)
    data = {
        "Verdict": investigation.verdict,
        "Playbook": investigation.playbook,
        "StartedBy": investigation.started_by or None,
        "Entities": entities,
        "EntitiesTruncated": truncated,
        "Alerts": [
            {
                "AlertId": str(a.id),
                "Name": a.name,
                "Severity": a.severity,
                "Category": a.category,
                "Count": a.count,
            }
            for a in alerts
        ],
    }
    alert_ids = [str(a.id) for a in alerts]
    return {
        "InvestigationId": str(investigation.id),
        "InvestigationName": investigation.name[:500],
        "InvestigationType": INVESTIGATION_TYPES.get(
            investigation.playbook, investigation.playbook
        ),
        "Status": _status_title(investigation.status),
        "StartTimeUtc": _utc(investigation.created_at),
        "LastUpdateTimeUtc": _utc(investigation.updated_at),
        "EndTimeUtc": _utc(investigation.ended_at),
        "DeeplinkURL": feed.deeplink(investigation.id),
        "Actions": [{**_action(a), "RelatedAlertIds": alert_ids} for a in actions],
        "Data": json.dumps(data, sort_keys=True),
    }


def _signature(investigation: m.Investigation, body: dict[str, Any]) -> str:
    key = [
        investigation.status,
        [
            (
                a["ID"],
                a["ActionStatus"],
                a["ApprovedBy"],
                a["RejectedBy"],
                a["UndoneBy"],
            )
            for a in body["Actions"]
        ],
    ]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """What ``publish`` saw change, for notifications."""

    record: m.ActivityRecord
    previous_status: str
    status: str
    new_pending: list[int]

    @property
    def finished(self) -> bool:
        was_open = (
            not self.previous_status
            or InvestigationStatus(self.previous_status).is_open
        )
        return was_open and not InvestigationStatus(self.status).is_open


def publish(
    session: Session,
    feed: Feed,
    investigation: m.Investigation,
    actor: Principal | None = None,
) -> Change | None:
    """Write a record when the investigation's status or actions changed since its
    last record; returns what changed, or None when nothing did."""
    body = snapshot(session, feed, investigation)
    signature = _signature(investigation, body)
    last = session.scalar(
        select(m.ActivityRecord)
        .where(m.ActivityRecord.investigation_id == investigation.id)
        .order_by(m.ActivityRecord.id.desc())
        .limit(1)
    )
    if last is not None and last.signature == signature:
        return None
    person = actor is not None and actor.kind is PrincipalKind.PERSON
    record_type = (
        AIR_ADMIN_ACTION
        if person
        else AIR_MANUAL
        if investigation.started_by
        else AIR_INVESTIGATION
    )
    record_id = str(uuid.uuid4())
    now = utcnow()
    user = actor.label if actor is not None else "heron"
    previous = last.body.get("_status", "") if last is not None else ""
    record = {
        "CreationTime": _utc(now),
        "Id": record_id,
        "Operation": "AdminActionTaken" if person else "InvestigationUpdated",
        "OrganizationId": feed.tenant,
        "RecordType": record_type,
        "ResultStatus": "Succeeded",
        "UserKey": user,
        "UserType": 0 if person else 4,
        "UserId": user,
        "Version": 1,
        "Workload": WORKLOADS[record_type],
        "ObjectId": str(investigation.id),
        "ClientIP": "",
        **body,
        "_status": investigation.status,
    }
    row = m.ActivityRecord(
        record_id=record_id,
        investigation_id=investigation.id,
        record_type=record_type,
        signature=signature,
        created_at=now,
        body=record,
    )
    session.add(row)
    session.flush()
    before_pending = (
        {
            a["ID"]
            for a in last.body.get("Actions", [])
            if a["ActionStatus"] == "Pending"
        }
        if last is not None
        else set()
    )
    pending = [
        int(a["ID"])
        for a in body["Actions"]
        if a["ActionStatus"] == "Pending" and a["ID"] not in before_pending
    ]
    return Change(row, previous, investigation.status, pending)


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the feed serves it (heron's own bookkeeping left out)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


# -- content blobs ---------------------------------------------------------------


def seal(session: Session) -> list[m.ActivityBlob]:
    """Put the records not yet in a blob into new blobs (of up to
    ``MAX_BLOB_RECORDS`` each); returns the new blobs."""
    made: list[m.ActivityBlob] = []
    while True:
        ids = list(
            session.scalars(
                select(m.ActivityRecord.id)
                .where(m.ActivityRecord.blob_id.is_(None))
                .order_by(m.ActivityRecord.id)
                .limit(MAX_BLOB_RECORDS)
            )
        )
        if not ids:
            return made
        blob = m.ActivityBlob(
            content_id=f"{utcnow():%Y%m%d%H%M%S}{uuid.uuid4().hex}",
            content_type=CONTENT_TYPE,
        )
        session.add(blob)
        session.flush()
        sealed = session.execute(
            update(m.ActivityRecord)
            .where(m.ActivityRecord.id.in_(ids), m.ActivityRecord.blob_id.is_(None))
            .values(blob_id=blob.id)
        )
        blob.records = int(sealed.rowcount or 0)  # type: ignore[attr-defined]
        if not blob.records:
            session.delete(blob)  # another process sealed them first
            continue
        made.append(blob)


@dataclass(frozen=True)
class ContentPage:
    blobs: list[m.ActivityBlob]
    next_after: int | None


def content(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    content_type: str = CONTENT_TYPE,
    after: int = 0,
    page_size: int = PAGE_SIZE,
) -> ContentPage:
    """Blobs of a content type created in [start, end), oldest first, after the
    blob id ``after``."""
    rows = session.scalars(
        select(m.ActivityBlob)
        .where(
            m.ActivityBlob.content_type == content_type,
            m.ActivityBlob.created_at >= start,
            m.ActivityBlob.created_at < end,
            m.ActivityBlob.id > after,
        )
        .order_by(m.ActivityBlob.id)
        .limit(page_size + 1)
    ).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    return ContentPage(list(rows), rows[-1].id if more and rows else None)


def blob_records(session: Session, content_id: str) -> list[dict[str, Any]]:
    blob = session.scalar(
        select(m.ActivityBlob).where(m.ActivityBlob.content_id == content_id)
    )
    if blob is None:
        raise NotFoundError(f"no content {content_id[:80]!r}")
    rows = session.scalars(
        select(m.ActivityRecord)
        .where(m.ActivityRecord.blob_id == blob.id)
        .order_by(m.ActivityRecord.id)
    )
    return [public(r.body) for r in rows]


def blob_view(feed: Feed, blob: m.ActivityBlob, base: str) -> dict[str, Any]:
    return {
        "contentType": blob.content_type,
        "contentId": blob.content_id,
        "contentUri": f"{base}/audit/{blob.content_id}",
        "contentCreated": blob.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "contentExpiration": (blob.created_at + CONTENT_RETENTION).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        ),
    }


# -- subscriptions ---------------------------------------------------------------


def webhook_allowed(address: str, allowed: list[str]) -> bool:
    """Whether a subscription may name ``address`` as its webhook: it must have the
    scheme, host and port of one allowed address, a path under that address's path,
    and no user name or password (``https://allowed@elsewhere/`` goes elsewhere)."""
    try:
        wanted = urlsplit(address)
        port = wanted.port
    except ValueError:
        return False
    if wanted.scheme not in ("http", "https") or not wanted.hostname:
        return False
    if wanted.username is not None or wanted.password is not None:
        return False
    segments = wanted.path.split("/")
    lowered = wanted.path.lower()
    if "." in segments or ".." in segments or "%2e" in lowered or "%2f" in lowered:
        return False  # a path that a client would resolve somewhere else
    if "\\" in wanted.path or "%5c" in lowered:
        return False
    for prefix in allowed:
        try:
            base = urlsplit(prefix)
            base_port = base.port
        except ValueError:
            continue
        same_place = (
            wanted.scheme == base.scheme
            and wanted.hostname == (base.hostname or "")
            and (port or _default_port(wanted.scheme))
            == (base_port or _default_port(base.scheme))
        )
        root = base.path if base.path.endswith("/") else base.path + "/"
        path = wanted.path if wanted.path.endswith("/") else wanted.path + "/"
        if same_place and path.startswith(root if base.path else "/"):
            return True
    return False


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def subscription_view(
    row: m.ActivitySubscription, *, secrets: bool = False
) -> dict[str, Any]:
    """A subscription as the feed lists it; the webhook's authId only for admins."""
    webhook = dict(row.webhook or {})
    if webhook and not secrets:
        webhook["authId"] = "(hidden)" if webhook.get("authId") else ""
    return {
        "contentType": row.content_type,
        "status": row.status,
        "webhook": webhook or None,
    }


def start_subscription(
    session: Session, content_type: str, webhook: dict[str, Any] | None, by: str
) -> m.ActivitySubscription:
    row = session.get(m.ActivitySubscription, content_type)
    if row is None:
        row = m.ActivitySubscription(content_type=content_type, webhook={})
        session.add(row)
    row.status, row.updated_by, row.updated_at = "enabled", by, utcnow()
    if webhook is not None:  # none given: the subscription keeps its webhook
        row.webhook = {**webhook, "status": "enabled"}
    session.flush()
    return row


def stop_subscription(session: Session, content_type: str, by: str) -> bool:
    row = session.get(m.ActivitySubscription, content_type)
    if row is None or row.status != "enabled":
        return False
    row.status, row.updated_by, row.updated_at = "disabled", by, utcnow()
    return True


def subscriptions(session: Session) -> list[m.ActivitySubscription]:
    return list(
        session.scalars(
            select(m.ActivitySubscription).order_by(m.ActivitySubscription.content_type)
        )
    )
