"""Commands for people, the audit trail, automation, jobs and the service."""

from __future__ import annotations

import json
import os
import re
from typing import Annotated, Any

import typer

from heron.actions import approval
from heron.cli import output
from heron.cli.main import JsonFlag, _heron, _me, app
from heron.config import load_settings
from heron.domain.roles import Permission
from heron.engine import scheduler
from heron.errors import ConfigError
from heron.store import trail, users

users_app = typer.Typer(
    help="heron's users, their roles and tokens.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
automation_app = typer.Typer(
    help="Automation levels per action type.", no_args_is_help=True
)
jobs_app = typer.Typer(
    help="The scheduled jobs of `heron serve`.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(automation_app, name="automation")
app.add_typer(jobs_app, name="jobs")


def _public_url_set() -> bool:
    """Whether HERON_PUBLIC_URL is set, in the environment or the config file."""
    if os.environ.get("HERON_PUBLIC_URL"):
        return True
    try:
        return "public_url" in load_settings().model_fields_set
    except ConfigError:
        return False


def _admin_or_bootstrap(heron: Any) -> Any:
    """The acting admin; None while no admin exists (the first is added locally)."""
    with heron.store.session() as session:
        if not users.any_admin(session):
            return None
    return _me(heron)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Letters, digits, '.', '_', '@', '-'.")],
    role: Annotated[str, typer.Option(help="reader, analyst, approver or admin.")],
    purge: Annotated[
        bool, typer.Option("--purge", help="May approve hard deletes.")
    ] = False,
) -> None:
    """Add a person and print their API token, once, alone on the last line. While
    no admin exists anyone on this machine may add one; then only an admin may."""
    with _heron() as heron:
        token = heron.add_user(name, role, purge=purge, by=_admin_or_bootstrap(heron))
    output.console.print(
        f"user {token.user} added ({role}{', purge' if purge else ''}); "
        "the API token follows, shown only this once:"
    )
    print(token.token)


@users_app.command("token")
def users_token(name: str) -> None:
    """Issue another API token for a user (admins only); printed once, last line."""
    with _heron() as heron:
        token = heron.new_token(name, by=_me(heron))
    output.console.print(f"new token for {token.user}, shown only this once:")
    print(token.token)


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable a user and revoke every token of theirs (admins only)."""
    with _heron() as heron:
        revoked = heron.disable_user(name, by=_me(heron))
    output.console.print(f"user {name} disabled; {revoked} token(s) revoked")


@users_app.command("list")
def users_list(json_: JsonFlag = False) -> None:
    """The users, their roles and how many active tokens each holds."""
    with _heron() as heron, heron.store.session() as session:
        rows = users.list_users(session)
    if json_:
        output.json_line(rows)
        return
    output.table(
        "Users",
        ["name", "role", "purge", "active", "tokens", "created by"],
        [
            [
                r["name"],
                r["role"],
                r["purge"],
                r["active"],
                r["tokens"],
                r["created_by"],
            ]
            for r in rows
        ],
    )


@audit_app.command("verify")
def audit_verify(
    expect: Annotated[
        str,
        typer.Option(help="SEQ:HASH taken from an earlier verify, kept outside heron."),
    ] = "",
    json_: JsonFlag = False,
) -> None:
    """Walk the audit trail's hash chain; exit 1 when a record was changed, inserted
    or deleted."""
    expected = None
    if expect:
        found = re.fullmatch(r"(\d+):([0-9a-f]{64})", expect.strip())
        if found is None:
            output.error(
                "error:", "--expect takes SEQ:HASH (a number, a colon, 64 hex)"
            )
            raise typer.Exit(2)
        expected = (int(found.group(1)), found.group(2))
    with _heron() as heron, heron.store.session() as session:
        result = trail.verify(session, expected)
    view = {
        "intact": result.intact,
        "records": result.records,
        "head": f"{result.head_seq}:{result.head_hash}",
        "problems": result.problems,
    }
    if json_:
        output.json_line(view)
    else:
        state = "intact" if result.intact else "BROKEN"
        output.console.print(f"audit trail {state}: {result.records} record(s)")
        for problem in result.problems:
            output.console.print(f"  {problem}")
        output.console.print(f"head: {view['head']}")
    if not result.intact:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    after: Annotated[int, typer.Option(min=0, help="After this sequence number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    investigation: Annotated[int | None, typer.Option(min=1)] = None,
    json_: JsonFlag = False,
) -> None:
    """Audit-trail records, oldest first."""
    with _heron() as heron, heron.store.session() as session:
        rows = trail.records(
            session, after=after, limit=limit, investigation_id=investigation
        )
    if json_:
        for row in rows:
            output.json_line(row)
        return
    output.table(
        "Audit trail",
        ["seq", "when", "actor", "verb", "object", "investigation"],
        [
            [
                r["seq"],
                r["occurred_at"][:19],
                r["actor"],
                r["verb"],
                f"{r['object_type']} {r['object_id']}",
                r["investigation_id"] or "",
            ]
            for r in rows
        ],
    )


@automation_app.command("show")
def automation_show(json_: JsonFlag = False) -> None:
    """The automation level of every action type."""
    with _heron() as heron, heron.store.session() as session:
        rules = [r.view() for r in approval.all_rules(session)]
    if json_:
        output.json_line(rules)
        return
    output.table(
        "Automation",
        ["action type", "level", "max copies", "cluster kinds", "malicious only", "by"],
        [
            [
                r["action_type"],
                r["level"],
                r["max_copies"] if r["max_copies"] is not None else "",
                ", ".join(r["cluster_kinds"]),
                r["malicious_only"],
                r["updated_by"],
            ]
            for r in rules
        ],
    )


@automation_app.command("set")
def automation_set(
    action_type: str,
    level: Annotated[str, typer.Argument(help="off or automatic")],
    max_copies: Annotated[int | None, typer.Option(min=1)] = None,
    cluster_kind: Annotated[
        list[str] | None, typer.Option(help="Only clusters of this kind (repeatable).")
    ] = None,
    any_verdict: Annotated[
        bool,
        typer.Option("--any-verdict", help="Also for investigations not malicious."),
    ] = False,
) -> None:
    """Set an action type's automation level (admins only), e.g. `heron automation
    set soft_delete automatic --max-copies 1000 --cluster-kind indicator`."""
    limits = {
        "max_copies": max_copies,
        "cluster_kinds": list(cluster_kind or []),
        "malicious_only": not any_verdict,
    }
    with _heron() as heron:
        rule = heron.set_automation(action_type, level, limits, by=_me(heron))
    output.console.print(json.dumps(rule.view()))


@jobs_app.command("list")
def jobs_list(json_: JsonFlag = False) -> None:
    """Each job's interval, last run and outcome."""
    with _heron() as heron:
        rows = scheduler.jobs_view(heron)
    if json_:
        output.json_line(rows)
        return
    output.table(
        "Jobs",
        ["job", "every (min)", "last started", "outcome", "detail"],
        [
            [
                r["name"],
                r["interval_minutes"] if r["enabled"] else "off",
                (r["last_started_at"] or "")[:19],
                r["last_outcome"],
                r["last_detail"][:80],
            ]
            for r in rows
        ],
    )


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one job now, whatever its interval (admins only)."""
    with _heron() as heron:
        me = _me(heron)
        if not me.may(Permission.ADMINISTER):
            output.error("error:", f"{me.name} ({me.role.value}) may not run jobs")
            raise typer.Exit(1)
        outcome = scheduler.Scheduler(heron).run(name, force=True)
        with heron.store.session() as session:
            trail.append(
                session,
                me,
                "job.run",
                "job",
                name[:40],
                detail={"ran": outcome.ran, "outcome": outcome.outcome},
            )
    if not outcome.ran:
        output.error("error:", f"job {name} is running elsewhere")
        raise typer.Exit(1)
    output.console.print(f"{name}: {outcome.outcome}: {outcome.detail}")
    if outcome.outcome != "completed":
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    scheduler_on: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Run the scheduled jobs in this process (one process of several "
            "may do without).",
        ),
    ] = True,
) -> None:
    """Serve the REST API and the activity feed, and run the scheduled jobs. Links in
    records and mail use HERON_PUBLIC_URL, or else this host and port."""
    import uvicorn

    from heron.api.app import create_app

    overrides = {}
    if not _public_url_set():
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        overrides["public_url"] = f"http://{shown}:{port}"
    with _heron(**overrides) as heron:
        jobs = scheduler.Scheduler(heron) if scheduler_on else None
        output.errors.print(
            f"heron {heron.settings.public_url}: the API under /api/v1 (the OpenAPI "
            f"document at /openapi.json), the activity feed at {heron.feed_base} "
            f"(tenant {heron.feed.tenant}); scheduled jobs "
            + ("on" if jobs else "off")
            + "; requests are logged with --log-level INFO",
            soft_wrap=True,
        )
        if jobs is not None:
            jobs.start()
        try:
            uvicorn.run(
                create_app(heron),
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                server_header=False,
                limit_concurrency=200,
                timeout_keep_alive=5,
            )
        finally:
            if jobs is not None:
                jobs.stop()
