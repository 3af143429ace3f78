"""Reading Microsoft 365 audit records and Defender email records into events.

Three shapes arrive:
- Office 365 Management Activity API records (``Workload``, ``Operation``,
  ``CreationTime``), as a JSON array, JSON Lines, one object, or the CSV export of
  the audit-log search (its ``AuditData`` column holds each record as JSON text);
- Microsoft Defender XDR streaming records (``category`` ``AdvancedHunting-Table``
  around ``properties``) and advanced-hunting rows (``Timestamp`` and the table's
  columns);
- message-trace rows;
- alerts as Microsoft Graph's security API lists them.

Records drift, so reading is forgiving and says what it forgave:
- unknown fields are kept;
- nested JSON strings (and Python-literal strings some exporters write) are
  decoded;
- a time without a zone is read as UTC, with one warning per file;
- duplicates are dropped by their id;
- a truncated or broken record is a counted warning, never a stop.

Each record becomes one normalised ``AuditRecord``: an event kind heron's
policies know, the user, the time, and the fields the kind is about.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_FILE = 512 * 1024 * 1024
MAX_DEPTH = 8
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class AuditRecord:
    """One audit or email record, normalised."""

    kind: str
    source: str  # management-activity, defender:<Table>, message-trace
    id: str
    occurred_at: datetime
    user: str
    operation: str
    fields: dict[str, Any]
    raw: dict[str, Any]


@dataclass
class AuditBatch:
    """What one read found: the records, and what it had to forgive."""

    records: list[AuditRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.kind for r in self.records)


def read_audit(path: Path) -> AuditBatch:
    """Every record in the file at ``path``."""
    size = path.stat().st_size
    if size > MAX_FILE:
        batch = AuditBatch()
        batch.warnings.append(f"{path}: larger than {MAX_FILE} bytes; not read")
        return batch
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return parse_audit(text, str(path))


def parse_audit(text: str, name: str = "input") -> AuditBatch:
    """Every record in ``text``: a JSON array, an object, JSON Lines or CSV."""
    batch = AuditBatch()
    seen: set[str] = set()
    ids: dict[str, str] = {}
    repeated = 0
    zoneless = 0
    for where, item in _items(text, name, batch):
        if not isinstance(item, dict):
            batch.warnings.append(f"{where}: not a record (a {type(item).__name__})")
            continue
        try:
            record, assumed_utc = normalise(item)
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            batch.warnings.append(f"{where}: record not understood: {str(exc)[:200]}")
            continue
        zoneless += assumed_utc
        # By id; with the time and operation too, since anonymised exports give
        # different records one placeholder id.
        # A record repeated whole is a duplicate. The same id with other content
        # is kept, with a warning: exports reuse placeholder ids.
        key = record_key(record)
        if key in seen:
            batch.duplicates += 1
            continue
        seen.add(key)
        if record.id and record.id in ids and ids[record.id] != key:
            repeated += 1
        ids.setdefault(record.id, key)
        batch.records.append(record)
    if zoneless:
        batch.warnings.append(
            f"{name}: {zoneless} record(s) give their time without a zone; read as UTC"
        )
    if repeated:
        batch.warnings.append(
            f"{name}: {repeated} record(s) reuse an earlier record's id with other "
            "content; both kept"
        )
    return batch


def record_key(record: AuditRecord) -> str:
    """What names a record across files and runs: its source, id, time, operation
    and content, hashed to a fixed length."""
    content = json.dumps(record.raw, sort_keys=True, default=str)
    whole = f"{record.source}\x1f{record.id}\x1f{record.occurred_at.isoformat()}"
    whole += f"\x1f{record.operation}\x1f{content}"
    return hashlib.sha256(whole.encode("utf-8", "replace")).hexdigest()


def _items(text: str, name: str, batch: AuditBatch) -> Iterator[tuple[str, Any]]:
    stripped = text.lstrip()
    if not stripped:
        return
    if stripped[0] in "[{":
        try:
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            whole = None
        except RecursionError:
            whole = None  # read line by line: one deep record costs only itself
        if isinstance(whole, dict) and isinstance(whole.get("value"), list):
            whole = whole["value"]  # a Graph or OData listing around its records
        if isinstance(whole, list):
            for index, item in enumerate(whole):
                yield f"{name}[{index}]", item
            return
        if isinstance(whole, dict):
            yield name, whole
            return
        for number, line in enumerate(text.splitlines(), start=1):
            # JSON Lines; or a cut JSON array written one record a line.
            entry = line.strip().removeprefix("[").removesuffix("]").strip()
            entry = entry.removesuffix(",").strip()
            if not entry:
                continue
            try:
                yield f"{name}:{number}", json.loads(entry)
            except json.JSONDecodeError as exc:
                batch.warnings.append(
                    f"{name}:{number}: not JSON, truncated or broken ({exc.msg})"
                )
            except RecursionError:
                batch.warnings.append(f"{name}:{number}: nested too deeply to read")
        return
    yield from _csv_items(text, name, batch)


def _csv_items(text: str, name: str, batch: AuditBatch) -> Iterator[tuple[str, Any]]:
    csv.field_size_limit(MAX_FILE)  # an AuditData cell may be large
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = {c.lower(): c for c in reader.fieldnames or []}
    except csv.Error as exc:
        batch.warnings.append(f"{name}: neither JSON nor a readable CSV ({exc})")
        return
    data_column = columns.get("auditdata")
    if data_column is None:
        batch.warnings.append(
            f"{name}: neither JSON nor an audit-log CSV export (no AuditData column)"
        )
        return
    rows = iter(reader)
    number = 1
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            batch.warnings.append(f"{name}:{number}: the CSV breaks off here ({exc})")
            return
        cell = row.get(data_column) or ""
        try:
            yield f"{name}:{number}", json.loads(cell)
        except json.JSONDecodeError as exc:
            batch.warnings.append(f"{name}:{number}: AuditData is not JSON ({exc.msg})")
        except RecursionError:
            batch.warnings.append(f"{name}:{number}: nested too deeply to read")


def decode_nested(value: Any, depth: int = 0) -> Any:
    """Strings holding JSON (or the Python literals some exporters write) become
    the values they hold, all the way down; anything else stays as it is."""
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: decode_nested(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_nested(v, depth + 1) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 2 and text[0] in "[{" and text[-1] in "]}":
            try:
                return decode_nested(json.loads(text), depth + 1)
            except (json.JSONDecodeError, RecursionError):
                pass
            try:
                literal = ast.literal_eval(text)
                json.dumps(literal)  # only what JSON can hold: no tuple keys, bytes
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return value
            if isinstance(literal, (list, dict)):
                return decode_nested(literal, depth + 1)
    return value


# -- normalising --------------------------------------------------------------------

RULE_OPERATIONS = {"new-inboxrule", "set-inboxrule", "updateinboxrules"}
DELEGATION_OPERATIONS = {
    "add-mailboxpermission",
    "add-recipientpermission",
    "add-mailboxfolderpermission",
}
SEND_OPERATIONS = {"send", "sendas", "sendonbehalf"}
USER_REPORTED = "email reported by user as malware or phish"


def normalise(item: dict[str, Any]) -> tuple[AuditRecord, bool]:
    """The record as heron's event, and whether its time had no zone."""
    record = decode_nested(item)
    if isinstance(record.get("properties"), dict) and str(
        record.get("category", "")
    ).startswith("AdvancedHunting-"):
        table = str(record["category"]).removeprefix("AdvancedHunting-")
        return _defender(table, {**record["properties"]}, record)
    record = _canonical(record)
    if "Workload" in record or "Operation" in record:
        return _management(record)
    if "MessageTraceId" in record or "__metadata" in record:
        return _message_trace(record)
    if "serviceSource" in record and "title" in record:
        return _graph_alert(record)
    if "Timestamp" in record and "NetworkMessageId" in record:
        return _defender(_guess_table(record), record, record)
    raise ValueError("neither a Management Activity, Defender nor message-trace record")


def _management(record: dict[str, Any]) -> tuple[AuditRecord, bool]:
    operation = str(record.get("Operation", ""))
    op = operation.lower()
    user = _address_or_name(record.get("UserId") or record.get("MailboxOwnerUPN"))
    params = _parameters(record.get("Parameters")) | _parameters(
        record.get("OperationProperties")
    )
    fields: dict[str, Any] = {"workload": record.get("Workload", "")}
    ip = _ip(record.get("ClientIP") or record.get("ClientIPAddress") or "")
    if ip:
        fields["ip"] = ip
    if op in RULE_OPERATIONS:
        kind = "inbox_rule.changed"
        fields |= _rule_fields(params, record)
    elif op == "set-mailbox" and (
        params.get("forwardingsmtpaddress")
        or params.get("forwardingaddress")
        or "delivertomailboxandforward" in params
    ):
        kind = "mailbox.forwarding_set"
        targets = sorted(
            {
                t
                for k in ("forwardingsmtpaddress", "forwardingaddress")
                for t in _addresses(params.get(k))
            }
        )
        fields |= {
            "forward_to": targets,
            "keeps_copy": str(params.get("delivertomailboxandforward", "")).lower()
            == "true",
            "mailbox": _mailbox(params.get("identity"), record.get("ObjectId"), user),
        }
    elif op in DELEGATION_OPERATIONS:
        kind = "mailbox.delegation_added"
        fields |= {
            "mailbox": _mailbox(params.get("identity"), record.get("ObjectId"), user),
            "grantee": _address_or_name(params.get("user") or params.get("trustee")),
            "rights": params.get("accessrights", ""),
        }
    elif str(record.get("Name", "")).lower() == USER_REPORTED or op == "usersubmission":
        kind = "message.reported_by_user"
        found = record.get("Data")
        data: dict[str, Any] = found if isinstance(found, dict) else {}
        fields |= {
            "reporter": _alert_subject(record, data) or user,
            "alert": record.get("Name", ""),
            "alert_id": record.get("AlertId", ""),
        }
        user = fields["reporter"] or user
    elif op == "tiurlclickdata":
        kind = "url.clicked"
        fields |= {"url": record.get("Url", ""), "app": record.get("AppName", "")}
        fields["ip"] = _ip(record.get("UserIp", "")) or fields.get("ip", "")
    elif op in ("timaildata", "atpdetection"):
        kind = "email.threat"
        fields |= _mail_fields(record)
    elif op == "mailitemsaccessed":
        kind = "mailbox.items_accessed"
        fields["mailbox"] = _address_or_name(record.get("MailboxOwnerUPN")) or user
    elif op in ("userloggedin", "userloginfailed"):
        kind = "user.signed_in" if op == "userloggedin" else "user.sign_in_failed"
    elif op in SEND_OPERATIONS:
        kind = "message.sent"
        sent = record.get("Item")
        item: dict[str, Any] = sent if isinstance(sent, dict) else {}
        fields |= {
            "subject": item.get("Subject", ""),
            "message_id": item.get("InternetMessageId", ""),
        }
    elif op == "airinvestigationdata":
        kind = "air.investigation"
    elif record.get("Workload") == "SecurityComplianceCenter" and record.get("Name"):
        kind = "alert.m365"
        found = record.get("Data")
        data = found if isinstance(found, dict) else {}
        fields |= {
            "alert": record.get("Name", ""),
            "severity": record.get("Severity", ""),
        }
        # The alert's subject, not the service account that raised it.
        user = _alert_subject(record, data) or user
        fields["alert_id"] = record.get("AlertId", "")
    else:
        kind = "audit.other"
    moment, zoneless = _time(record.get("CreationTime"))
    return (
        AuditRecord(
            kind,
            "management-activity",
            str(record.get("Id") or ""),
            moment,
            user,
            operation,
            fields,
            record,
        ),
        zoneless,
    )


def _rule_fields(params: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "rule": params.get("name") or params.get("rulename") or "",
        "forward_to": _addresses(params.get("forwardto")),
        "redirect_to": _addresses(params.get("redirectto")),
        "forward_as_attachment_to": _addresses(params.get("forwardasattachmentto")),
        "delete": str(params.get("deletemessage", "")).lower() == "true",
        "move_to_folder": params.get("movetofolder", ""),
    }
    actions = params.get("ruleactions")
    if actions and not (fields["forward_to"] or fields["redirect_to"]):
        # Outlook's client rules (UpdateInboxRules) name their targets inside the
        # action text: every address there is a forward.
        fields["forward_to"] = _addresses(json.dumps(actions, default=str))
        fields["delete"] = fields["delete"] or "delete" in str(actions).lower()
    return fields


def _defender(
    table: str, row: dict[str, Any], record: dict[str, Any]
) -> tuple[AuditRecord, bool]:
    kinds = {
        "EmailEvents": "email.delivered",
        "EmailUrlInfo": "email.url",
        "EmailAttachmentInfo": "email.attachment",
        "EmailPostDeliveryEvents": "email.post_delivery",
        "UrlClickEvents": "url.clicked",
        "MessageEvents": "message.teams",
        "IdentityLogonEvents": "user.signed_in",
    }
    kind = kinds.get(table, "defender.other")
    fields: dict[str, Any] = {
        key: row[key]
        for key in (
            "NetworkMessageId",
            "InternetMessageId",
            "SenderFromAddress",
            "RecipientEmailAddress",
            "Subject",
            "ThreatTypes",
            "DeliveryAction",
            "DeliveryLocation",
            "EmailDirection",
            "Url",
            "SHA256",
            "FileName",
            "ActionType",
            "IPAddress",
            "IsClickedThrough",
        )
        if row.get(key) not in (None, "")
    }
    if kind == "email.delivered" and fields.get("ThreatTypes"):
        kind = "email.threat"
    if (
        kind == "email.delivered"
        and str(fields.get("EmailDirection", "")) == "Outbound"
    ):
        kind = "message.sent"
    if kind == "user.signed_in" and "fail" in str(row.get("ActionType", "")).lower():
        kind = "user.sign_in_failed"
    user = _address_or_name(
        (row.get("SenderFromAddress") if kind == "message.sent" else None)
        or row.get("AccountUpn")
        or row.get("RecipientEmailAddress")
        or row.get("SenderFromAddress")
        or row.get("AccountName")
    )
    ident = str(row.get("ReportId") or row.get("NetworkMessageId") or "")
    if ident and row.get("RecipientEmailAddress"):
        ident += f":{row['RecipientEmailAddress']}"
    moment, zoneless = _time(row.get("Timestamp") or record.get("time"))
    return (
        AuditRecord(
            kind,
            f"defender:{table}",
            ident,
            moment,
            user,
            str(row.get("ActionType", "")),
            fields,
            record,
        ),
        zoneless,
    )


def _graph_alert(record: dict[str, Any]) -> tuple[AuditRecord, bool]:
    """An alert as Microsoft Graph's security API lists it (alerts_v2)."""
    title = str(record.get("title", ""))
    kind = (
        "message.reported_by_user" if title.lower() == USER_REPORTED else "alert.m365"
    )
    fields = {
        "alert": title,
        "severity": record.get("severity", ""),
        "status": record.get("status", ""),
        "service": record.get("serviceSource", ""),
        "category": record.get("category", ""),
    }
    moment, zoneless = _time(record.get("createdDateTime"))
    return (
        AuditRecord(
            kind,
            "graph-alert",
            str(record.get("id", "")),
            moment,
            "",
            title,
            fields,
            record,
        ),
        zoneless,
    )


def _message_trace(record: dict[str, Any]) -> tuple[AuditRecord, bool]:
    fields = {
        "message_id": record.get("MessageId", ""),
        "sender": _address_or_name(record.get("SenderAddress")),
        "recipient": _address_or_name(record.get("RecipientAddress")),
        "subject": record.get("Subject", ""),
        "status": record.get("Status", ""),
    }
    moment, zoneless = _time(record.get("Received"))
    ident = str(record.get("MessageTraceId") or "") + f":{fields['recipient']}"
    return (
        AuditRecord(
            "email.trace",
            "message-trace",
            ident,
            moment,
            fields["recipient"],
            "MessageTrace",
            fields,
            record,
        ),
        zoneless,
    )


# Field names as the Management Activity schema spells them; some collectors
# (Panther, some SIEM exports) write them in lower case.
_CANON = {
    name.lower(): name
    for name in (
        "CreationTime",
        "Id",
        "Operation",
        "Workload",
        "UserId",
        "UserKey",
        "Parameters",
        "OperationProperties",
        "ClientIP",
        "ClientIPAddress",
        "ObjectId",
        "OrganizationName",
        "RecordType",
        "ResultStatus",
        "MailboxOwnerUPN",
        "Name",
        "Data",
        "Item",
    )
}


def _canonical(record: dict[str, Any]) -> dict[str, Any]:
    if "Operation" in record or "operation" not in record:
        return record
    return {_CANON.get(key.lower(), key): value for key, value in record.items()}


def _guess_table(row: dict[str, Any]) -> str:
    if "Url" in row and "UrlChain" in row:
        return "UrlClickEvents"
    if "Url" in row:
        return "EmailUrlInfo"
    if "SHA256" in row:
        return "EmailAttachmentInfo"
    return "EmailEvents"


# -- values -------------------------------------------------------------------------


def _parameters(value: Any) -> dict[str, Any]:
    """``[{"Name": ..., "Value": ...}]`` (or a plain mapping) as a dict with
    lower-case names."""
    if isinstance(value, dict):
        return {str(k).lower(): v for k, v in value.items()}
    if not isinstance(value, list):
        return {}
    found = {}
    for item in value:
        if isinstance(item, dict) and item.get("Name"):
            found[str(item["Name"]).lower()] = item.get("Value", "")
    return found


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return sorted({_strip_smtp(a).lower() for a in _ADDRESS.findall(text)})


def _mailbox(identity: Any, object_id: Any, user: str) -> str:
    """The mailbox a change was made to: its identity when that is an address,
    else the acting user's address (an identity may be an Exchange path)."""
    for candidate in (identity, object_id):
        text = _address_or_name(candidate)
        if "@" in text and "/" not in text:
            return text
    return user


def _alert_subject(record: dict[str, Any], data: dict[str, Any]) -> str:
    """The user a Security & Compliance alert is about: the first address among
    the fields Microsoft puts it in."""
    for candidate in (
        data.get("f3u"),
        data.get("AffectedUser"),
        data.get("eid"),
        record.get("AlertEntityId"),
        record.get("ObjectId"),
    ):
        text = _address_or_name(candidate)
        if "@" in text and not any(c.isspace() for c in text):
            return text
    return ""


def _strip_smtp(value: Any) -> str:
    text = str(value or "").strip()
    return text[5:] if text.lower().startswith("smtp:") else text


def _address_or_name(value: Any) -> str:
    text = str(value or "").strip()
    return text.lower() if "@" in text else text


def _ip(value: Any) -> str:
    text = str(value or "").strip()
    if text.startswith("[") and "]" in text:  # [ipv6]:port
        return text[1 : text.index("]")]
    if text.count(":") == 1:  # ipv4:port
        return text.split(":", 1)[0]
    return text


def _time(value: Any) -> tuple[datetime, bool]:
    """The moment, and True when it had no zone (read as UTC). An unreadable time
    is an error of the record."""
    text = str(value or "").strip()
    millis = re.fullmatch(r"/Date\((\d+)\)/", text)
    if millis:
        try:
            return datetime.fromtimestamp(int(millis.group(1)) / 1000, UTC), False
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"time out of range: {text[:40]}") from None
    if not text:
        raise ValueError("no time")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:  # .NET writes seven fraction digits; Python reads six
        head, _, rest = text.partition(".")
        digits = re.match(r"\d+", rest)
        if digits:
            text = f"{head}.{digits.group(0)[:6]}{rest[digits.end() :]}"
    moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), True
    try:
        return moment.astimezone(UTC), False
    except OverflowError:
        raise ValueError(f"time out of range: {text[:40]}") from None


def _mail_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": record.get("InternetMessageId", ""),
        "sender": _address_or_name(record.get("P1Sender") or record.get("P2Sender")),
        "recipients": [_address_or_name(r) for r in record.get("Recipients", []) or []],
        "subject": record.get("Subject", ""),
        "verdict": record.get("Verdict") or record.get("DetectionType", ""),
    }
