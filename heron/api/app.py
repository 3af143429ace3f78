"""heron's REST API (FastAPI) and its activity feed.

``create_app(heron)`` builds the application; ``heron serve`` runs it with uvicorn
and the scheduler. Paths under ``/api/v1`` are heron's own; the activity feed sits
at ``/api/v1.0/{tenant}/activity/feed``, as Microsoft's does. The OpenAPI document
is at ``/openapi.json``.

Every route says what it needs (``needs``); ``Guard`` checks it before anything
else. Errors come back as ``{"detail": "..."}`` with 400 (a bad value), 403 (not
allowed), 404 (no such id), 409 (the action or investigation is not in a state
that allows it), 413 (too large) or 422 (a body or parameter of the wrong shape).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from heron import __version__
from heron.actions import approval
from heron.actions.service import outcome_counts
from heron.api.security import PUBLIC, Guard, needs, permission_of
from heron.domain.playbooks import PLAYBOOKS
from heron.domain.policies import BUILTIN_POLICIES
from heron.domain.roles import Permission, Principal
from heron.engine import activity, notify, scheduler, stix, views
from heron.engine.service import Heron
from heron.errors import (
    ActionError,
    ConfigError,
    HeronError,
    InvalidInput,
    MailParseError,
    NotFoundError,
    PermissionDenied,
    QueryError,
)
from heron.store import explorer, trail, users
from heron.store import models as m
from heron.store import repository as repo

log = logging.getLogger(__name__)

Id = Annotated[int, PathParam(ge=1, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Text = Annotated[str, Field(max_length=4000)]
Tenant = Annotated[str, PathParam(max_length=64)]
ActionStatusName = Literal[
    "pending", "approved", "rejected", "expired", "running", "completed", "partial",
    "failed", "undone",
]  # fmt: skip
ContentType = Annotated[str | None, Query(alias="contentType", max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionBody(Strict):
    comment: Text = ""


class BulkDecisionBody(Strict):
    type: Annotated[str, Field(min_length=1, max_length=32)]
    comment: Text = ""


class CommentBody(Strict):
    comment: Annotated[str, Field(min_length=1, max_length=4000)]


class ProposalBody(Strict):
    type: Literal["block_domain", "hard_delete"]
    domain: Annotated[str, Field(max_length=253)] = ""
    after: Annotated[int, Field(ge=1, le=2**62)] | None = None


class QueryBody(Strict):
    """Explorer filters, as ``heron explore`` takes them; ``messages`` lists the
    sha256 of messages to investigate ("investigate these")."""

    sender: Annotated[str, Field(max_length=320)] = ""
    sender_domain: Annotated[str, Field(max_length=253)] = ""
    recipient: Annotated[str, Field(max_length=320)] = ""
    subject_contains: Annotated[str, Field(max_length=998)] = ""
    url: Annotated[str, Field(max_length=8000)] = ""
    url_domain: Annotated[str, Field(max_length=253)] = ""
    file_hash: Annotated[str, Field(max_length=128)] = ""
    sending_ip: Annotated[str, Field(max_length=45)] = ""
    verdict: Literal["malicious", "suspicious", "clean", "unknown"] | None = None
    location: Annotated[str, Field(max_length=16)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    messages: Annotated[
        list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]], Field(max_length=200)
    ] = []

    def query(self, limit: int = explorer.DEFAULT_LIMIT) -> explorer.ExploreQuery:
        data = self.model_dump(exclude_defaults=True, exclude={"limit"})
        for name in ("since", "until"):
            if name in data:
                data[name] = data[name].isoformat()
        return explorer.ExploreQuery.from_dict({**data, "limit": limit})


class ExplorerQuery(QueryBody):
    limit: Annotated[int, Field(ge=1, le=explorer.MAX_LIMIT)] = 100


class ListBody(Strict):
    list: Literal["allow", "block"]
    kind: Literal["sender", "domain", "url", "sha256", "ip"]
    value: Annotated[str, Field(min_length=1, max_length=8000)]


class AutomationBody(Strict):
    level: Literal["off", "automatic"]
    max_copies: Annotated[int, Field(ge=1, le=approval.MAX_COPIES_LIMIT)] | None = None
    cluster_kinds: Annotated[
        list[Literal["indicator", "similarity"]], Field(max_length=2)
    ] = []
    malicious_only: StrictBool = True


class UserBody(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["reader", "analyst", "approver", "admin"]
    purge: StrictBool = False


class WebhookBody(Strict):
    address: Annotated[str, Field(min_length=1, max_length=2000)]
    authId: Annotated[str, Field(max_length=500, pattern=r"^[\x21-\x7e]*$")] = ""  # noqa: N815
    expiration: Annotated[str, Field(max_length=100)] = ""


class SubscriptionBody(Strict):
    webhook: WebhookBody | None = None


def _raw_body(media_type: str) -> dict[str, Any]:
    """The OpenAPI entry of a body read as bytes."""
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _me(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise PermissionDenied("no user on this request")
    return principal


def _feed_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def _csv(rows: list[dict[str, Any]], columns: list[str], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v) if isinstance(v, dict | list) else _cell(v)
                for k, v in row.items()
            }
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _outcomes(targets: list[dict[str, Any]]) -> str:
    """Targets per outcome, as "done 3; failed 1"."""
    counts = outcome_counts(targets)
    return "; ".join(f"{k} {v}" for k, v in sorted(counts.items()))


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    # A cell a spreadsheet would run as a formula is quoted (CSV injection).
    if isinstance(value, str) and (
        value[:1] in FORMULA or value.lstrip(" \t\r\n\"'")[:1] in FORMULA
    ):
        return "'" + value
    return value


def create_app(heron: Heron) -> FastAPI:
    app = FastAPI(
        title="heron",
        version=__version__,
        description="Automated investigation and response to email threats.",
    )
    _errors(app)
    v1 = "/api/v1"

    def session() -> Any:
        return heron.store.session()

    # -- service ---------------------------------------------------------------------

    @app.get(f"{v1}/health")
    @needs(PUBLIC)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get(f"{v1}/whoami")
    @needs(Permission.READ)
    def whoami(request: Request) -> dict[str, Any]:
        me = _me(request)
        return {
            "name": me.name,
            "role": me.role.value,
            "purge": me.purge,
            "permissions": sorted(p.value for p in Permission if me.may(p)),
            "tenant": heron.feed.tenant,
            "activity_feed": heron.feed_base,
        }

    # -- alerts and investigations ----------------------------------------------------

    @app.get(f"{v1}/alerts")
    @needs(Permission.READ)
    def alerts(limit: Limit = 100) -> list[dict[str, Any]]:
        with session() as s:
            return views.list_alerts(s, limit)

    @app.get(f"{v1}/alerts/{{alert_id}}")
    @needs(Permission.READ)
    def alert(alert_id: Id) -> dict[str, Any]:
        with session() as s:
            row = s.get(m.Alert, alert_id)
            if row is None:
                raise NotFoundError(f"no alert {alert_id}")
            return views.alert_view(row)

    @app.get(f"{v1}/investigations")
    @needs(Permission.READ)
    def investigations(limit: Limit = 100) -> list[dict[str, Any]]:
        with session() as s:
            return views.list_investigations(s, limit)

    @app.post(f"{v1}/investigations", status_code=201)
    @needs(Permission.INVESTIGATE)
    def start_investigation(request: Request, body: QueryBody) -> dict[str, Any]:
        """A manual investigation of the delivered messages matching the filters,
        or of the messages listed."""
        query = body.query()
        if not query.to_dict():
            raise QueryError("give explorer filters or messages to investigate")
        investigation_id, matched = heron.investigate_query(query, by=_me(request))
        with session() as s:
            summary = views.investigation_summary(
                s, views.investigation_row(s, investigation_id)
            )
        return {**summary, "matched_messages": matched}

    @app.get(f"{v1}/investigations/{{investigation_id}}")
    @needs(Permission.READ)
    def investigation(investigation_id: Id) -> dict[str, Any]:
        with session() as s:
            return views.investigation_summary(
                s, views.investigation_row(s, investigation_id)
            )

    @app.get(f"{v1}/investigations/{{investigation_id}}/graph")
    @needs(Permission.READ)
    def graph(investigation_id: Id) -> dict[str, Any]:
        with session() as s:
            return views.investigation_graph(s, investigation_id)

    def part(name: str, read: Any) -> None:
        def endpoint(investigation_id: Id) -> list[dict[str, Any]]:
            with session() as s:
                views.investigation_row(s, investigation_id)
                return list(read(s, investigation_id))

        endpoint.__name__ = f"investigation_{name}"
        app.get(
            f"{v1}/investigations/{{investigation_id}}/{name}",
            name=f"investigation_{name}",
        )(needs(Permission.READ)(endpoint))

    part("alerts", views.alerts_of)
    part("messages", views.messages_of)
    part("clusters", views.clusters_of)
    part("mailboxes", views.mailboxes_of)
    part("entities", views.entities_of)
    part("log", views.log_of)
    part(
        "warnings",
        lambda s, i: views.investigation_detail(s, i)["warnings"],
    )
    part(
        "audit",
        lambda s, i: trail.records(s, investigation_id=i, limit=1000),
    )

    @app.get(f"{v1}/investigations/{{investigation_id}}/actions")
    @needs(Permission.READ)
    def investigation_actions(
        investigation_id: Id,
        status: ActionStatusName | None = None,
    ) -> list[dict[str, Any]]:
        with session() as s:
            views.investigation_row(s, investigation_id)
            return views.list_actions(s, status, investigation_id)

    @app.get(f"{v1}/investigations/{{investigation_id}}/actions/pending")
    @needs(Permission.READ)
    def pending_actions(investigation_id: Id) -> list[dict[str, Any]]:
        with session() as s:
            views.investigation_row(s, investigation_id)
            return views.list_actions(s, "pending", investigation_id)

    @app.get(f"{v1}/investigations/{{investigation_id}}/actions/history")
    @needs(Permission.READ)
    def action_history(investigation_id: Id) -> list[dict[str, Any]]:
        with session() as s:
            views.investigation_row(s, investigation_id)
            return [
                a
                for a in views.list_actions(s, None, investigation_id)
                if a["status"] != "pending"
            ]

    @app.get(f"{v1}/investigations/{{investigation_id}}/log.csv")
    @needs(Permission.READ)
    def log_csv(investigation_id: Id) -> Response:
        with session() as s:
            rows = views.log_of(s, investigation_id)
        columns = ["step", "status", "started_at", "ended_at", "findings", "summary"]
        return _csv(rows, columns, f"investigation-{investigation_id}-log.csv")

    @app.get(f"{v1}/investigations/{{investigation_id}}/actions.csv")
    @needs(Permission.READ)
    def actions_csv(investigation_id: Id) -> Response:
        with session() as s:
            views.investigation_row(s, investigation_id)
            rows = views.list_actions(s, None, investigation_id)
        for row in rows:
            row["outcomes"] = _outcomes(row["result"].get("targets", []))
            row["undo_outcomes"] = _outcomes(row["result"].get("undo", []))
        columns = [
            "id", "type", "target_type", "target", "status", "copies", "reason",
            "proposed_at", "decided_by", "decided_at", "comment", "executed_at",
            "outcomes", "undone_by", "undone_at", "undo_outcomes",
        ]  # fmt: skip
        return _csv(rows, columns, f"investigation-{investigation_id}-actions.csv")

    @app.get(f"{v1}/investigations/{{investigation_id}}/stix")
    @needs(Permission.READ)
    def stix_bundle(investigation_id: Id) -> dict[str, Any]:
        with session() as s:
            row = views.investigation_row(s, investigation_id)
            return stix.bundle(s, heron.feed, row)

    @app.post(f"{v1}/investigations/{{investigation_id}}/comments", status_code=201)
    @needs(Permission.COMMENT)
    def comment(
        request: Request, investigation_id: Id, body: CommentBody
    ) -> dict[str, Any]:
        heron.comment(investigation_id, body.comment, by=_me(request))
        return {"investigation_id": investigation_id, "comment": body.comment}

    @app.post(f"{v1}/investigations/{{investigation_id}}/actions", status_code=201)
    @needs(Permission.PROPOSE)
    def propose(
        request: Request, investigation_id: Id, body: ProposalBody
    ) -> dict[str, Any]:
        """Propose blocking a domain, or a hard delete after a soft delete."""
        me = _me(request)
        if body.type == "block_domain":
            if not body.domain:
                raise QueryError("block_domain needs a domain")
            action = heron.propose_block_domain(investigation_id, body.domain, by=me)
        else:
            if body.after is None:
                raise QueryError("hard_delete needs after: the soft delete's id")
            with session() as s:
                source = s.get(m.Action, body.after)
                if source is None or source.investigation_id != investigation_id:
                    raise NotFoundError(
                        f"no action {body.after} in investigation {investigation_id}"
                    )
            action = heron.propose_hard_delete(body.after, by=me)
        return views.action_view(action)

    def bulk(
        investigation_id: int, body: BulkDecisionBody, by: Principal, yes: bool
    ) -> Any:
        outcomes = heron.decide_all(
            investigation_id, body.type, approve=yes, by=by, comment=body.comment
        )
        return [{"id": i, "outcome": o} for i, o in outcomes]

    @app.post(f"{v1}/investigations/{{investigation_id}}/actions/approve")
    @needs(Permission.DECIDE)
    def approve_type(
        request: Request, investigation_id: Id, body: BulkDecisionBody
    ) -> list[dict[str, Any]]:
        """Approve every pending action of one type in the investigation."""
        return bulk(investigation_id, body, _me(request), True)  # type: ignore[no-any-return]

    @app.post(f"{v1}/investigations/{{investigation_id}}/actions/reject")
    @needs(Permission.DECIDE)
    def reject_type(
        request: Request, investigation_id: Id, body: BulkDecisionBody
    ) -> list[dict[str, Any]]:
        """Reject every pending action of one type in the investigation."""
        return bulk(investigation_id, body, _me(request), False)  # type: ignore[no-any-return]

    # -- actions ---------------------------------------------------------------------

    @app.get(f"{v1}/actions")
    @needs(Permission.READ)
    def list_actions(
        status: ActionStatusName | None = None,
        investigation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> list[dict[str, Any]]:
        with session() as s:
            return views.list_actions(s, status, investigation_id)

    @app.get(f"{v1}/actions/{{action_id}}")
    @needs(Permission.READ)
    def action(action_id: Id) -> dict[str, Any]:
        with session() as s:
            row = s.get(m.Action, action_id)
            if row is None:
                raise NotFoundError(f"no action {action_id}")
            return views.action_view(row)

    @app.post(f"{v1}/actions/{{action_id}}/approve")
    @needs(Permission.DECIDE)
    def approve(
        request: Request, action_id: Id, body: DecisionBody | None = None
    ) -> dict[str, Any]:
        """Approve; heron then executes, verifies and records the outcome."""
        comment = body.comment if body else ""
        return views.action_view(
            heron.approve(action_id, by=_me(request), comment=comment)
        )

    @app.post(f"{v1}/actions/{{action_id}}/reject")
    @needs(Permission.DECIDE)
    def reject(
        request: Request, action_id: Id, body: DecisionBody | None = None
    ) -> dict[str, Any]:
        comment = body.comment if body else ""
        return views.action_view(
            heron.reject(action_id, by=_me(request), comment=comment)
        )

    @app.post(f"{v1}/actions/{{action_id}}/undo")
    @needs(Permission.DECIDE)
    def undo(request: Request, action_id: Id) -> dict[str, Any]:
        return views.action_view(heron.undo(action_id, by=_me(request)))

    @app.post(f"{v1}/clusters/{{cluster_id}}/rerun")
    @needs(Permission.INVESTIGATE)
    def rerun_cluster(cluster_id: Id) -> dict[str, Any]:
        return heron.rerun_cluster(cluster_id)

    # -- explorer, reports, audit records --------------------------------------------

    @app.get(f"{v1}/explorer")
    @needs(Permission.READ)
    def explore(body: Annotated[ExplorerQuery, Query()]) -> dict[str, Any]:
        """Delivered copies matching the filters, newest first, with counts."""
        query = body.query(body.limit)
        with session() as s:
            result = explorer.explore(s, query)
        return {
            "total": result.total,
            "by_location": result.by_location,
            "truncated": result.truncated,
            "copies": result.copies,
        }

    @app.post(
        f"{v1}/reports", status_code=202, openapi_extra=_raw_body("message/rfc822")
    )
    @needs(Permission.INVESTIGATE)
    async def report(
        request: Request,
        reporter: Annotated[str, Query(max_length=320)] = "",
        process: bool = True,
    ) -> dict[str, Any]:
        """A user's report: the body is the reported mail (.eml, .msg, or the report
        mailbox's message wrapping it), whatever the Content-Type, read by the same
        bounded reader as every message. The reporter is the wrapper's From unless
        given."""
        raw = await request.body()
        return await run_in_threadpool(_report, request, raw, reporter, process)

    def _report(
        request: Request, raw: bytes, reporter: str, process: bool
    ) -> dict[str, Any]:
        if not raw:
            raise MailParseError("the body is empty: send the reported message")
        submissions = heron.report_all(
            raw, reporter=reporter, source=f"api:{_me(request).name}"
        )
        with session() as s:
            for sub in submissions:
                trail.append(
                    s, _me(request), "report.filed", "message", sub.sha256,
                    detail={"reporter": sub.reporter, "error": sub.error[:500]},
                )  # fmt: skip
        ran = heron.process() if process else []
        return {
            "reports": [
                {
                    "sha256": sub.sha256,
                    "reporter": sub.reporter,
                    "kind": sub.kind,
                    "warnings": sub.warnings[:100],
                    "error": sub.error,
                }
                for sub in submissions
            ],
            "investigations": ran,
        }

    @app.post(
        f"{v1}/audit-records",
        status_code=202,
        openapi_extra=_raw_body("application/octet-stream"),
    )
    @needs(Permission.INVESTIGATE)
    async def audit_records(
        request: Request,
        format: Literal["json", "jsonl", "csv"] = "json",  # noqa: A002
        process: bool = True,
    ) -> dict[str, Any]:
        """Microsoft 365 audit records, as ``heron ingest --audit`` reads them; the
        body is the file, whatever the Content-Type."""
        raw = await request.body()
        return await run_in_threadpool(_audit_records, request, raw, format, process)

    def _audit_records(
        request: Request,
        raw: bytes,
        format: str,  # noqa: A002
        process: bool,
    ) -> dict[str, Any]:
        if not raw:
            raise MailParseError("the body is empty: send audit records")
        uploads = heron.settings.home / "uploads"
        uploads.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=uploads, suffix=f".{format}", delete=False
        ) as handle:
            handle.write(raw)
            path = Path(handle.name)
        try:
            summary = heron.ingest_audit([path])
        finally:
            path.unlink(missing_ok=True)
        with session() as s:
            trail.append(
                s, _me(request), "audit_records.uploaded", "audit_records",
                detail={"records": summary.records, "stored": summary.stored},
            )  # fmt: skip
        ran = heron.process() if process else []
        return {
            "records": summary.records,
            "stored": summary.stored,
            "already_known": summary.already_known,
            "counts": dict(summary.counts),
            "warnings": [
                w.replace(str(path), "upload") for w in summary.warnings[:100]
            ],
            "investigations": ran,
        }

    # -- policies, playbooks, intel, lists -------------------------------------------

    @app.get(f"{v1}/policies")
    @needs(Permission.READ)
    def policies() -> list[dict[str, Any]]:
        rules, _ = heron.sigma
        return [
            {
                "name": p.name,
                "severity": p.severity,
                "category": p.category,
                "event_types": list(p.event_types),
                "playbook": p.playbook,
                "description": p.description,
                "source": source,
            }
            for p, source in [
                *((p, "built in") for p in BUILTIN_POLICIES),
                *((r.policy, f"sigma {r.rule_id} ({r.path})") for r in rules),
            ]
        ]

    @app.get(f"{v1}/playbooks")
    @needs(Permission.READ)
    def playbooks() -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "description": p.description,
                "subject": p.subject,
                "steps": [
                    {"name": s.name, "analyzer": s.analyzer, "when": s.when}
                    for s in p.steps
                ],
            }
            for p in PLAYBOOKS.values()
        ]

    @app.get(f"{v1}/intel")
    @needs(Permission.READ)
    def intel() -> dict[str, Any]:
        index = heron.intel
        return {
            "feeds": [
                {"feed": f, "indicators": index.feed_sizes.get(f, 0)}
                for f in sorted(index.feed_sizes)
            ],
            "warnings": list(index.warnings)[:1000],
        }

    @app.post(f"{v1}/intel/reload")
    @needs(Permission.MANAGE_LISTS)
    def intel_reload(request: Request) -> dict[str, Any]:
        index = heron.reload_intel()
        with session() as s:
            trail.append(s, _me(request), "intel.reloaded", "intel")
        ran = heron.process()
        return {"feeds": len(index.feed_sizes), "investigations": ran}

    @app.get(f"{v1}/lists")
    @needs(Permission.READ)
    def lists() -> list[dict[str, Any]]:
        with session() as s:
            return [
                {"list": e.list, "kind": e.kind, "value": e.value, "source": e.source}
                for e in repo.list_entries(s)
            ]

    @app.post(f"{v1}/lists", status_code=201)
    @needs(Permission.MANAGE_LISTS)
    def list_add(request: Request, body: ListBody) -> dict[str, Any]:
        entry, raised, _ = heron.change_list(
            body.list, body.kind, body.value, add=True, by=_me(request)
        )
        ran = heron.process() if raised else []
        return {
            "list": entry.list,
            "kind": entry.kind,
            "value": entry.value,
            "post_delivery_events": raised,
            "investigations": ran,
        }

    @app.delete(f"{v1}/lists/{{list_}}/{{kind}}")
    @needs(Permission.MANAGE_LISTS)
    def list_remove(
        request: Request,
        list_: Literal["allow", "block"],
        kind: Literal["sender", "domain", "url", "sha256", "ip"],
        value: Annotated[str, Query(min_length=1, max_length=8000)],
    ) -> dict[str, Any]:
        entry, _, removed = heron.change_list(
            list_, kind, value, add=False, by=_me(request)
        )
        if not removed:
            raise NotFoundError(
                f"no {entry.list} {entry.kind} {entry.value} on the list"
            )
        return {"list": entry.list, "kind": entry.kind, "value": entry.value}

    # -- automation, people, jobs, audit trail ----------------------------------------

    @app.get(f"{v1}/automation")
    @needs(Permission.READ)
    def automation_rules() -> list[dict[str, Any]]:
        with session() as s:
            return [r.view() for r in approval.all_rules(s)]

    @app.put(f"{v1}/automation/{{action_type}}")
    @needs(Permission.ADMINISTER)
    def set_automation(
        request: Request,
        action_type: Annotated[str, PathParam(max_length=32)],
        body: AutomationBody,
    ) -> dict[str, Any]:
        limits = body.model_dump(exclude={"level"})
        rule = heron.set_automation(action_type, body.level, limits, by=_me(request))
        return rule.view()

    @app.get(f"{v1}/users")
    @needs(Permission.ADMINISTER)
    def list_users() -> list[dict[str, Any]]:
        with session() as s:
            return users.list_users(s)

    @app.post(f"{v1}/users", status_code=201)
    @needs(Permission.ADMINISTER)
    def add_user(request: Request, body: UserBody) -> dict[str, Any]:
        token = heron.add_user(body.name, body.role, purge=body.purge, by=_me(request))
        return {
            "name": token.user,
            "role": body.role,
            "purge": body.purge,
            "token": token.token,
        }

    @app.post(f"{v1}/users/{{name}}/tokens", status_code=201)
    @needs(Permission.ADMINISTER)
    def new_token(
        request: Request, name: Annotated[str, PathParam(max_length=64)]
    ) -> dict[str, Any]:
        token = heron.new_token(name, by=_me(request))
        return {"name": token.user, "token": token.token}

    @app.post(f"{v1}/users/{{name}}/disable")
    @needs(Permission.ADMINISTER)
    def disable_user(
        request: Request, name: Annotated[str, PathParam(max_length=64)]
    ) -> dict[str, Any]:
        revoked = heron.disable_user(name, by=_me(request))
        return {"name": name, "active": False, "tokens_revoked": revoked}

    @app.get(f"{v1}/jobs")
    @needs(Permission.READ)
    def jobs() -> list[dict[str, Any]]:
        return scheduler.jobs_view(heron)

    @app.post(f"{v1}/jobs/{{name}}/run")
    @needs(Permission.ADMINISTER)
    def run_job(
        request: Request,
        name: Literal[
            "process",
            "poll",
            "rescan",
            "intel",
            "expire",
            "clusters",
            "notify",
            "feed",
            "retention",
        ],  # fmt: skip
    ) -> dict[str, Any]:
        outcome = scheduler.Scheduler(heron).run(name, force=True)
        with session() as s:
            trail.append(s, _me(request), "job.run", "job", name,
                         detail={"ran": outcome.ran, "outcome": outcome.outcome})  # fmt: skip
        if not outcome.ran:
            raise ActionError(f"job {name} is running elsewhere")
        return {"name": name, "outcome": outcome.outcome, "detail": outcome.detail}

    @app.get(f"{v1}/notifications")
    @needs(Permission.ADMINISTER)
    def notifications(limit: Limit = 100) -> list[dict[str, Any]]:
        with session() as s:
            rows = s.scalars(
                select(m.Notification).order_by(m.Notification.id.desc()).limit(limit)
            )
            return [notify.view(r) for r in rows]

    @app.get(f"{v1}/audit")
    @needs(Permission.READ)
    def audit(
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Limit = 100,
        investigation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
        verb: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[dict[str, Any]]:
        """The audit trail, oldest first, after the sequence number ``after``."""
        with session() as s:
            return trail.records(
                s,
                after=after,
                limit=limit,
                investigation_id=investigation_id,
                verb=verb,
            )

    @app.get(f"{v1}/audit/verify")
    @needs(Permission.READ)
    def audit_verify() -> dict[str, Any]:
        with session() as s:
            result = trail.verify(s)
        return {
            "intact": result.intact,
            "records": result.records,
            "head_seq": result.head_seq,
            "head_hash": result.head_hash,
            "problems": result.problems,
        }

    @app.get(f"{v1}/settings")
    @needs(Permission.ADMINISTER)
    def settings() -> dict[str, Any]:
        data = heron.settings.model_dump(mode="json")
        data["database_url"] = (
            "(set)" if heron.settings.database_url else "(SQLite in home)"
        )
        return data

    _feed_routes(app, heron)
    _check_routes(app)
    app.add_middleware(
        Guard,
        routes=lambda: app.router.routes,
        authenticate=lambda token: _authenticate(heron, token),
        max_body=heron.settings.api_max_body_bytes,
    )
    return app


def _authenticate(heron: Heron, token: str) -> Principal | None:
    with heron.store.session() as session:
        return users.by_token(session, token)


def _feed_routes(app: FastAPI, heron: Heron) -> None:
    """The activity feed, as the Office 365 Management Activity API serves it."""
    base = "/api/v1.0/{tenant}/activity/feed"

    def wrong(
        tenant: str, content_type: str | None, needed: bool = True
    ) -> JSONResponse | None:
        if tenant.lower() != heron.feed.tenant:
            return _feed_error(
                400, "AF20010", f"the tenant {tenant[:64]} is not this organisation"
            )
        if needed and content_type is None:
            return _feed_error(400, "AF20020", "the contentType parameter is missing")
        if content_type is not None and content_type not in activity.CONTENT_TYPES:
            return _feed_error(
                400, "AF20020", f"the content type {content_type[:64]} is not known"
            )
        return None

    @app.post(f"{base}/subscriptions/start", response_model=None)
    @needs(Permission.READ)
    def start(
        request: Request,
        tenant: Tenant,
        content_type: ContentType,
        body: SubscriptionBody | None = None,
    ) -> Any:
        if (error := wrong(tenant, content_type)) is not None or content_type is None:
            return error
        webhook = body.webhook.model_dump() if body and body.webhook else None
        if webhook is not None and not _me(request).may(Permission.ADMINISTER):
            return _feed_error(
                403,
                "AF20021",
                "setting the subscription's webhook needs an admin: every collector of "
                "the organisation shares it",
            )
        if webhook and not activity.webhook_allowed(
            webhook["address"], heron.settings.feed_webhook_urls
        ):
            return _feed_error(
                400,
                "AF20021",
                "the webhook address is not under one of HERON_FEED_WEBHOOK_URLS; an "
                "admin adds it there first",
            )
        me = _me(request)
        with heron.store.session() as s:
            row = activity.start_subscription(s, content_type, webhook, me.name)
            trail.append(
                s, me, "feed.subscription_started", "subscription", content_type,
                detail={"webhook": (webhook or {}).get("address", "")},
            )  # fmt: skip
            return activity.subscription_view(
                row, secrets=me.may(Permission.ADMINISTER)
            )

    @app.post(f"{base}/subscriptions/stop", response_model=None)
    @needs(Permission.ADMINISTER)
    def stop(request: Request, tenant: Tenant, content_type: ContentType) -> Any:
        """Stop a subscription (admins: every collector of the organisation reads
        the one subscription)."""
        if (error := wrong(tenant, content_type)) is not None or content_type is None:
            return error
        me = _me(request)
        with heron.store.session() as s:
            if not activity.stop_subscription(s, content_type, me.name):
                return _feed_error(
                    400, "AF20022", f"no subscription to {content_type} is enabled"
                )
            trail.append(
                s, me, "feed.subscription_stopped", "subscription", content_type
            )
        return Response(status_code=200)

    @app.get(f"{base}/subscriptions/list", response_model=None)
    @needs(Permission.READ)
    def subscription_list(request: Request, tenant: Tenant) -> Any:
        if (error := wrong(tenant, None, needed=False)) is not None:
            return error
        admin = _me(request).may(Permission.ADMINISTER)
        with heron.store.session() as s:
            return [
                activity.subscription_view(r, secrets=admin)
                for r in activity.subscriptions(s)
            ]

    @app.get(f"{base}/subscriptions/content", response_model=None)
    @needs(Permission.READ)
    def content(
        request: Request,
        tenant: Tenant,
        content_type: ContentType,
        start_time: Annotated[
            str | None, Query(alias="startTime", max_length=40)
        ] = None,
        end_time: Annotated[str | None, Query(alias="endTime", max_length=40)] = None,
        next_page: Annotated[str | None, Query(alias="nextPage", max_length=40)] = None,
        publisher: Annotated[
            str | None, Query(alias="PublisherIdentifier", max_length=64)
        ] = None,
    ) -> Any:
        if (error := wrong(tenant, content_type)) is not None or content_type is None:
            return error
        with heron.store.session() as s:
            sub = s.get(m.ActivitySubscription, content_type)
            if sub is None or sub.status != "enabled":
                return _feed_error(
                    400, "AF20022", f"no subscription to {content_type} is enabled"
                )
        window = _window(start_time, end_time)
        if isinstance(window, JSONResponse):
            return window
        if next_page is not None and not re.fullmatch(r"[0-9]{1,18}", next_page):
            return _feed_error(400, "AF20055", "nextPage is not one heron gave")
        after = int(next_page) if next_page else 0
        with heron.store.session() as s:
            blobs = activity.seal(s)
            notify.enqueue_content(s, heron.feed, blobs, heron.feed_base)
        with heron.store.session() as s:
            page = activity.content(
                s,
                window[0],
                window[1],
                content_type=content_type,
                after=after,
                page_size=activity.PAGE_SIZE,
            )
            listed = [
                activity.blob_view(heron.feed, b, heron.feed_base) for b in page.blobs
            ]
        headers = {}
        if page.next_after is not None:
            query = dict(request.query_params)
            query["nextPage"] = str(page.next_after)
            headers["NextPageUri"] = (
                f"{heron.feed_base}/subscriptions/content?{urlencode(query)}"
            )
        return JSONResponse(listed, headers=headers)

    @app.get(f"{base}/audit/{{content_id}}", response_model=None)
    @needs(Permission.READ)
    def blob(
        tenant: Tenant, content_id: Annotated[str, PathParam(max_length=64)]
    ) -> Any:
        if (error := wrong(tenant, None, needed=False)) is not None:
            return error
        with heron.store.session() as s:
            try:
                return activity.blob_records(s, content_id)
            except NotFoundError as exc:
                return _feed_error(404, "AF20051", str(exc))


def _window(
    start: str | None, end: str | None
) -> tuple[datetime, datetime] | JSONResponse:
    """The listing's time window: both given or neither (the last 24 hours), at
    most 24 hours long and within the last 7 days, as Microsoft's feed wants."""
    now = datetime.now(UTC)
    if (start is None) != (end is None):
        return _feed_error(
            400, "AF20055", "give both startTime and endTime, or neither"
        )
    if start is None or end is None:
        return now - timedelta(hours=24), now + timedelta(seconds=1)
    try:
        begin, finish = (_moment(start), _moment(end))
    except (ValueError, OverflowError):
        return _feed_error(400, "AF20055", "startTime and endTime are ISO 8601 times")
    if finish > now + timedelta(days=1):
        return _feed_error(400, "AF20055", "endTime is more than a day ahead")
    if finish <= begin or finish - begin > timedelta(hours=24):
        return _feed_error(
            400, "AF20055", "endTime must follow startTime by at most 24 hours"
        )
    if begin < now - activity.CONTENT_RETENTION:
        return _feed_error(400, "AF20055", "startTime is more than 7 days ago")
    return begin, finish


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_routes(app: FastAPI) -> None:
    missing = [
        path
        for r in app.router.routes
        if (path := str(getattr(r, "path", ""))).startswith("/api/")
        and permission_of(getattr(r, "endpoint", None)) is None
    ]
    if missing:
        raise AssertionError(f"routes without a permission: {missing}")


def _errors(app: FastAPI) -> None:
    def answer(status: int) -> Any:
        async def handler(_request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)[:2000]}, status)

        return handler

    app.add_exception_handler(PermissionDenied, answer(403))
    app.add_exception_handler(NotFoundError, answer(404))
    app.add_exception_handler(ActionError, answer(409))
    app.add_exception_handler(QueryError, answer(422))
    app.add_exception_handler(MailParseError, answer(422))
    app.add_exception_handler(ConfigError, answer(400))
    app.add_exception_handler(HeronError, answer(400))
    app.add_exception_handler(InvalidInput, answer(422))
    app.add_exception_handler(ValueError, answer(422))

    async def clash(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "a request at the same moment made the same change; try again"},
            409,
        )

    app.add_exception_handler(IntegrityError, clash)

    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {k: v for k, v in e.items() if k in ("loc", "msg", "type")}
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"detail": errors}, 422)

    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
