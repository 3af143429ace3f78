"""The jobs ``heron serve`` runs on its own, each at its interval.

| job | what it does |
| --- | --- |
| process | turn waiting events into alerts and run their investigations |
| poll | read new mail and audit records from the configured connectors |
| rescan | read forwarding rules and delegations of every mailbox again |
| intel | read the intel feeds again (an event when they changed) |
| expire | expire pending actions past their time |
| clusters | run again the clusters of pending soft deletes |
| notify | send due webhooks and mail |
| feed | seal new activity records into content blobs, notify subscribers |
| retention | purge raw mail and finished investigations past their periods |

Each job's row in ``job_runs`` holds its last start, end, outcome and detail. A job
is claimed with one conditional UPDATE, so when several ``heron serve`` processes
share a database each due job runs in one of them. A claim older than ``LEASE``
(its process died) is taken over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from heron.config import DEFAULT_SCHEDULE
from heron.engine import activity, notify, retention
from heron.errors import HeronError
from heron.store import models as m
from heron.store.models import utcnow

if TYPE_CHECKING:
    from heron.engine.service import Heron

log = logging.getLogger(__name__)

LEASE = timedelta(hours=1)
TICK_SECONDS = 5.0


def _process(heron: Heron) -> str:
    ran = heron.process()
    return f"{len(ran)} investigation(s) ran"


def _poll(heron: Heron) -> str:
    mail = heron.poll()
    audit = heron.poll_audit()
    ran = heron.process()
    errors = [*mail.errors, *audit.warnings[:5]]
    return (
        f"mail: {mail.copies} copies stored; audit: {audit.stored} records stored; "
        f"{len(ran)} investigation(s) ran"
        + (f"; errors: {'; '.join(errors)[:500]}" if errors else "")
    )


def _rescan(heron: Heron) -> str:
    scan = heron.scan_mailboxes()
    ran = heron.process()
    return (
        f"{scan.mailboxes} mailbox(es), {scan.events} event(s), {len(ran)} "
        "investigation(s) ran"
        + (f"; errors: {'; '.join(scan.errors)[:500]}" if scan.errors else "")
    )


def _intel(heron: Heron) -> str:
    index = heron.reload_intel()
    ran = heron.process()
    return f"{len(index.feed_sizes)} feed(s); {len(ran)} investigation(s) ran"


def _expire(heron: Heron) -> str:
    return f"{heron.expire_actions()} investigation(s) changed"


def _clusters(heron: Heron) -> str:
    with heron.store.session() as session:
        ids = {
            a.params.get("cluster_id")
            for a in session.scalars(
                select(m.Action).where(m.Action.status == "pending")
            )
        }
    ids.discard(None)
    for cluster_id in ids:
        heron.rerun_cluster(int(cluster_id))  # type: ignore[arg-type]
    return f"{len(ids)} cluster(s) run again"


def _notify(heron: Heron) -> str:
    channels = notify.Channels(heron.settings)
    return notify.deliver(heron.store.session, channels.send).describe()


def _feed(heron: Heron) -> str:
    with heron.store.session() as session:
        blobs = activity.seal(session)
        notify.enqueue_content(session, heron.feed, blobs, heron.feed_base)
    return f"{len(blobs)} content blob(s) sealed"


def _retention(heron: Heron) -> str:
    with heron.store.session() as session:
        purged = retention.purge(
            session,
            utcnow(),
            raw_mail_days=heron.settings.retention_raw_mail_days,
            investigation_days=heron.settings.retention_investigation_days,
        )
    retention.delete_blobs(heron.store.blobs, purged.blobs)
    return purged.describe()


JOBS: dict[str, Callable[[Heron], str]] = {
    "process": _process,
    "poll": _poll,
    "rescan": _rescan,
    "intel": _intel,
    "expire": _expire,
    "clusters": _clusters,
    "notify": _notify,
    "feed": _feed,
    "retention": _retention,
}
assert set(JOBS) == set(DEFAULT_SCHEDULE)


@dataclass(frozen=True)
class Outcome:
    name: str
    ran: bool
    outcome: str = ""
    detail: str = ""


class Scheduler:
    """Runs due jobs in a background thread until stopped."""

    def __init__(self, heron: Heron, now: Callable[[], datetime] = utcnow) -> None:
        self.heron = heron
        self.now = now
        self.runner = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ensure_rows()

    def interval(self, name: str) -> timedelta | None:
        minutes = self.heron.settings.schedule.get(name, 0)
        return timedelta(minutes=minutes) if minutes > 0 else None

    def _ensure_rows(self) -> None:
        for name in JOBS:
            try:
                with self.heron.store.session() as session:
                    if session.get(m.JobRun, name) is None:
                        session.add(m.JobRun(name=name))
            except IntegrityError:
                continue  # another process added it

    def _claim(self, name: str, force: bool) -> bool:
        now = self.now()
        interval = self.interval(name)
        if interval is None and not force:
            return False
        due: list[Any] = [m.JobRun.started_at.is_(None)]
        if not force and interval is not None:
            due.append(m.JobRun.started_at <= now - interval)
        free = or_(m.JobRun.runner == "", m.JobRun.started_at < now - LEASE)
        with self.heron.store.session() as session:
            claimed = session.execute(
                update(m.JobRun)
                .where(m.JobRun.name == name, free, *([or_(*due)] if not force else []))
                .values(runner=self.runner, started_at=now, ended_at=None)
            )
            return bool(claimed.rowcount)  # type: ignore[attr-defined]

    def run(self, name: str, *, force: bool = False) -> Outcome:
        """Run one job if it is due (or ``force``) and no one else runs it."""
        if name not in JOBS:
            raise HeronError(f"no job {name[:40]!r}; jobs: {', '.join(JOBS)}")
        if not self._claim(name, force):
            return Outcome(name, False)
        try:
            detail, outcome = JOBS[name](self.heron), "completed"
        except HeronError as exc:
            detail, outcome = f"{type(exc).__name__}: {exc}", "failed"
        except Exception as exc:  # a job must never stop the scheduler
            log.exception("job %s failed", name)
            detail, outcome = f"{type(exc).__name__}: {exc}", "failed"
        with self.heron.store.session() as session:
            row = session.get(m.JobRun, name)
            if row is not None:
                row.runner, row.ended_at = "", self.now()
                row.outcome, row.detail = outcome, detail[:4000]
                row.runs += 1
        log.info("job %s %s: %s", name, outcome, detail[:300])
        return Outcome(name, True, outcome, detail)

    def tick(self) -> list[Outcome]:
        """Run every job that is due now, one after another."""
        return [o for o in (self.run(name) for name in JOBS) if o.ran]

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="heron-scheduler", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the database went away a moment: try next tick
                log.exception("scheduler tick failed")
            self._stop.wait(TICK_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def jobs_view(heron: Heron) -> list[dict[str, Any]]:
    with heron.store.session() as session:
        rows = {r.name: r for r in session.scalars(select(m.JobRun))}
    out = []
    for name in JOBS:
        row = rows.get(name)
        minutes = heron.settings.schedule.get(name, 0)
        out.append(
            {
                "name": name,
                "interval_minutes": minutes,
                "enabled": minutes > 0,
                "running": bool(row and row.runner),
                "last_started_at": row.started_at.isoformat()
                if row and row.started_at
                else None,
                "last_ended_at": row.ended_at.isoformat()
                if row and row.ended_at
                else None,
                "last_outcome": row.outcome if row else "",
                "last_detail": row.detail if row else "",
                "runs": row.runs if row else 0,
            }
        )
    return out
