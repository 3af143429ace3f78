"""``heron``: the command line.

Every command reads settings (environment, optional config file), opens the store and
runs migrations, so a fresh HERON_HOME works without a set-up step.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from heron import __version__
from heron.cli import output
from heron.config import Settings, load_settings
from heron.domain.roles import Principal
from heron.domain.verdicts import ActionStatus, Location, Verdict
from heron.engine import views
from heron.engine.service import Heron, Submission
from heron.errors import (
    ConfigError,
    HeronError,
    MailParseError,
    PermissionDenied,
    QueryError,
)
from heron.intel.dns_records import record_source
from heron.intel.lists import ListEntry
from heron.mail.sources import iter_mail
from heron.store import repository as repo
from heron.store import trail, users
from heron.store.explorer import ExploreQuery, stale_messages
from heron.store.explorer import explore as explore_copies

app = typer.Typer(
    help="heron: automated investigation and response to email threats.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
investigations_app = typer.Typer(
    help="List and show investigations.", no_args_is_help=True
)
actions_app = typer.Typer(
    help="List, approve, reject and undo actions.", no_args_is_help=True
)
lists_app = typer.Typer(
    help="The organisation's allow and block list.", no_args_is_help=True
)
app.add_typer(investigations_app, name="investigations")
app.add_typer(actions_app, name="actions")
intel_app = typer.Typer(help="Threat-intel feeds.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts the policies raised.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
clusters_app = typer.Typer(
    help="Clusters of investigations: list, run again.", no_args_is_help=True
)
app.add_typer(clusters_app, name="clusters")
app.add_typer(lists_app, name="lists")
app.add_typer(intel_app, name="intel")
mailboxes_app = typer.Typer(
    help="Mailbox settings: forwarding rules and delegations.", no_args_is_help=True
)
app.add_typer(mailboxes_app, name="mailboxes")
connectors_app = typer.Typer(
    help="The mail systems heron reads and acts on.", no_args_is_help=True
)
app.add_typer(connectors_app, name="connectors")
sigma_app = typer.Typer(
    help="Custom alert policies written as Sigma rules.", no_args_is_help=True
)
app.add_typer(sigma_app, name="sigma")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
RowId = Annotated[
    int, typer.Argument(min=1, max=2**63 - 1, help="The id heron printed.")
]


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@app.callback()
def main(
    log_level: Annotated[
        str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")
    ] = "WARNING",
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
) -> None:
    """heron investigates reported mail, proposes remediation and runs what people approve."""
    if log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}",
            param_hint="--log-level",
        )
    _tolerant_streams()
    _configure_logging(log_level, log_json)


@contextmanager
def _heron(**overrides: Any) -> Iterator[Heron]:
    try:
        settings = load_settings(**overrides)
        if settings.log_format == "json" and not _LOGGING["json"]:
            _configure_logging(_LOGGING["level"], True)
        heron = Heron(settings)
    except ConfigError as exc:
        output.error("configuration error:", str(exc))
        raise typer.Exit(2) from None
    try:
        heron.expire_actions()
        yield heron
    except HeronError as exc:
        output.error("error:", str(exc))
        raise typer.Exit(1) from None
    finally:
        heron.close()


def _me(heron: Heron) -> Principal:
    """The heron user the command line acts as: the owner of HERON_TOKEN, else the
    user this machine's login maps to in ``local_users``."""
    token = os.environ.get("HERON_TOKEN", "").strip()
    with heron.store.session() as session:
        if token:
            found = users.by_token(session, token)
            if found is None:
                raise PermissionDenied(
                    "HERON_TOKEN is not a token of an active heron user"
                )
            return found
        login = _login()
        name = heron.settings.local_users.get(login)
        if name:
            return heron.person(session, name)
    raise PermissionDenied(
        "the command line acts as a heron user: set HERON_TOKEN to your API token, "
        f"or map your login ({login}) to your heron user in local_users (for "
        f'example HERON_LOCAL_USERS=\'{{"{login}": "NAME"}}\')'
    )


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _progress(total: int | None, label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=output.errors,
        transient=True,
        disable=not sys.stderr.isatty(),
    )


@app.command()
def version() -> None:
    """Print heron's version."""
    output.console.print(__version__)


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, mbox files, Maildirs or folders.")
    ],
    mailbox: Annotated[
        str | None, typer.Option(help="Mailbox the copies belong to.")
    ] = None,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help="The files are Microsoft 365 audit or Defender records (files "
            "ending .json, .jsonl or .csv are taken as such anyway).",
        ),
    ] = False,
) -> None:
    """Store mail as delivered copies (mailbox taken from the Maildir or --mailbox),
    and Microsoft 365 audit records as events."""
    records = [
        p
        for p in paths
        if audit or (p.is_file() and p.suffix.lower() in AUDIT_SUFFIXES)
    ]
    paths = [p for p in paths if p not in records]
    if records:
        _ingest_audit(records)
        if not paths:
            return
    with _heron() as heron, _progress(None, "ingest") as bar:
        task = bar.add_task("ingest", total=None)
        summary = heron.ingest(
            paths,
            mailbox=mailbox.lower() if mailbox else None,
            progress=lambda n: bar.advance(task, n),
        )
        touched = heron.process()  # what the new copies (or a feed change) raised
    output.console.print(
        f"stored {summary.copies} new cop{'y' if summary.copies == 1 else 'ies'} "
        f"({summary.duplicates} already known, {summary.warnings} parse warnings in new messages, "
        f"{len(summary.errors)} error(s))"
    )
    if touched:
        output.console.print(
            f"{summary.post_delivery} message(s) carry what threat intel or the block "
            f"list calls malicious: investigation(s) {', '.join(map(str, touched))}"
        )
    for error in summary.errors:
        output.errors.print(output.styled(("skipped", "yellow"), " ", error))
    if summary.errors:
        raise typer.Exit(1)


@app.command()
def poll(
    connector: Annotated[
        list[str] | None,
        typer.Option(help="Only this connector (repeat for several)."),
    ] = None,
) -> None:
    """Read new mail from the configured connectors, each mailbox from where the
    last poll stopped, then run what it raised."""
    with _heron() as heron, _progress(None, "poll") as bar:
        task = bar.add_task("poll", total=None)
        summary = heron.poll(connector, progress=lambda n: bar.advance(task, n))
        audit = heron.poll_audit(connector)
        touched = heron.process()
    if audit.records or audit.warnings:
        output.console.print(
            f"pulled {audit.records} audit record(s): {audit.stored} new"
        )
        for warning in audit.warnings:
            output.errors.print(output.styled(("warning", "yellow"), " ", warning))
    output.console.print(
        f"stored {summary.copies} new cop{'y' if summary.copies == 1 else 'ies'} "
        f"({summary.duplicates} already known, {len(summary.errors)} error(s))"
        + (f"; investigation(s) {', '.join(map(str, touched))}" if touched else "")
    )
    for error in summary.errors:
        output.errors.print(output.styled(("skipped", "yellow"), " ", error))
    if summary.errors:
        raise typer.Exit(1)


@mailboxes_app.command("scan")
def mailboxes_scan(
    mailbox: Annotated[
        list[str] | None, typer.Option(help="Only this mailbox (repeat for several).")
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """Read every reachable mailbox's forwarding rules and delegations; what is new
    raises alerts, and their investigations propose what to turn off."""
    with _heron() as heron:
        summary = heron.scan_mailboxes(
            [m.lower() for m in mailbox] if mailbox else None
        )
        touched = heron.process()
    result = {
        "mailboxes": summary.mailboxes,
        "forwarding_rules": summary.forwards,
        "delegations": summary.delegations,
        "alerts_raised": summary.events,
        "investigations": touched,
        "errors": summary.errors,
    }
    if json_:
        output.json_line(result)
    else:
        output.console.print(
            f"scanned {summary.mailboxes} mailbox(es): {summary.forwards} forwarding "
            f"rule(s), {summary.delegations} delegation(s), {summary.events} new"
            + (f"; investigation(s) {', '.join(map(str, touched))}" if touched else "")
        )
        for error in summary.errors:
            output.errors.print(output.styled(("error", "red"), " ", error))
    if summary.errors:
        raise typer.Exit(1)


@sigma_app.command("list")
def sigma_list(json_: JsonFlag = False) -> None:
    """The Sigma rules under HERON_SIGMA_PATHS: those heron evaluates as alert
    policies, and those it cannot, with the reason."""
    with _heron() as heron:
        rules, skipped = heron.sigma
    rows: list[dict[str, Any]] = [
        {
            "title": r.policy.name,
            "severity": r.policy.severity,
            "playbook": r.policy.playbook,
            "path": r.path,
            "evaluated": True,
            "reason": "",
        }
        for r in rules
    ] + [
        {
            "title": k.title,
            "severity": "",
            "playbook": "",
            "path": k.path,
            "evaluated": False,
            "reason": k.reason,
        }
        for k in skipped
    ]
    if json_:
        output.json_line(rows)
        return
    output.table(
        f"Sigma rules: {len(rules)} evaluated, {len(skipped)} not",
        ["title", "severity", "evaluated", "playbook or reason"],
        [
            [
                r["title"][:60],
                r["severity"],
                "yes" if r["evaluated"] else "no",
                r["playbook"] or r["reason"][:80],
            ]
            for r in rows
        ],
    )


@connectors_app.command("list")
def connectors_list(json_: JsonFlag = False) -> None:
    """The configured connectors and the operations each supports."""
    with _heron() as heron:
        rows = [
            {
                "name": c.name,
                "kind": c.kind,
                "operations": sorted(o.value for o in c.operations),
            }
            for c in heron.connectors.values()
        ]
    if json_:
        output.json_line(rows)
        return
    output.table(
        "Connectors",
        ["name", "kind", "operations"],
        [[r["name"], r["kind"], ", ".join(r["operations"])] for r in rows],
    )


AUDIT_SUFFIXES = (".json", ".jsonl", ".csv")


def _ingest_audit(paths: list[Path]) -> None:
    with _heron() as heron:
        summary = heron.ingest_audit(paths)
    output.console.print(
        f"read {summary.records} audit record(s): {summary.stored} new, "
        f"{summary.already_known} already stored, {summary.duplicates} duplicate(s) "
        f"dropped, {len(summary.warnings)} warning(s)"
    )
    output.table(
        "Audit records by event",
        ["event", "records"],
        [[kind, count] for kind, count in sorted(summary.counts.items())],
    )
    for warning in summary.warnings:
        output.errors.print(output.styled(("warning", "yellow"), " ", warning))


SenderOpt = Annotated[str, typer.Option(help="From address or envelope sender.")]
SenderDomainOpt = Annotated[
    str, typer.Option(help="From domain, its subdomains included.")
]
RecipientOpt = Annotated[str, typer.Option(help="Mailbox holding the copy.")]
SubjectOpt = Annotated[str, typer.Option(help="Text the subject contains.")]
UrlOpt = Annotated[str, typer.Option(help="A whole link (after unwrapping).")]
UrlDomainOpt = Annotated[
    str, typer.Option(help="Domain a link goes to (its organisational domain).")
]
FileHashOpt = Annotated[
    str, typer.Option(help="sha256 of an attached file (or one in an archive).")
]
SendingIpOpt = Annotated[
    str, typer.Option(help="Public address that handed the message over.")
]
VerdictOpt = Annotated[
    Verdict | None,
    typer.Option(help="The message's latest verdict.", case_sensitive=False),
]
LocationOpt = Annotated[
    Location | None, typer.Option(help="Latest location.", case_sensitive=False)
]
SinceOpt = Annotated[
    datetime | None, typer.Option(help="Received at or after (UTC if no zone).")
]
UntilOpt = Annotated[
    datetime | None, typer.Option(help="Received before (UTC if no zone).")
]


@app.command()
def explore(
    sender: SenderOpt = "",
    sender_domain: SenderDomainOpt = "",
    recipient: RecipientOpt = "",
    subject: SubjectOpt = "",
    url: UrlOpt = "",
    url_domain: UrlDomainOpt = "",
    file_hash: FileHashOpt = "",
    sending_ip: SendingIpOpt = "",
    verdict: VerdictOpt = None,
    location: LocationOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="Copies listed; counts cover all.")
    ] = 100,
    json_: JsonFlag = False,
) -> None:
    """Search delivered copies: every filter given must match; counts are per copy."""
    query = _query(locals(), limit=limit)
    with _heron() as heron, heron.store.session() as session:
        found = explore_copies(session, query)
        stale = stale_messages(session)
    if stale:
        output.warn(
            f"{stale} stored message(s) were indexed by an older heron and lack some "
            "facts (whole urls, files, sending ip); `heron reindex` fills them"
        )
    if json_:
        output.json_line(
            {
                "total": found.total,
                "by_location": found.by_location,
                "copies": found.copies,
            }
        )
        return
    output.table(
        f"Copies: {found.total}"
        + (
            f" (newest {len(found.copies)} shown)"
            if found.total > len(found.copies)
            else ""
        ),
        ["copy", "mailbox", "location", "received", "from", "subject", "verdict"],
        [
            [
                c["copy_id"],
                c["mailbox"],
                c["location"],
                c["received_at"],
                c["from"],
                c["subject"],
                c["verdict"],
            ]
            for c in found.copies
        ],
    )
    output.console.print(
        "by location: "
        + (", ".join(f"{k} {v}" for k, v in found.by_location.items()) or "none")
    )


@app.command()
def reindex() -> None:
    """Index again the stored messages an older heron indexed (read from the blobs)."""
    with _heron() as heron:
        done, failed = heron.reindex()
    output.console.print(f"{done} message(s) reindexed")
    for line in failed:
        output.warn(line)
    if failed:
        raise typer.Exit(1)


FILTERS = (
    "sender",
    "sender_domain",
    "recipient",
    "url",
    "url_domain",
    "file_hash",
    "sending_ip",
    "verdict",
    "location",
)


def _query(options: dict[str, Any], **extra: Any) -> ExploreQuery:
    """The explorer query a command's options make; a bad filter ends the command."""
    try:
        return ExploreQuery(**_filters(options), **extra)
    except QueryError as exc:
        output.error("error:", str(exc))
        raise typer.Exit(2) from None


def _filters(options: dict[str, Any]) -> dict[str, Any]:
    """The explorer filters among a command's options, as ``ExploreQuery`` takes them."""
    return {
        **{name: options[name] for name in FILTERS},
        "subject_contains": options["subject"],
        "since": _utc(options["since"]),
        "until": _utc(options["until"]),
    }


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@app.command()
def report(
    file: Annotated[
        Path,
        typer.Argument(help="The report: a wrapper message or the message itself."),
    ],
    reporter: Annotated[
        str, typer.Option(help="Address of the person who reported it.")
    ] = "",
    json_: JsonFlag = False,
) -> None:
    """Record a user's report and run the user-reported playbook."""
    with _heron() as heron:
        raw = _read(file, heron)
        submissions = heron.report_all(raw, reporter=reporter, source=str(file))
        with heron.store.session() as session:
            for sub in submissions:
                trail.append(
                    session,
                    f"local:{_login()}",
                    "report.filed",
                    "message",
                    sub.sha256,
                    detail={"reporter": sub.reporter, "source": str(file)[:500]},
                )
        heron.process()
        shared: dict[int, dict[str, Any]] = {}
        results = [_submission_view(heron, s, shared) for s in submissions]
    _print_results(results, json_)


@app.command()
def investigate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Messages to investigate (eml, msg, mbox, folders)."),
    ] = None,
    sender: SenderOpt = "",
    sender_domain: SenderDomainOpt = "",
    recipient: RecipientOpt = "",
    subject: SubjectOpt = "",
    url: UrlOpt = "",
    url_domain: UrlDomainOpt = "",
    file_hash: FileHashOpt = "",
    sending_ip: SendingIpOpt = "",
    verdict: VerdictOpt = None,
    location: LocationOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json_: JsonFlag = False,
) -> None:
    """Investigate files as the suspicious messages themselves, or, with explorer
    filters instead of files, the delivered messages matching them (one manual
    investigation; --recipient investigates a mailbox, --sender a sender)."""
    query = _query(locals())
    if files and query.to_dict():
        output.error("error:", "give files or explorer filters, not both")
        raise typer.Exit(2)
    if not files:
        if not query.to_dict():
            output.error("error:", "give files to investigate, or explorer filters")
            raise typer.Exit(2)
        with _heron() as heron:
            investigation_id, matched = heron.investigate_query(query, by=_me(heron))
            with heron.store.session() as session:
                detail = views.investigation_detail(session, investigation_id)
        if json_:
            output.json_line({**detail, "matched_messages": matched})
        else:
            output.investigation(detail)
        return
    with _heron() as heron:
        submissions = _submit_all(heron, files)
        with _progress(len(submissions), "investigate") as bar:
            task = bar.add_task("investigate", total=None)
            heron.process(progress=lambda n: bar.advance(task, n))
        shared: dict[int, dict[str, Any]] = {}
        results = [_submission_view(heron, s, shared) for s in submissions]
    _print_results(results, json_)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        output.error("error:", f"no such file or folder: {', '.join(missing)}")
        raise typer.Exit(1)
    if submissions and all(s.error for s in submissions):
        raise typer.Exit(1)  # nothing could be read as mail; each line says why


@app.command()
def process(json_: JsonFlag = False) -> None:
    """Turn waiting events (post-delivery finds, click alerts) into alerts and run the
    investigations they open or join."""
    with _heron() as heron:
        touched = heron.process()
        with heron.store.session() as session:
            rows = [
                views.investigation_summary(
                    session, views.investigation_row(session, i)
                )
                for i in touched
            ]
    if json_:
        output.json_line({"investigations": rows})
        return
    output.table(
        f"Investigations run: {len(rows)}",
        ["id", "name", "status", "verdict", "pending actions"],
        [
            [r["id"], r["name"], r["status"], r["verdict"], r["pending_actions"]]
            for r in rows
        ],
    )


@app.command()
def clicks(
    paths: Annotated[list[Path], typer.Argument(help="JSON-lines click logs.")],
    json_: JsonFlag = False,
) -> None:
    """Ingest url clicks (one JSON object per line: type url.clicked, user, url,
    time, message); a click on a malicious url raises a click alert."""
    stored = raised = 0
    warnings: list[str] = []
    with _heron() as heron:
        for path in paths:
            count, alerts, problems = heron.ingest_clicks(path)
            stored, raised = stored + count, raised + alerts
            warnings.extend(problems)
        touched = heron.process() if raised else []
    if json_:
        output.json_line(
            {
                "clicks": stored,
                "click_alerts": raised,
                "investigations": touched,
                "warnings": warnings,
            }
        )
    else:
        output.console.print(
            f"stored {stored} click(s); {raised} on malicious urls raised alerts"
            + (f" (investigations {', '.join(map(str, touched))})" if touched else "")
        )
        for warning in warnings:
            output.warn(warning)
    if any(": cannot read: " in w for w in warnings):
        raise typer.Exit(1)


def _submit_all(heron: Heron, files: list[Path]) -> list[Submission]:
    submissions = []
    for item in iter_mail(files, heron.limits):
        if item.error:
            submissions.append(Submission(source=item.source, error=item.error))
            continue
        try:
            submissions.append(
                heron.report(
                    item.raw,
                    reporter=heron.settings.operator,
                    source=item.source,
                    unwrap=False,
                )
            )
        except MailParseError as exc:
            submissions.append(Submission(source=item.source, error=str(exc)))
    return submissions


def _submission_view(
    heron: Heron,
    submission: Submission,
    details: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON line of one submitted file. ``details`` caches investigations that
    several files share."""
    details = {} if details is None else details
    base: dict[str, Any] = {
        "source": submission.source,
        "sha256": submission.sha256 or None,
    }
    if submission.error or not submission.sha256:
        return {
            **base,
            "reporter": submission.reporter or None,
            "investigation_id": None,
            "status": "failed",
            "verdict": "unknown",
            "reasons": [],
            "investigation_verdict": "unknown",
            "alerts": [],
            "entities": [],
            "actions": [],
            "log": [],
            "warnings": [f"read-error: {submission.error}"],
        }
    with heron.store.session() as session:
        investigation_id = _investigation_of(session, submission.sha256)
        if investigation_id not in details:
            details[investigation_id] = views.investigation_detail(
                session, investigation_id
            )
        detail = details[investigation_id]
        verdict, reasons = views.message_verdict(
            session, investigation_id, submission.sha256
        )
    return {
        **base,
        "investigation_id": investigation_id,
        "status": detail["status"],
        "verdict": verdict,
        "reasons": [
            {k: r[k] for k in ("analyzer", "code", "severity", "points", "summary")}
            for r in reasons
        ],
        "investigation_verdict": detail["verdict"],
        "reporter": submission.reporter,
        "alerts": [
            {"id": a["id"], "policy": a["policy"], "severity": a["severity"]}
            for a in detail["alerts"]
        ],
        "entities": [
            {
                "type": e["type"],
                "value": e["value"],
                "role": e["role"],
                "verdict": e["verdict"],
                "findings": [
                    {
                        "analyzer": f["analyzer"],
                        "severity": f["severity"],
                        "summary": f["summary"],
                    }
                    for f in e["findings"]
                ],
            }
            for e in detail["entities"]
        ],
        "actions": [
            {
                "id": a["id"],
                "type": a["type"],
                "target": a["target"],
                "status": a["status"],
            }
            for a in detail["actions"]
        ],
        "log": [
            {k: e[k] for k in ("step", "status", "started_at", "ended_at", "summary")}
            for e in detail["log"]
        ],
        "warnings": submission.warnings,
    }


def _investigation_of(session: Any, sha256: str) -> int:
    from sqlalchemy import select

    from heron.store import models as m

    query = (
        select(m.InvestigationEntity.investigation_id)
        .where(
            m.InvestigationEntity.type == "message",
            m.InvestigationEntity.value == sha256,
            m.InvestigationEntity.role == "investigated",
        )
        .order_by(m.InvestigationEntity.investigation_id.desc())
        .limit(1)
    )
    return int(session.scalar(query))


def _print_results(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        for result in results:
            output.json_line(result)
        return
    output.table(
        "Investigated",
        ["source", "investigation", "status", "verdict", "actions", "warnings"],
        [
            [
                r["source"][-60:],
                r["investigation_id"],
                r["status"],
                output.verdict(r["verdict"]),
                len(r["actions"]),
                len(r["warnings"]),
            ]
            for r in results
        ],
    )
    for r in results:
        if r["status"] == "failed":
            output.console.print(Text(f"{r['source']}: {'; '.join(r['warnings'])}"))


def _read(file: Path, heron: Heron) -> bytes:
    if not file.is_file():
        raise HeronError(f"{file} is not a file")
    if file.stat().st_size > heron.limits.max_bytes:
        raise HeronError(
            f"{file} is larger than the {heron.limits.max_bytes} byte limit"
        )
    return file.read_bytes()


@investigations_app.command("list")
def investigations_list(
    json_: JsonFlag = False,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="Show at most this many.")
    ] = 100,
) -> None:
    """List investigations, newest first."""
    with _heron() as heron, heron.store.session() as session:
        rows = views.list_investigations(session, limit)
        total = views.count_investigations(session)
    if json_:
        output.json_line(rows)
        return
    output.table(
        "Investigations",
        ["id", "status", "verdict", "alerts", "pending", "name", "created"],
        [
            [
                r["id"],
                r["status"],
                output.verdict(r["verdict"]),
                r["alerts"],
                r["pending_actions"],
                r["name"][:70],
                r["created_at"][:19],
            ]
            for r in rows
        ],
    )
    if total > len(rows):
        output.console.print(
            Text(f"newest {len(rows)} of {total}; see more with --limit {total}")
        )


@investigations_app.command("show")
def investigations_show(investigation_id: RowId, json_: JsonFlag = False) -> None:
    """Show one investigation: alerts, entities and findings, actions, log, warnings."""
    with _heron() as heron, heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    if json_:
        output.json_line(detail)
    else:
        output.investigation(detail)


@alerts_app.command("list")
def alerts_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    json_: JsonFlag = False,
) -> None:
    """Alerts, newest first: policy, severity, count, entities, investigation (none
    for an alert about a message heron never stored)."""
    with _heron() as heron, heron.store.session() as session:
        rows = views.list_alerts(session, limit)
    if json_:
        for row in rows:
            output.json_line(row)
        return
    output.table(
        f"Alerts: {len(rows)}",
        ["id", "policy", "severity", "count", "entities", "investigation", "at"],
        [
            [
                r["id"],
                r["policy"],
                r["severity"],
                r["count"],
                ", ".join(f"{e['type']} {e['value'][:40]}" for e in r["entities"][:4]),
                r["investigation_id"] if r["investigation_id"] is not None else "none",
                r["created_at"],
            ]
            for r in rows
        ],
    )


@clusters_app.command("list")
def clusters_list(investigation_id: RowId, json_: JsonFlag = False) -> None:
    """The clusters of one investigation, with their counts and verdicts."""
    with _heron() as heron, heron.store.session() as session:
        rows = views.clusters_of(session, investigation_id)
    if json_:
        output.json_line({"investigation": investigation_id, "clusters": rows})
    else:
        output.clusters(rows)


@clusters_app.command("rerun")
def clusters_rerun(cluster_id: RowId, json_: JsonFlag = False) -> None:
    """Run a cluster's query again and show what changed since its last run."""
    with _heron() as heron:
        view = heron.rerun_cluster(cluster_id)
    if json_:
        output.json_line(view)
        return
    output.clusters([view])
    diff = view["last_diff"]
    output.console.print(
        Text(
            f"run {diff.get('run')}: {diff.get('added', 0)} cop(ies) added, "
            f"{diff.get('removed', 0)} removed"
        )
    )


@actions_app.command("list")
def actions_list(
    status: Annotated[
        ActionStatus | None,
        typer.Option(help="Only actions in this status.", case_sensitive=False),
    ] = None,
    investigation: Annotated[
        int | None,
        typer.Option(min=1, max=2**63 - 1, help="Only this investigation's actions."),
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """List actions (all, or one status)."""
    with _heron() as heron, heron.store.session() as session:
        rows = views.list_actions(
            session, status.value if status else None, investigation
        )
    if json_:
        output.json_line(rows)
        return
    output.table(
        "Actions",
        [
            "id",
            "investigation",
            "type",
            "target",
            "copies",
            "status",
            "decided by",
            "expires",
        ],
        [
            [
                r["id"],
                r["investigation_id"],
                r["type"],
                r["target"][:48],
                r["copies"],
                r["status"],
                r["decided_by"],
                (r["expires_at"] or "")[:19],
            ]
            for r in rows
        ],
    )


Comment = Annotated[str, typer.Option(help="Why; recorded with the decision.")]


@actions_app.command("approve")
def actions_approve(
    action_id: RowId, comment: Comment = "", json_: JsonFlag = False
) -> None:
    """Approve a pending action; heron then runs it and verifies the result."""
    with _heron() as heron:
        action = heron.approve(action_id, by=_me(heron), comment=comment)
        _print_action(views.action_view(action), json_)


@actions_app.command("reject")
def actions_reject(
    action_id: RowId, comment: Comment = "", json_: JsonFlag = False
) -> None:
    """Reject a pending action; nothing is changed in any mailbox."""
    with _heron() as heron:
        action = heron.reject(action_id, by=_me(heron), comment=comment)
        _print_action(views.action_view(action), json_)


@actions_app.command("undo")
def actions_undo(action_id: RowId, json_: JsonFlag = False) -> None:
    """Undo an executed action: copies go back, blocks are lifted."""
    with _heron() as heron:
        action = heron.undo(action_id, by=_me(heron))
        _print_action(views.action_view(action), json_)


@actions_app.command("purge")
def actions_purge(action_id: RowId, json_: JsonFlag = False) -> None:
    """Propose a hard delete of the copies a soft delete or move covers. Approving it
    needs the purge permission (`heron users add NAME --role approver --purge`); it
    cannot be undone."""
    with _heron() as heron:
        action = heron.propose_hard_delete(action_id, by=_me(heron))
        _print_action(views.action_view(action), json_)


@actions_app.command("block-domain")
def actions_block_domain(
    investigation_id: RowId,
    domain: Annotated[str, typer.Argument(help="The sender domain to refuse.")],
    json_: JsonFlag = False,
) -> None:
    """Propose blocking every sender of a domain, in heron's block list and every
    Postfix connector's map; a person approves it like any other action."""
    with _heron() as heron:
        action = heron.propose_block_domain(investigation_id, domain, by=_me(heron))
        _print_action(views.action_view(action), json_)


@actions_app.command("retry")
def actions_retry(action_id: RowId, json_: JsonFlag = False) -> None:
    """Run an approved action again after an interruption; done targets are not redone."""
    with _heron() as heron:
        action = heron.execute(action_id)
        _print_action(views.action_view(action), json_)


def _print_action(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.json_line(view)
        return
    output.console.print(
        output.styled(
            f"action {view['id']} ({view['type']} {view['target'][:64]}): ",
            (view["status"], "bold"),
        )
    )
    for key in ("targets", "undo"):
        for target in view["result"].get(key, []):
            where = target.get("mailbox") or target.get("target")
            if target.get("where"):
                where = f"{where} ({target['where']})"
            output.console.print(
                f"  {key[:-1] if key == 'targets' else 'undo'} {where}: {target['status']}"
                + (f", verified {target['verified']}" if target.get("verified") else "")
            )


@lists_app.command("show")
def lists_show(json_: JsonFlag = False) -> None:
    """Show the allow and block list."""
    with _heron() as heron, heron.store.session() as session:
        rows = [
            {"list": e.list, "kind": e.kind, "value": e.value, "source": e.source}
            for e in repo.list_entries(session)
        ]
    if json_:
        output.json_line(rows)
    else:
        output.table(
            "Allow and block list",
            ["list", "kind", "value", "source"],
            [[r["list"], r["kind"], r["value"], r["source"]] for r in rows],
        )


LIST_KINDS = ("sender", "domain", "url", "sha256", "ip")


@lists_app.command("add")
def lists_add(
    list_: Annotated[str, typer.Argument(metavar="LIST", help="allow or block")],
    kind: Annotated[str, typer.Argument(help="sender, domain, url, sha256 or ip")],
    value: str,
) -> None:
    """Add an entry, e.g. `heron lists add block domain evil.test`. A blocked url,
    domain or file is looked for in delivered mail: copies still in mailboxes raise
    a post-delivery alert and its investigation."""
    entry = _entry(list_, kind, value)
    with _heron() as heron:
        entry, raised, _ = heron.change_list(
            entry.list, entry.kind, entry.value, add=True, by=_me(heron)
        )
        touched = heron.process() if raised else []
    output.console.print(f"{entry.list} {entry.kind} {entry.value}")
    if raised:
        output.console.print(
            f"{raised} delivered message(s) carry it: investigation(s) "
            + ", ".join(map(str, touched))
        )
    elif entry.list == "block" and entry.kind in ("url", "domain", "sha256"):
        output.console.print(
            "no delivered copy still in a mailbox carries it (copies received within "
            "HERON_CLUSTER_LOOKBACK_DAYS are searched; a message already alerted on "
            "for it is not raised again)"
        )


@lists_app.command("remove")
def lists_remove(
    list_: Annotated[str, typer.Argument(metavar="LIST")], kind: str, value: str
) -> None:
    """Remove an entry."""
    entry = _entry(list_, kind, value)
    with _heron() as heron:
        _, _, removed = heron.change_list(
            entry.list, entry.kind, entry.value, add=False, by=_me(heron)
        )
    if not removed:
        output.errors.print(f"no {entry.list} {entry.kind} {entry.value} on the list")
        raise typer.Exit(1)
    output.console.print(f"removed {entry.list} {entry.kind} {entry.value}")


def _entry(list_: str, kind: str, value: str) -> ListEntry:
    try:
        return ListEntry(kind, value, list_)
    except ValueError as exc:
        output.error(
            "error:",
            f"{exc} (LIST is allow or block; KIND one of {', '.join(LIST_KINDS)})",
        )
        raise typer.Exit(2) from None


@intel_app.command("show")
def intel_show(json_: JsonFlag = False) -> None:
    """Show the loaded feeds, indicator counts and feed warnings."""
    with _heron() as heron:
        index = heron.intel
        view: dict[str, Any] = {
            "feeds": [
                {"feed": feed, "indicators": index.feed_sizes.get(feed, 0)}
                for feed in index.feeds
            ],
            "indicators": len(index),
            "warnings": [
                {"feed": w.feed, "where": w.where, "message": w.message}
                for w in index.warnings
            ],
        }
    if json_:
        output.json_line(view)
        return
    output.console.print(
        f"{view['indicators']} indicators from {len(view['feeds'])} feed(s)"
    )
    for feed in view["feeds"]:
        output.console.print(Text(f"  {feed['feed']}: {feed['indicators']}"))
    for warning in view["warnings"][:50]:
        output.console.print(
            output.styled(
                ("warning", "yellow"),
                f" {warning['feed']} {warning['where']}: {warning['message']}",
            )
        )


@app.command()
def demo(json_: JsonFlag = False) -> None:
    """Build a small sample organisation under HERON_HOME, file reports and investigate."""
    from heron.cli.demo import run_demo

    with _heron() as heron:
        run_demo(heron, as_json=json_)


@app.command()
def settings() -> None:
    """Print the settings in effect: each environment variable, its value and meaning.

    The same names in lower case, without HERON_, go in $HERON_HOME/heron.toml."""
    try:
        current = load_settings()
        # Files the settings name are read now, so a bad one shows here too.
        record_source(current.dns_records, current.dns_resolver)
    except ConfigError as exc:
        output.error("configuration error:", str(exc))
        raise typer.Exit(2) from None
    for name, field in Settings.model_fields.items():
        value = current.model_dump(mode="json")[name]
        if name == "database_url":
            value = current.resolved_database_url
        output.console.print(
            output.styled(
                f"HERON_{name.upper()} = {json.dumps(value, default=str)}  ",
                (field.description or "", "dim"),
            )
        )


def _tolerant_streams() -> None:
    """Text from mail can hold what no terminal encoding can write (lone surrogates
    from broken UTF-7); it is printed as a replacement character, never a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):
                reconfigure(errors="replace")


# How logging was set up by the command line, so settings can switch it to JSON.
_LOGGING: dict[str, Any] = {"level": "WARNING", "json": False}


def _configure_logging(level: str, as_json: bool) -> None:
    _LOGGING.update(level=level, json=as_json)
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


from heron.cli import admin  # noqa: E402,F401  (registers its commands)

if __name__ == "__main__":
    app()
