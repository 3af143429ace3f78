"""heron's application service: the flow from sources to proposed actions.

    ingest / report ──► events ──► alerts ──► investigations ──► steps ──► verdicts ──► actions

Each arrow commits before the next begins. Events are turned into alerts one at a time
(so two alerts about one message cannot both open an investigation); playbooks of
different investigations run in parallel on the task runner.
"""

from __future__ import annotations

import getpass
import hashlib
import ipaddress
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from heron import analyzers
from heron.actions import approval
from heron.actions import service as actions
from heron.actions.types import ACTION_TYPES
from heron.analyzers import Lookups
from heron.analyzers.indicators import message_entities
from heron.analyzers.lexicon import FREEMAIL, HostLists
from heron.analyzers.reputation import url_finding
from heron.config import Settings
from heron.connectors import registry
from heron.connectors.base import Connector, Operation
from heron.connectors.maildir import MaildirConnector, folder_location
from heron.domain import scoring
from heron.domain.entities import EntityRef, EntityType, EntityVerdict, Event, Finding
from heron.domain.names import (
    is_ip,
    is_outside,
    is_public_suffix,
    organisational_domain,
)
from heron.domain.playbooks import MANUAL_EMAIL, PLAYBOOKS
from heron.domain.policies import BUILTIN_POLICIES, AlertPolicy, policies_for
from heron.domain.roles import Permission, Principal, automation
from heron.domain.status import settled_status
from heron.domain.urls import url_host
from heron.domain.verdicts import (
    ActionStatus,
    InvestigationStatus,
    Location,
    Severity,
    Verdict,
    worst,
)
from heron.engine import (
    activity,
    clusters,
    mailbox_settings,
    notify,
    post_delivery,
    sigma,
)
from heron.engine.playbook import StepRun, run_steps
from heron.engine.post_delivery import FileJudge, UrlJudge
from heron.engine.runner import InProcessRunner, TaskRunner
from heron.errors import (
    ActionError,
    ConfigError,
    ConnectorError,
    InvalidInput,
    MailParseError,
    NotFoundError,
    PermissionDenied,
)
from heron.ingest.audit import (
    AuditBatch,
    AuditRecord,
    parse_audit,
    read_audit,
    record_key,
)
from heron.ingest.clicks import read_clicks
from heron.intel.dns_records import record_source
from heron.intel.feeds import load_feeds
from heron.intel.lists import ListEntry, OrgLists
from heron.intel.model import IntelIndex
from heron.intel.yara_rules import YaraRules, load_rules
from heron.mail.facts import Limits, MessageFacts, Url
from heron.mail.parse import parse_message
from heron.mail.report import unwrap_report
from heron.mail.sources import iter_mail
from heron.mail.verification import verify
from heron.store import explorer, trail, users
from heron.store import models as m
from heron.store import repository as repo
from heron.store.explorer import ExploreQuery, Member
from heron.store.models import row_key, utcnow
from heron.store.repository import Store

log = logging.getLogger(__name__)

Progress = Callable[[int], None]

# How many reasons a verdict keeps: the findings worth most, enough to read at a glance.
REASONS_KEPT = 8
# Copies an ingest run stores per transaction.
INGEST_BATCH = 200
# Copies an ingest run adds before it has the database refresh its statistics.
STATISTICS_AFTER = 1000
# Messages a manual investigation takes at most; the explorer counts the rest.
MAX_MANUAL_MESSAGES = 200


@dataclass
class IngestSummary:
    """What one ingest run stored."""

    messages: int = 0
    copies: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: int = 0
    # Post-delivery events the new copies raised (they carry what intel lists).
    post_delivery: int = 0


@dataclass(frozen=True)
class _Pending:
    """A copy read by an ingest run, waiting for its batch to be stored."""

    sha256: str
    raw: bytes
    owner: str
    source: str
    location: str
    locator: str


@dataclass
class AuditSummary:
    """What one audit ingest read and stored."""

    records: int = 0
    stored: int = 0
    already_known: int = 0
    duplicates: int = 0
    sigma_matches: int = 0
    click_alerts: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """One reported or investigated file: its message and where it went."""

    source: str
    sha256: str = ""
    investigation_id: int | None = None
    reporter: str = ""
    kind: str = "none"
    warnings: list[str] = field(default_factory=list)
    error: str = ""


class Heron:
    """One heron installation: settings, store, intel, connectors and runner."""

    def __init__(self, settings: Settings, *, runner: TaskRunner | None = None) -> None:
        self.settings = settings
        _check_weights(settings)
        # Read before anything starts, so that a bad records file stops start-up.
        self.records = record_source(settings.dns_records, settings.dns_resolver)
        try:
            settings.home.mkdir(parents=True, exist_ok=True)
            settings.blob_dir.mkdir(parents=True, exist_ok=True)
            (settings.home / "intel").mkdir(exist_ok=True)  # where feeds are dropped
        except OSError as exc:
            raise ConfigError(
                f"HERON_HOME: cannot use {settings.home} ({exc.strerror}); "
                "point it at a folder heron may write"
            ) from None
        try:
            self.store = Store(settings.resolved_database_url, settings.blob_dir)
            self.store.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise ConfigError(
                f"HERON_DATABASE_URL: cannot open the database "
                f"{_without_password(settings.resolved_database_url)}: "
                f"{str(exc).splitlines()[0][:300]}"
            ) from None
        self.runner = runner or InProcessRunner(settings.workers)
        self.limits = Limits()
        self._intel: IntelIndex | None = None
        self._mailbox_domains: tuple[int, frozenset[str]] | None = None
        self._yara: YaraRules | None = None
        self._connectors: dict[str, Connector] | None = None
        self._sigma: tuple[list[sigma.SigmaPolicy], list[sigma.Skipped]] | None = None
        self.feed = activity.Feed(
            activity.tenant_of(settings.tenant_id, settings.org_domains),
            settings.public_url,
        )

    @property
    def feed_base(self) -> str:
        """Where the activity feed is served: its content URIs start here."""
        return (
            f"{self.settings.public_url.rstrip('/')}/api/v1.0/{self.feed.tenant}"
            "/activity/feed"
        )

    def close(self) -> None:
        self.runner.shutdown()
        for connector in (self._connectors or {}).values():
            connector.close()
        self.store.close()

    # -- lookups -------------------------------------------------------------------

    @property
    def intel(self) -> IntelIndex:
        """The threat-intel index, loaded once from the configured feed paths.

        Loading compares the feeds with those seen last; when they changed, an
        ``intel.changed`` event records which feeds and how many indicators.
        """
        if self._intel is None:
            self._intel = load_feeds(self._intel_paths())
            for warning in self._intel.warnings:
                log.warning(
                    "intel feed %s: %s: %s",
                    warning.feed,
                    warning.where,
                    warning.message,
                )
            if self._record_intel_change(self._intel):
                # Mail delivered before the change may carry what it now lists.
                self.scan_delivered(origin="intel")
        return self._intel

    @property
    def yara(self) -> YaraRules:
        """heron's own YARA rules and those under ``HERON_YARA_PATHS``, compiled once."""
        if self._yara is None:
            self._yara = load_rules(self.settings.yara_paths)
        return self._yara

    def reload_intel(self) -> IntelIndex:
        """Read the feeds again, recording ``intel.changed`` if they changed."""
        self._intel = None
        return self.intel

    def _intel_paths(self) -> list[Path]:
        paths = list(self.settings.intel_paths)
        default = self.settings.home / "intel"
        if default.is_dir():
            paths.append(default)
        return paths

    def _record_intel_change(self, index: IntelIndex) -> bool:
        """Record ``intel.changed`` when the feeds differ from those seen last;
        True when they did."""
        fingerprint = _feeds_fingerprint(self._intel_paths())
        with self.store.session() as session:
            last = session.scalar(
                select(m.EventRecord)
                .where(m.EventRecord.type == "intel.changed")
                .order_by(m.EventRecord.id.desc())
                .limit(1)
            )
            if last is not None and last.payload.get("fingerprint") == fingerprint:
                return False
            if last is None and not index.feeds:
                return False
            payload = {
                "fingerprint": fingerprint,
                "feeds": index.feeds,
                "indicators": len(index),
                "warnings": len(index.warnings),
            }
            repo.save_event(
                session, Event("intel.changed", utcnow(), "intel", (), payload)
            )
        return True

    def lookups(self, session: Session) -> Lookups:
        return Lookups(
            intel=self.intel,
            intel_size=len(self.intel),
            org_lists=self.org_lists(session),
            trusted_authserv_ids=tuple(self.settings.trusted_authserv_ids),
            trusted_arc_sealers=tuple(self.settings.trusted_arc_sealers),
            org_domains=tuple(sorted(self.org_domains(session))),
            partner_domains=tuple(self.settings.partner_domains),
            vip_names=tuple(self.settings.vip_names),
            yara=self.yara,
            host_lists=self.host_lists(),
        )

    def host_lists(self) -> HostLists:
        return HostLists.extended(
            self.settings.url_shorteners,
            self.settings.free_hosting,
            self.settings.file_sharing,
        )

    @property
    def weights(self) -> scoring.Weights:
        """What each finding is worth, from the settings."""
        return scoring.Weights(
            overrides=dict(self.settings.scoring_weights),
            suspicious=self.settings.suspicious_points,
            malicious=self.settings.malicious_points,
        )

    def _reasons(self, *verdicts: EntityVerdict) -> list[dict[str, object]]:
        """The top reasons behind verdicts, worth most first, each listed once."""
        seen: dict[tuple[str, str, str], Finding] = {}
        for verdict in verdicts:
            for finding in verdict.reasons:
                key = (finding.analyzer, finding.code, finding.summary)
                seen.setdefault(key, finding)
        ranked = sorted(
            seen.values(),
            key=lambda f: (-self.weights.points(f), -f.severity.rank),
        )
        return [scoring.reason_view(f, self.weights) for f in ranked[:REASONS_KEPT]]

    def org_lists(self, session: Session) -> OrgLists:
        """The organisation's allow and block list as stored."""
        entries = []
        for record in repo.list_entries(session):
            try:
                entries.append(ListEntry(record.kind, record.value, record.list))
            except ValueError as error:
                # An entry written before its kind's rule tightened, or by hand in
                # the database: it matches nothing, and the log says why.
                log.warning("list entry %s ignored: %s", record.id, error)
        return OrgLists(entries)

    def org_domains(self, session: Session) -> set[str]:
        """The organisation's domains: those configured, and those of its mailboxes."""
        count = session.scalar(select(func.count()).select_from(m.Mailbox)) or 0
        if self._mailbox_domains is None or self._mailbox_domains[0] != count:
            # Mailboxes are only ever added, so their number says when to read again.
            found = set()
            for address in session.scalars(select(m.Mailbox.address)):
                domain = address.rpartition("@")[2].lower()
                if domain:
                    found.add(domain)
            self._mailbox_domains = (count, frozenset(found))
        return {d.lower() for d in self.settings.org_domains} | self._mailbox_domains[1]

    @property
    def sigma(self) -> tuple[list[sigma.SigmaPolicy], list[sigma.Skipped]]:
        """The Sigma rules under ``HERON_SIGMA_PATHS`` heron evaluates, and those it
        cannot with the reason; read once."""
        if self._sigma is None:
            self._sigma = sigma.load(list(self.settings.sigma_paths))
            for skipped in self._sigma[1]:
                log.info(
                    "sigma rule %s not evaluated: %s", skipped.path, skipped.reason
                )
        return self._sigma

    @property
    def connectors(self) -> dict[str, Connector]:
        """The configured connectors by name, built on first use."""
        if self._connectors is None:
            self._connectors = registry.build(self.settings)
        return self._connectors

    def connector_for(self, session: Session, mailbox: str) -> Connector | None:
        """The connector that reaches ``mailbox``, or None when none does."""
        row = session.get(m.Mailbox, mailbox)
        return None if row is None else self._connector_of(row)

    def _connector_of(self, row: m.Mailbox) -> Connector | None:
        if row.connector == "maildir":
            if not row.locator:
                return None
            return MaildirConnector({row.address: Path(row.locator)})
        return self.connectors.get(row.connector)

    # -- sources -------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        mailbox: str | None = None,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Store mail found under ``paths`` as delivered copies.

        The mailbox is ``mailbox`` when given, else the Maildir's folder name. A copy
        in a Maildir can be acted on; a loose file with ``mailbox`` is recorded only.
        """
        summary = IngestSummary()
        # When each message met in this run was sent (its Date): copies of a message
        # already stored, or met earlier in the run, are not parsed again.
        dates: dict[str, datetime | None] = {}
        mailboxes: dict[tuple[str, str, str], str] = {}
        # Where each copy of this run was found. A mailbox holding two files of one
        # message (its inbox and its trash) has one copy, and it is the one the user
        # can still open: a file out of the mailbox never hides one in it.
        placed: dict[tuple[str, str], str] = {}
        batch: list[_Pending] = []
        for item in iter_mail(paths, self.limits):
            if progress:
                progress(1)
            owner = (mailbox or item.mailbox or "").strip().lower()
            if item.error or not owner:
                summary.errors.append(
                    f"{item.source}: {item.error or 'no mailbox: pass --mailbox'}"
                )
                continue
            root, locator = None, ""
            if item.folder is not None:  # iter_mail found it inside a Maildir
                root, locator = _maildir_locator(Path(item.source), item.folder)
            problem = self._mailbox_ready(
                owner,
                "maildir" if root is not None else "none",
                str(root.resolve()) if root is not None else "",
                mailboxes,
            )
            if problem:
                summary.errors.append(f"{item.source}: {problem}")
                continue
            digest = hashlib.sha256(item.raw).hexdigest()
            location = folder_location(item.folder)
            before = placed.get((digest, owner))
            if before is not None and (
                Location(before).in_mailbox or not location.in_mailbox
            ):
                summary.duplicates += 1
                continue
            placed[(digest, owner)] = location.value
            if before is not None:  # the earlier file was the trash's: this one wins
                batch = [p for p in batch if (p.sha256, p.owner) != (digest, owner)]
            batch.append(
                _Pending(digest, item.raw, owner, item.source, location.value, locator)
            )
            if len(batch) >= INGEST_BATCH:
                self._store_batch(batch, dates, summary)
                batch = []
        if batch:
            self._store_batch(batch, dates, summary)
        if summary.copies >= STATISTICS_AFTER:
            self.store.db.refresh_statistics()
        return summary

    def poll(
        self, names: list[str] | None = None, progress: Progress | None = None
    ) -> IngestSummary:
        """Read new mail from every connector that ingests (or those named): each
        mailbox from where the last poll stopped. What a poll has stored is never
        read again; a poll that fails part-way resumes from its last stored batch."""
        summary = IngestSummary()
        wanted = [
            c
            for c in self.connectors.values()
            if c.supports(Operation.INGEST) and (names is None or c.name in names)
        ]
        audit = {
            c.name for c in self.connectors.values() if c.supports(Operation.AUDIT)
        }
        unknown = sorted(set(names or []) - {c.name for c in wanted} - audit)
        if unknown:
            raise ConfigError(
                "no connector that ingests mail is named "
                + ", ".join(repr(n[:64]) for n in unknown)
            )
        dates: dict[str, datetime | None] = {}
        known: dict[tuple[str, str, str], str] = {}
        problems, listed = self._register(known)
        summary.errors.extend(problems)
        for connector in wanted:
            for mailbox in listed.get(connector.name, []):
                if not known.get((mailbox, connector.name, mailbox)):
                    self._poll_mailbox(connector, mailbox, dates, summary, progress)
        if summary.copies >= STATISTICS_AFTER:
            self.store.db.refresh_statistics()
        return summary

    def _register(
        self, known: dict[tuple[str, str, str], str]
    ) -> tuple[list[str], dict[str, list[str]]]:
        """Record every mailbox the connectors list, as reached by that connector,
        so that scans and actions find it. Returns a line per problem, and the
        mailboxes each connector listed."""
        problems: list[str] = []
        listed: dict[str, list[str]] = {}
        for connector in self.connectors.values():
            if not connector.supports(Operation.LIST_MAILBOXES):
                continue
            try:
                listed[connector.name] = connector.list_mailboxes()
            except ConnectorError as exc:
                problems.append(str(exc))
                continue
            for mailbox in listed[connector.name]:
                problem = self._mailbox_ready(mailbox, connector.name, mailbox, known)
                if problem:
                    problems.append(problem)
        return problems, listed

    def _poll_mailbox(
        self,
        connector: Connector,
        mailbox: str,
        dates: dict[str, datetime | None],
        summary: IngestSummary,
        progress: Progress | None,
    ) -> None:
        with self.store.session() as session:
            row = session.get(m.SyncState, (connector.name, mailbox))
            state = dict(row.state) if row else {}
        batch: list[_Pending] = []

        def keep(state: dict[str, Any]) -> None:
            self._keep_state(connector.name, mailbox, state)

        reached = state
        try:
            for fetched, after in connector.fetch_new(mailbox, state):
                reached = after
                if fetched is None:
                    continue
                if progress:
                    progress(1)
                source = f"{connector.name}:{mailbox}/{fetched.folder}"
                if fetched.error:
                    summary.errors.append(
                        f"{source} {fetched.locator}: {fetched.error}"
                    )
                    continue
                batch.append(
                    _Pending(
                        hashlib.sha256(fetched.raw).hexdigest(),
                        fetched.raw,
                        mailbox,
                        source,
                        fetched.location.value,
                        fetched.locator,
                    )
                )
                if len(batch) >= INGEST_BATCH:
                    self._store_batch(batch, dates, summary)
                    batch = []
                    keep(reached)
        except ConnectorError as exc:
            summary.errors.append(str(exc))
        finally:
            if batch:
                self._store_batch(batch, dates, summary)
            if reached is not state:
                keep(reached)

    def _mailbox_ready(
        self,
        owner: str,
        connector: str,
        locator: str,
        known: dict[tuple[str, str, str], str],
    ) -> str:
        """Record the mailbox once per run; the problem with it, or ""."""
        key = (owner, connector, locator)
        if key not in known:
            try:
                self.store.retrying(
                    lambda session: repo.save_mailbox(
                        session, owner, connector, locator
                    )
                )
                known[key] = ""
            except ConnectorError as exc:
                known[key] = str(exc)
        return known[key]

    def _store_batch(
        self,
        batch: list[_Pending],
        dates: dict[str, datetime | None],
        summary: IngestSummary,
    ) -> None:
        """Store a batch of copies: parse the messages the store does not hold, store
        them with their index and every new copy in one transaction, then look for
        what intel lists in the new messages."""
        unknown = sorted({p.sha256 for p in batch} - set(dates))
        if unknown:
            with self.store.session() as session:
                stored = session.execute(
                    select(m.Message.sha256, func.min(m.Copy.received_at))
                    .outerjoin(m.Copy, m.Copy.message_sha256 == m.Message.sha256)
                    .where(m.Message.sha256.in_(unknown))
                    .group_by(m.Message.sha256)
                ).all()
            dates.update({sha: first for sha, first in stored})
        parsed: dict[str, MessageFacts] = {}
        failed: dict[str, str] = {}
        for pending in batch:
            if pending.sha256 in dates or pending.sha256 in failed:
                continue
            try:
                facts = parse_message(pending.raw, self.limits)
            except MailParseError as exc:
                failed[pending.sha256] = str(exc)
                continue
            summary.warnings += len(facts.all_warnings())
            self.store.blobs.put(pending.raw)
            parsed[pending.sha256] = facts
            dates[pending.sha256] = plausible_date(facts.date)
        kept = []
        for pending in batch:
            if pending.sha256 in failed:
                summary.errors.append(f"{pending.source}: {failed[pending.sha256]}")
            else:
                kept.append(pending)

        def store(session: Session) -> tuple[int, int]:
            messages = repo.store_messages(session, parsed.values())
            copies = repo.store_copies(
                session,
                [
                    repo.NewCopy(
                        p.sha256,
                        p.owner,
                        p.location,
                        p.locator,
                        dates[p.sha256],
                        p.source,
                    )
                    for p in kept
                ],
            )
            return copies, messages

        copies, messages = self.store.retrying(store)
        summary.copies += copies
        summary.messages += messages
        summary.duplicates += len(kept) - copies
        if parsed:
            summary.post_delivery += self.scan_delivered(
                sorted(parsed), origin="ingest"
            )

    def reindex(self, batch: int = 200) -> tuple[int, list[str]]:
        """Index again every stored message an older heron indexed: read its blob,
        parse it and fill what the index lacks. Returns how many were done and a line
        for each that could not be read (it keeps its old index)."""
        done, failed, skip = 0, list[str](), set[str]()
        while True:
            with self.store.session() as session:
                todo = list(
                    session.scalars(
                        select(m.Message)
                        .where(
                            m.Message.index_version < m.INDEX_VERSION,
                            m.Message.sha256.not_in(sorted(skip)),
                        )
                        .limit(batch)
                    )
                )
                if not todo:
                    return done, failed
                for row in todo:
                    try:
                        facts = parse_message(
                            self.store.blobs.get(row.sha256), self.limits
                        )
                    except (MailParseError, OSError, NotFoundError) as exc:
                        skip.add(row.sha256)
                        failed.append(
                            f"message {row.sha256[:12]}: not reindexed: {exc}"
                        )
                        continue
                    repo.index_message(session, row, facts)
                    done += 1

    def report_all(
        self, raw: bytes, *, reporter: str = "", source: str = ""
    ) -> list[Submission]:
        """Record a report and every further message it wraps.

        A report wrapping several messages is a report of each: the first is unwrapped
        as usual, the others are filed as reports of their own by the same reporter.
        """
        first = self.report(raw, reporter=reporter, source=source)
        if first.kind != "attached":
            return [first]
        submissions = [first]
        wrapper = parse_message(raw, self.limits)
        extra = [
            a
            for a in wrapper.attachments
            if a.message is not None and a.payload.strip() and a.sha256 != first.sha256
        ]
        for number, attachment in enumerate(extra, start=2):
            try:
                submissions.append(
                    self.report(
                        attachment.payload,
                        reporter=first.reporter,
                        source=f"{source}#{number}",
                        unwrap=False,
                    )
                )
            except MailParseError as exc:
                submissions.append(
                    Submission(source=f"{source}#{number}", error=str(exc))
                )
        return submissions

    def report(
        self, raw: bytes, *, reporter: str = "", source: str = "", unwrap: bool = True
    ) -> Submission:
        """Record a user's report and queue its event; ``process`` turns it into alerts.

        With ``unwrap`` a report that wraps the suspicious message (ARF or an attached
        message) is opened and the original is what gets investigated.
        """
        submission = Submission(source=source)
        kind = "none"
        wrapper = raw
        if unwrap:
            wrapped = unwrap_report(raw, self.limits)
            if _not_the_reporters_wrapper(wrapped.kind, wrapped.reporter, reporter):
                submission.warnings.append(
                    f"report: not unwrapped: the file is from {wrapped.reporter}, not from "
                    f"the reporter {reporter.lower()}, so it is the suspicious message itself"
                )
            else:
                raw, kind = wrapped.original, wrapped.kind
                if kind != "none":  # the wrapper's From is the person who reported it
                    reporter = reporter or wrapped.reporter
            submission.warnings.extend(
                f"{w.where}: {w.code}: {w.message}" for w in wrapped.warnings
            )
        try:
            facts = parse_message(raw, self.limits)
        except MailParseError as exc:
            if raw is wrapper:
                raise
            # The report is real even when what it wraps is not mail: investigate
            # the report itself, saying why.
            submission.warnings.append(
                f"report: report-unreadable-original: the wrapped message cannot be "
                f"read ({exc}); the report is investigated as it is"
            )
            raw, kind = wrapper, "none"
            facts = parse_message(raw, self.limits)
        reporter = (reporter or self.settings.operator).lower()
        self.store.blobs.put(raw)

        def store(session: Session) -> None:
            repo.save_message(session, facts)
            session.add(
                m.Report(
                    message_sha256=facts.sha256,
                    reporter=reporter,
                    kind=kind,
                    source=source,
                )
            )
            repo.save_event(
                session,
                Event(
                    "message.reported",
                    utcnow(),
                    source or "report",
                    (
                        EntityRef(EntityType.MESSAGE, facts.sha256),
                        EntityRef(EntityType.MAILBOX, reporter),
                    ),
                    {"reporter": reporter, "report_kind": kind, "source": source},
                ),
            )

        self.store.retrying(store)
        submission.sha256, submission.reporter, submission.kind = (
            facts.sha256,
            reporter,
            kind,
        )
        submission.warnings.extend(
            f"{w.where}: {w.code}: {w.message}" for w in facts.all_warnings()
        )
        return submission

    # -- post-delivery detection -----------------------------------------------------

    def _judges(self, session: Session) -> tuple[UrlJudge, FileJudge]:
        """What makes a url or file malicious now: threat intel, then the block list
        (an allow-list entry that matches more narrowly wins)."""
        intel = self.intel
        lists = self.org_lists(session)

        def judge_url(url: str, host: str) -> str:
            finding = url_finding(intel, Url(url, "index", host))
            if finding.code == "intel-hit":
                return finding.summary
            match = lists.match_url(url)
            if match is not None and match.list == "block":
                return f"the block list holds {match.kind} {match.value}"
            return ""

        def judge_file(digest: str) -> str:
            hits = intel.lookup("sha256", digest)
            if hits:
                return f"the file's sha256 is listed in {', '.join(sorted({h.feed for h in hits}))}"
            match = lists.match_hash(digest)
            if match is not None and match.list == "block":
                return f"the block list holds sha256 {match.value}"
            return ""

        return judge_url, judge_file

    def scan_delivered(
        self, only: Iterable[str] | None = None, *, origin: str = "intel"
    ) -> int:
        """Raise a post-delivery event for every delivered message (``only`` these,
        when given) still in a mailbox that carries a url or file now malicious, and a
        click alert for every click of the last 48 hours on a url now malicious.
        Returns how many post-delivery events were raised; ``process`` turns them
        into alerts and investigations."""
        intel = self.intel
        with self.store.session() as session:
            if not len(intel) and not any(
                e.list == "block" for e in repo.list_entries(session)
            ):
                return 0  # nothing is malicious yet: nothing to look for
            judge_url, judge_file = self._judges(session)
            hits = post_delivery.scan(
                session,
                judge_url,
                judge_file,
                since=utcnow() - self.settings.cluster_lookback,
                only=only,
            )
            raised = post_delivery.raise_events(session, hits, origin)
            if only is None:
                post_delivery.alert_clicks(session, judge_url, turned_bad_at=utcnow())
        if raised:
            log.info("post-delivery: %s message(s) found by %s", raised, origin)
        return raised

    def block(self, kind: str, value: str, *, by: str) -> tuple[ListEntry, int]:
        """Put an entry on the block list and look through delivered mail for it:
        returns the entry and how many post-delivery events it raised."""
        entry = ListEntry(kind, value, "block")
        with self.store.session() as session:
            repo.add_list_entry(
                session, "block", entry.kind, entry.value, f"added by {by}"
            )
        raised = 0
        if entry.kind in ("url", "domain", "sha256"):
            raised = self.scan_delivered(origin=f"block list ({by})")
        return entry, raised

    def change_list(
        self, list_: str, kind: str, value: str, *, add: bool, by: str | Principal
    ) -> tuple[ListEntry, int, bool]:
        """Add an entry to the allow or block list, or remove one, for a person who
        may manage the lists. Returns the entry, how many post-delivery events a
        new block raised, and whether anything changed."""
        try:
            entry = ListEntry(kind, value, list_)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        with self.store.session() as session:
            person = self._require(session, by, Permission.MANAGE_LISTS)
            if add:
                self._check_list_entry(session, entry)
                before = {(e.list, e.kind, e.value) for e in repo.list_entries(session)}
                if (entry.list, entry.kind, entry.value) in before:
                    return entry, 0, False
        raised, changed = 0, True
        if add and entry.list == "block":
            entry, raised = self.block(entry.kind, entry.value, by=person.name)
        with self.store.session() as session:
            if add and entry.list != "block":
                repo.add_list_entry(
                    session,
                    entry.list,
                    entry.kind,
                    entry.value,
                    f"added by {person.name}",
                )
            elif not add:
                changed = repo.remove_list_entry(
                    session, entry.list, entry.kind, entry.value
                )
            if changed:
                trail.append(
                    session,
                    person,
                    f"list.{'added' if add else 'removed'}",
                    "list_entry",
                    f"{entry.list}:{entry.kind}:{entry.value}"[:255],
                    detail={
                        "list": entry.list,
                        "kind": entry.kind,
                        "value": entry.value,
                    },
                )
        return entry, raised, changed

    def _check_list_entry(self, session: Session, entry: ListEntry) -> None:
        """Entries that would block or allow far more than anyone means are refused:
        the organisation's own domains, networks wider than /8 (IPv4) or /32 (IPv6),
        and an entry the other list holds."""
        if entry.kind == "domain" and entry.list == "block":
            own = {organisational_domain(d) for d in self.org_domains(session)}
            if organisational_domain(entry.value) in own:
                raise InvalidInput(f"{entry.value} is the organisation's own domain")
            if is_public_suffix(entry.value):
                raise InvalidInput(
                    f"{entry.value} is a public suffix: anyone registers names under it"
                )
        if entry.kind == "ip" and "/" in entry.value:
            network = ipaddress.ip_network(entry.value, strict=False)
            widest = 8 if network.version == 4 else 32
            mapped = ipaddress.IPv6Network("::ffff:0:0/96")
            if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(mapped):
                widest = 96 + 8  # IPv4 in IPv6 form: as wide as its IPv4 part
            if network.prefixlen < widest:
                raise InvalidInput(
                    f"{entry.value} is wider than /{widest}: it would take in "
                    "unrelated senders; list narrower networks"
                )
        other = "allow" if entry.list == "block" else "block"
        for held in repo.list_entries(session):
            if (held.list, held.kind, held.value) == (other, entry.kind, entry.value):
                raise InvalidInput(
                    f"{entry.kind} {entry.value} is on the {other} list; remove it "
                    "there first"
                )

    # -- people ----------------------------------------------------------------------

    def add_user(
        self, name: str, role: str, *, purge: bool, by: str | Principal | None
    ) -> users.NewToken:
        """Add a person and issue their first API token. ``by`` must be an admin;
        while no admin exists, ``by`` may be None (the first admin is added on this
        machine's command line)."""
        with self.store.session() as session:
            actor: Principal | str
            if by is None:
                if users.any_admin(session):
                    raise PermissionDenied(
                        "adding users needs an admin: set HERON_TOKEN to an admin's "
                        "token, or map your login in local_users"
                    )
                actor = f"local:{_login()}"
            else:
                actor = self._require(session, by, Permission.ADMINISTER)
            parsed = users.parse_role(role)
            row = users.add_user(
                session,
                name,
                parsed,
                purge=purge,
                by=actor.label if isinstance(actor, Principal) else actor,
            )
            token = users.issue_token(session, row)
            trail.append(
                session,
                actor,
                "user.added",
                "user",
                row.name,
                detail={"role": parsed.value, "purge": purge, "token": token.prefix},
            )
            return token

    def new_token(self, name: str, *, by: str | Principal) -> users.NewToken:
        with self.store.session() as session:
            actor = self._require(session, by, Permission.ADMINISTER)
            row = users.get_user(session, name)
            if row.disabled_at is not None:
                raise ActionError(f"user {name} is disabled")
            token = users.issue_token(session, row)
            trail.append(
                session,
                actor,
                "user.token_issued",
                "user",
                name,
                detail={"token": token.prefix},
            )
            return token

    def disable_user(self, name: str, *, by: str | Principal) -> int:
        """Disable a person and revoke their tokens; returns how many were revoked.
        The last active admin stays: the audit record is written first, which makes
        two admins disabling each other at once wait for one another."""
        with self.store.session() as session:
            actor = self._require(session, by, Permission.ADMINISTER)
            row = users.get_user(session, name)
            trail.append(session, actor, "user.disabled", "user", row.name)
            session.refresh(row)
            if (
                row.role == "admin"
                and row.disabled_at is None
                and users.active_admins(session) <= 1
            ):
                raise ActionError(
                    f"{row.name} is the last active admin; add another admin first"
                )
            if row.disabled_at is None:
                row.disabled_at = utcnow()
            revoked = users.revoke_tokens(session, row)
            log.info(
                "user %s disabled by %s: %d token(s) revoked",
                row.name,
                actor.name,
                revoked,
            )
            return revoked

    def ingest_clicks(self, path: Path) -> tuple[int, int, list[str]]:
        """Store the clicks of a JSON-lines click log; a click on a url malicious now
        raises a click alert event. Returns clicks stored, alerts raised, warnings."""
        clicks = read_clicks(path)
        intel = self.intel  # noqa: F841  (loaded before the session opens)
        with self.store.session() as session:
            ids = post_delivery.record_clicks(session, clicks.clicks, str(path))
            judge_url, _ = self._judges(session)
            raised = post_delivery.alert_clicks(session, judge_url, click_ids=ids)
        return len(ids), raised, clicks.warnings

    def poll_audit(self, names: list[str] | None = None) -> AuditSummary:
        """Pull new audit records from every connector that reads them (the
        Management Activity API), from where the last pull stopped."""
        summary = AuditSummary()
        for connector in self.connectors.values():
            if not connector.supports(Operation.AUDIT) or (
                names is not None and connector.name not in names
            ):
                continue
            with self.store.session() as session:
                row = session.get(m.SyncState, (connector.name, ""))
                state = dict(row.state) if row else {}
            try:
                for name, text, after in connector.fetch_audit(state):
                    if text:
                        self._store_audit(parse_audit(text, name), summary)
                    self._keep_state(connector.name, "", after)
            except ConnectorError as exc:
                summary.warnings.append(str(exc))
        return summary

    def _keep_state(self, connector: str, mailbox: str, state: dict[str, Any]) -> None:
        def save(session: Session) -> None:
            row = session.get(m.SyncState, (connector, mailbox))
            if row is None:
                row = m.SyncState(connector=connector, mailbox=mailbox)
                session.add(row)
            row.state, row.updated_at = state, utcnow()

        self.store.retrying(save)

    def ingest_audit(self, paths: Iterable[Path]) -> AuditSummary:
        """Store Microsoft 365 audit and Defender email records as events, each
        once however often it is ingested."""
        summary = AuditSummary()
        for path in paths:
            try:
                batch = read_audit(path)
            except OSError as exc:
                summary.warnings.append(f"{path}: cannot be read ({exc.strerror})")
                continue
            self._store_audit(batch, summary)
        return summary

    def _store_audit(self, batch: AuditBatch, summary: AuditSummary) -> None:
        """Store a batch of records, and the Sigma matches among them."""
        summary.warnings.extend(batch.warnings)
        summary.duplicates += batch.duplicates
        events = [_audit_event(r) for r in batch.records]
        rules, _ = self.sigma
        matches = [
            _sigma_event(rule, record, event)
            for record, event in zip(batch.records, events, strict=True)
            for rule in rules
            if rule.matches(record.raw)
        ]
        summary.sigma_matches += len(matches)
        events += matches

        def store(session: Session, events: list[Event] = events) -> int:
            known: set[str] = set()
            sources = [e.source for e in events]
            for start in range(0, len(sources), 500):
                known.update(
                    session.scalars(
                        select(m.EventRecord.source).where(
                            m.EventRecord.source.in_(sources[start : start + 500])
                        )
                    )
                )
            stored = 0
            for event in events:
                if event.source in known:
                    continue
                known.add(event.source)
                row = repo.save_event(session, event)
                stored += 1
                if event.type == post_delivery.CLICK_EVENT:
                    clicks.append(row.id)
            return stored

        clicks: list[int] = []
        stored = self.store.retrying(store)
        if clicks:
            # A click in the audit records is judged like one from a click log.
            self.intel  # noqa: B018  (loaded before the session opens)
            with self.store.session() as session:
                judge_url, _ = self._judges(session)
                summary.click_alerts += post_delivery.alert_clicks(
                    session, judge_url, click_ids=clicks
                )
        summary.records += len(batch.records)
        summary.stored += stored
        summary.already_known += len(events) - stored
        summary.counts.update(batch.counts)

    # -- manual investigations -------------------------------------------------------

    def investigate_query(
        self, query: ExploreQuery, *, by: str | Principal
    ) -> tuple[int, int]:
        """Investigate the messages of the explorer's matching copies, as an analyst
        does from the explorer: one investigation of up to ``MAX_MANUAL_MESSAGES``
        messages, newest first. Returns its id and how many messages matched."""
        with self.store.session() as session:
            person = self._require(session, by, Permission.INVESTIGATE)
            by = person.name
            conditions, _ = explorer.conditions_for(session, query)
            shas = list(
                session.scalars(
                    select(m.Copy.message_sha256)
                    .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
                    .where(*conditions)
                    .group_by(m.Copy.message_sha256)
                    .order_by(func.max(m.Copy.received_at).desc())
                    .limit(MAX_MANUAL_MESSAGES + 1)
                )
            )
            matched = len(shas)
            if matched > MAX_MANUAL_MESSAGES:
                matched = (
                    session.scalar(
                        select(func.count(func.distinct(m.Copy.message_sha256)))
                        .join(m.Message, m.Message.sha256 == m.Copy.message_sha256)
                        .where(*conditions)
                    )
                    or matched
                )
            if not shas:
                raise NotFoundError(
                    f"no delivered copy matches {query.describe()}; `heron explore` "
                    "with the same filters shows what the store holds"
                )
            taken = shas[:MAX_MANUAL_MESSAGES]
            investigation = repo.new_investigation(
                session,
                f"Manual investigation: {query.describe()[:200]}",
                MANUAL_EMAIL.name,
                "Investigation started",
                f"started by {by} from the explorer ({query.describe()}): "
                f"{len(taken)} message(s)"
                + (
                    f"; {matched} matched, the newest {MAX_MANUAL_MESSAGES} are taken"
                    if matched > len(taken)
                    else ""
                ),
                started_by=person,
            )
            for sha256 in taken:
                repo.add_entity(
                    session,
                    investigation.id,
                    EntityRef(EntityType.MESSAGE, sha256),
                    role="investigated",
                )
            investigation_id = investigation.id
        self._run_guarded(investigation_id)
        return investigation_id, matched

    # -- events to investigations --------------------------------------------------

    def process(self, progress: Progress | None = None) -> list[int]:
        """Turn every unprocessed event into alerts, then run the investigations they
        opened or joined. Returns the ids of the investigations that ran.

        Events are taken in order. When one would open a new investigation while
        another opened in the same pass has not run yet, the pass stops and the
        investigations run first: a later alert about the same campaign then finds
        the first one's clusters and indicators and joins it, so that a storm of
        reports ends as one investigation. Known cost: unrelated alerts arriving
        together open their investigations one pass at a time."""
        self.intel  # noqa: B018  (load feeds, and record a change, before any session)
        ran: list[int] = []
        while True:
            touched = self._dispatch_events()
            if not touched:
                return ran
            futures = [self.runner.submit(self._run_guarded, i) for i in touched]
            for future in futures:
                future.result()
                if progress:
                    progress(1)
            ran.extend(i for i in touched if i not in ran)

    def _dispatch_events(self) -> list[int]:
        touched: list[int] = []
        opened: set[int] = set()
        while True:
            with self.store.session() as session:
                # One indexed lookup per alerting type: a single query ordered by id
                # would walk the millions of delivery facts no policy alerts on.
                firsts = [
                    session.scalar(
                        select(func.min(m.EventRecord.id)).where(
                            m.EventRecord.type == kind,
                            m.EventRecord.processed_at.is_(None),
                        )
                    )
                    for kind in ALERTING_EVENTS
                ]
                waiting = [i for i in firsts if i is not None]
                event = session.get(m.EventRecord, min(waiting)) if waiting else None
                if event is None:
                    return touched
                policies = [
                    p
                    for p in policies_for(event.type, BUILTIN_POLICIES)
                    if self._applies(session, p, event)
                ] + self._sigma_policies(event)
                if opened and policies and self._would_open(session, event):
                    return touched
                for policy in policies:
                    folded = self._aggregated(session, policy, event)
                    if folded is not None:
                        # A further event of an alert: its investigation reads the
                        # mailbox and the records again.
                        if folded.investigation_id is not None:
                            case = session.get(m.Investigation, folded.investigation_id)
                            if case is not None and case.status in OPEN_STATUSES:
                                case.status = InvestigationStatus.QUEUED.value
                                if case.id not in touched:
                                    touched.append(case.id)
                        continue
                    if not policy.playbook:
                        self._record_alert(session, policy, event)
                        continue
                    investigation_id, new = self._raise_alert(session, policy, event)
                    if investigation_id is None:
                        continue
                    if new:
                        opened.add(investigation_id)
                    if investigation_id not in touched:
                        touched.append(investigation_id)
                event.processed_at = utcnow()

    def _sigma_policies(self, event: m.EventRecord) -> list[AlertPolicy]:
        """The Sigma rule behind a match, as a policy; it starts its playbook only
        about a mailbox (else the alert is recorded alone)."""
        if event.type != "sigma.match":
            return []
        mailbox = _event_entity(event, EntityType.MAILBOX)
        return [
            rule.policy
            if mailbox is not None and rule.policy.playbook in PLAYBOOKS
            else replace(rule.policy, playbook="")
            for rule in self.sigma[0]
            if rule.rule_id == event.payload.get("rule_id")
        ]

    def _applies(
        self, session: Session, policy: AlertPolicy, event: m.EventRecord
    ) -> bool:
        """Whether the event meets the policy's condition."""
        if not policy.condition:
            return True
        if event.type == "rule.changed":  # a scan raises it only for outside forwards
            return True
        fields = event.payload.get("fields", {})
        if policy.condition == "named":
            if event.type == policy.event_type and event.type != "alert.m365":
                return True  # heron's own finding of what Microsoft's alert names
            return str(fields.get("alert", "")).lower() == policy.name.lower()
        if policy.condition in ("zap_phish", "zap_malware"):
            if event.type == policy.event_type:  # heron's own finding after delivery
                return True
            wanted = "phish zap" if policy.condition == "zap_phish" else "malware zap"
            return str(fields.get("ActionType", "")).lower() == wanted
        if policy.condition == "clicked_through":
            through = fields.get("IsClickedThrough", fields.get("clicked_through"))
            return str(through).lower() in ("true", "1") or str(
                fields.get("ActionType", "")
            ) in ("ClickedThrough", "UrlClickedThrough")
        targets = [
            str(t)
            for key in ("forward_to", "redirect_to", "forward_as_attachment_to")
            for t in fields.get(key, []) or []
        ]
        if policy.condition == "forwards":
            return bool(targets)
        org = frozenset(self.org_domains(session))
        return any(is_outside(t, org) for t in targets)

    def _aggregated(
        self, session: Session, policy: AlertPolicy, event: m.EventRecord
    ) -> m.Alert | None:
        """Fold the event into an alert of the same policy about the same
        entities raised within the aggregation window; that alert, if any."""
        if not event.entities.get("items") or not policy.aggregates:
            return None
        since = utcnow() - self.settings.alert_aggregation
        earlier = session.scalars(
            select(m.Alert)
            .where(
                m.Alert.policy == policy.name,
                m.Alert.created_at >= since,
            )
            .order_by(m.Alert.id.desc())
            .limit(200)
        )
        key = sorted(map(tuple, event.entities.get("items", [])))
        for alert in earlier:
            if sorted(map(tuple, alert.entities.get("items", []))) == key:
                alert.count += 1
                return alert
        return None

    def _record_alert(
        self, session: Session, policy: AlertPolicy, event: m.EventRecord
    ) -> m.Alert:
        """An alert that starts no investigation (an informational policy)."""
        alert = m.Alert(
            policy=policy.name,
            name=policy.name,
            severity=policy.severity,
            category=policy.category,
            entities=event.entities,
            event_id=event.id,
        )
        session.add(alert)
        session.flush()
        return alert

    def _would_open(self, session: Session, event: m.EventRecord) -> bool:
        message = _event_message(event)
        if message is None:
            mailbox = _event_entity(event, EntityType.MAILBOX)
            return mailbox is not None and (
                self._open_mailbox_investigation(session, mailbox) is None
            )
        return self._open_investigation_for(session, message) is None

    def _raise_alert(
        self, session: Session, policy: AlertPolicy, event: m.EventRecord
    ) -> tuple[int | None, bool]:
        """The alert the policy raises for the event, in the investigation it opens
        or joins (None for an alert about no message); True when it is new."""
        entities = [
            EntityRef(EntityType(t), v) for t, v in event.entities.get("items", [])
        ]
        message = next((e for e in entities if e.type is EntityType.MESSAGE), None)
        alert = m.Alert(
            policy=policy.name,
            name=policy.name,
            severity=policy.severity,
            category=policy.category,
            entities=event.entities,
            event_id=event.id,
        )
        session.add(alert)
        if message is None and PLAYBOOKS[policy.playbook].subject == "mailbox":
            return self._raise_mailbox_alert(session, policy, event, alert)
        if message is None:
            # Known limit: an alert about no stored message (a click whose message
            # heron never saw) is recorded, but opens no investigation.
            session.flush()
            return None, False
        row = session.get(m.Message, message.value)
        subject = row.subject if row else ""
        joined = self._open_investigation_for(session, message)
        if joined is None:
            investigation = repo.new_investigation(
                session,
                f"{policy.name}: {subject[:120]!r}" if subject else policy.name,
                policy.playbook,
                "Alert received",
                f"{policy.name} ({policy.severity}) opened the investigation",
            )
        else:
            investigation, why = joined
            investigation.status = InvestigationStatus.QUEUED.value
            repo.add_log(
                session,
                investigation.id,
                "Alert merged",
                "completed",
                f"{policy.name} about message {message.value[:12]} joined the "
                f"investigation: {why}",
            )
        alert.investigation_id = investigation.id
        repo.add_entity(session, investigation.id, message, role="investigated")
        for entity in entities:
            if entity.type is EntityType.MESSAGE:
                continue
            reporter = (
                entity.type is EntityType.MAILBOX and event.type == "message.reported"
            )
            repo.add_entity(
                session,
                investigation.id,
                entity,
                role="reporter" if reporter else "related",
                parent=message,
            )
        session.flush()
        return investigation.id, joined is None

    def _raise_mailbox_alert(
        self,
        session: Session,
        policy: AlertPolicy,
        event: m.EventRecord,
        alert: m.Alert,
    ) -> tuple[int | None, bool]:
        """An alert about a mailbox's settings opens a mailbox investigation, or
        joins the open one about the same mailbox."""
        mailbox = _event_entity(event, EntityType.MAILBOX)
        if mailbox is None:
            session.flush()
            return None, False
        summary = str(event.payload.get("summary", ""))[:300]
        investigation = self._open_mailbox_investigation(session, mailbox)
        new = investigation is None
        if investigation is None:
            investigation = repo.new_investigation(
                session,
                f"{policy.name}: {mailbox.value}",
                policy.playbook,
                "Alert received",
                f"{policy.name} ({policy.severity}) opened the investigation: {summary}",
            )
        else:
            investigation.status = InvestigationStatus.QUEUED.value
            repo.add_log(
                session,
                investigation.id,
                "Alert merged",
                "completed",
                f"{policy.name} about {mailbox.value} joined the investigation: "
                f"{summary}",
            )
        alert.investigation_id = investigation.id
        repo.add_entity(session, investigation.id, mailbox, role="investigated")
        session.flush()
        return investigation.id, new

    def _open_mailbox_investigation(
        self, session: Session, mailbox: EntityRef
    ) -> m.Investigation | None:
        """The open mailbox investigation about this mailbox, within the merge window."""
        return session.scalar(
            select(m.Investigation)
            .join(
                m.InvestigationEntity,
                m.InvestigationEntity.investigation_id == m.Investigation.id,
            )
            .where(
                m.Investigation.playbook.in_(
                    [p.name for p in PLAYBOOKS.values() if p.subject == "mailbox"]
                ),
                m.Investigation.status.in_(OPEN_STATUSES),
                m.Investigation.created_at >= utcnow() - self.settings.merge_window,
                m.InvestigationEntity.key == row_key(mailbox.type.value, mailbox.value),
                m.InvestigationEntity.role == "investigated",
            )
            .order_by(m.Investigation.id)
            .limit(1)
        )

    def _open_investigation_for(
        self, session: Session, message: EntityRef
    ) -> tuple[m.Investigation, str] | None:
        """The open investigation, started within the merge window, that an alert
        about ``message`` joins, and why: it investigates the same message, holds a
        copy of it in one of its clusters, or judged one of its indicators (url,
        domain, file, sending ip) malicious or suspicious. A shared recipient or
        reporter alone joins nothing."""
        since = utcnow() - self.settings.merge_window
        same = repo.same_message(session, message.value)
        recent = [
            m.Investigation.created_at >= since,
            m.Investigation.status.in_(OPEN_STATUSES),
            # An analyst's manual investigation keeps the scope the analyst chose.
            m.Investigation.playbook != MANUAL_EMAIL.name,
        ]
        by_message = session.scalar(
            select(m.Investigation)
            .join(
                m.InvestigationEntity,
                m.InvestigationEntity.investigation_id == m.Investigation.id,
            )
            .where(
                m.InvestigationEntity.type == EntityType.MESSAGE.value,
                m.InvestigationEntity.value.in_(same),
                m.InvestigationEntity.role == "investigated",
                *recent,
            )
            .order_by(m.Investigation.id)
            .limit(1)
        )
        if by_message is not None:
            return by_message, "it concerns the same message"
        by_cluster = session.execute(
            select(m.Investigation, m.Cluster)
            .join(m.Cluster, m.Cluster.investigation_id == m.Investigation.id)
            .join(m.ClusterMember, m.ClusterMember.cluster_id == m.Cluster.id)
            .where(
                m.ClusterMember.message_sha256.in_(same),
                # A looser cluster (sender domain, sending ip, subject) joins only
                # once it is judged a threat: a mailing list's relay or a common
                # subject carries unrelated mail.
                or_(
                    m.Cluster.key.in_(clusters.CONTENT_KEYS),
                    m.Cluster.kind == clusters.INDICATOR,
                    m.Cluster.verdict.in_(
                        (Verdict.MALICIOUS.value, Verdict.SUSPICIOUS.value)
                    ),
                ),
                *recent,
            )
            .order_by(m.Investigation.id, m.Cluster.id)
            .limit(1)
        ).first()
        if by_cluster is not None:
            investigation, cluster = by_cluster
            return investigation, (
                f"a copy of it is in cluster {cluster.id} ({cluster.key} "
                f"{cluster.value[:80]})"
            )
        indicators = self._indicators_of(session, message.value)
        if not indicators:
            return None
        by_indicator = session.execute(
            select(m.Investigation, m.InvestigationEntity)
            .join(
                m.InvestigationEntity,
                m.InvestigationEntity.investigation_id == m.Investigation.id,
            )
            .where(
                m.InvestigationEntity.key.in_(
                    sorted(row_key(e.type.value, e.value) for e in indicators)
                ),
                m.InvestigationEntity.verdict.in_(
                    (Verdict.MALICIOUS.value, Verdict.SUSPICIOUS.value)
                ),
                *recent,
            )
            .order_by(m.Investigation.id)
            .limit(1)
        ).first()
        if by_indicator is not None:
            investigation, entity = by_indicator
            return investigation, (
                f"it carries the {entity.type} {entity.value[:100]}, judged "
                f"{entity.verdict} there"
            )
        return None

    def _indicators_of(self, session: Session, sha256: str) -> set[EntityRef]:
        """The message's urls, domains, files and sending ip, from the index. Domains
        many unrelated senders share (free mailboxes, free hosting, file sharing,
        shorteners, the organisation's own) are left out: judging one of them
        suspicious must not pull every message naming it into one case."""
        row = session.get(m.Message, sha256)
        if row is None:
            return set()
        found: set[EntityRef] = set()
        hosts = {row.from_domain} if row.from_domain else set()
        for url in session.scalars(
            select(m.MessageUrl.url).where(m.MessageUrl.message_sha256 == sha256)
        ):
            found.add(EntityRef(EntityType.URL, url))
            host = url_host(url)
            if host:
                hosts.add(host)
        lists = self.host_lists()
        shared = {organisational_domain(d) for d in self.org_domains(session)}
        for host in hosts:
            org = organisational_domain(host)
            if org in FREEMAIL or org in shared or lists.shared(host):
                continue
            found.add(EntityRef(EntityType.DOMAIN, host))
        for file_hash in session.scalars(
            select(m.MessageFile.sha256).where(m.MessageFile.message_sha256 == sha256)
        ):
            if file_hash != clusters.EMPTY_SHA256:  # every empty attachment's hash
                found.add(EntityRef(EntityType.FILE, file_hash))
        if row.sending_ip:
            found.add(EntityRef(EntityType.IP, row.sending_ip))
        return found

    # -- running an investigation --------------------------------------------------

    def _run_guarded(self, investigation_id: int) -> None:
        try:
            self.run_investigation(investigation_id)
            self.automate(investigation_id)
        except Exception as exc:
            log.exception("investigation %s failed", investigation_id)
            with self.store.session() as session:
                investigation = session.get(m.Investigation, investigation_id)
                if investigation is not None:
                    investigation.status = InvestigationStatus.FAILED.value
                    investigation.updated_at = utcnow()
                    repo.add_log(
                        session,
                        investigation_id,
                        "Investigation",
                        "failed",
                        f"{type(exc).__name__}: {exc}",
                    )
                    self.publish(session, investigation_id)

    def run_investigation(self, investigation_id: int) -> None:
        """Run the playbook over the investigation's messages, then decide verdicts,
        find copies and propose actions. Safe to run again: nothing is recorded twice."""
        self.intel  # noqa: B018  (loading may write an event: never inside a session)
        with self.store.session() as session:
            investigation = _investigation(session, investigation_id)
            playbook = PLAYBOOKS[investigation.playbook]
            investigation.status = InvestigationStatus.RUNNING.value
            investigation.updated_at = utcnow()
            self.publish(session, investigation_id)
            messages = _investigated(session, investigation_id)
            lookups = self.lookups(session)
        if playbook.subject == "mailbox":
            mailbox_settings.investigate(self, investigation_id)
            return
        loaded = [
            (ref, facts)
            for ref, facts in (self._load(ref) for ref in messages)
            if facts
        ]
        gone = [ref for ref in messages if ref not in {r for r, _ in loaded}]
        if gone:
            with self.store.session() as session:
                repo.add_log(
                    session,
                    investigation_id,
                    "Read messages",
                    "failed",
                    f"{len(gone)} message(s) cannot be examined: retention purged "
                    "their raw bytes (their facts and copies remain in the explorer)",
                )
        # Investigations are the runner's tasks; their steps run inside them.
        runs = run_steps(playbook, loaded, lookups)

        def record(session: Session) -> None:
            self._record_runs(session, investigation_id, runs, loaded)
            verdicts = self._decide_verdicts(session, investigation_id, loaded)
            self._index_verdicts(session, investigation_id, loaded, verdicts)
            self._find_copies(session, investigation_id, loaded)
            built = self._build_clusters(session, investigation_id, loaded, verdicts)
            if self._cluster_findings(
                session, investigation_id, loaded, verdicts, built
            ):
                before = {ref: verdicts[ref].verdict for ref, _ in loaded}
                verdicts = self._decide_verdicts(session, investigation_id, loaded)
                self._index_verdicts(session, investigation_id, loaded, verdicts)
                if any(verdicts[ref].verdict is not v for ref, v in before.items()):
                    # A cluster changed what a message is: the clusters that follow
                    # the messages' verdicts run again.
                    built = self._build_clusters(
                        session, investigation_id, loaded, verdicts, built
                    )
            self._propagate(session, investigation_id, built, loaded, verdicts)
            self._propose_actions(session, investigation_id, loaded, verdicts, built)
            self.settle(session, investigation_id)

        # Another worker may be recording the same investigation; every write is keyed,
        # so running the recording again after a clash adds only what is missing.
        self.store.retrying(record)

    def _load(self, ref: EntityRef) -> tuple[EntityRef, MessageFacts | None]:
        try:
            raw = self.store.blobs.get(ref.value)
        except NotFoundError:
            return ref, None  # retention purged its bytes; the run logs it
        facts = parse_message(raw, self.limits)
        if self.records is not None:
            facts = replace(facts, verification=verify(raw, facts, self.records))
        with self.store.session() as session:
            facts = replace(facts, history=repo.sender_history(session, facts))
        return ref, facts

    def _record_runs(
        self,
        session: Session,
        investigation_id: int,
        runs: list[StepRun],
        loaded: list[tuple[EntityRef, MessageFacts]],
    ) -> None:
        for ref, facts in loaded:
            for warning in facts.all_warnings():
                repo.add_warning(
                    session,
                    investigation_id,
                    f"message {ref.value[:12]}",
                    warning.code,
                    warning.where,
                    warning.message,
                )
        for run in runs:
            repo.add_findings(session, investigation_id, run.result.findings)
            repo.add_entities(session, investigation_id, run.result.entities)
            label = (
                run.step.name
                if len(loaded) == 1
                else f"{run.step.name} ({run.message.value[:12]})"
            )
            repo.add_log(
                session,
                investigation_id,
                label,
                run.result.status.value,
                run.result.summary,
                started_at=run.started_at,
                ended_at=run.ended_at,
                findings_count=len(run.result.findings),
            )

    def _decide_verdicts(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
    ) -> dict[EntityRef, EntityVerdict]:
        started = utcnow()
        by_entity: dict[EntityRef, list[Finding]] = {}
        for finding in _findings(session, investigation_id):
            by_entity.setdefault(finding.entity, []).append(finding)
        rows = session.scalars(
            select(m.InvestigationEntity).where(
                m.InvestigationEntity.investigation_id == investigation_id
            )
        ).all()
        verdicts: dict[EntityRef, EntityVerdict] = {}
        for row in rows:
            ref = EntityRef(EntityType(row.type), row.value)
            if ref.type is not EntityType.MESSAGE:
                verdicts[ref] = scoring.entity_verdict(
                    ref, by_entity.get(ref, []), self.weights
                )
        for ref, facts in loaded:
            carried = {
                e: verdicts[e] for e, _ in message_entities(facts, ref) if e in verdicts
            }
            scope = [f for e in (ref, *carried) for f in by_entity.get(e, [])]
            verdicts[ref] = scoring.message_verdict(ref, scope, carried, self.weights)
        for row in rows:
            ref = EntityRef(EntityType(row.type), row.value)
            if ref in verdicts:
                row.verdict = verdicts[ref].verdict.value
                row.reasons = self._reasons(verdicts[ref])
        overall = worst([verdicts[ref].verdict for ref, _ in loaded])
        investigation = _investigation(session, investigation_id)
        investigation.verdict = overall.value
        deciding = [
            verdicts[ref] for ref, _ in loaded if verdicts[ref].verdict is overall
        ]
        investigation.reasons = self._reasons(*deciding)
        threats = sum(1 for v in verdicts.values() if v.verdict.is_threat)
        repo.add_log(
            session,
            investigation_id,
            "Decide verdicts",
            "completed",
            f"investigation verdict {overall.value}; {threats} entities judged threats",
            started_at=started,
        )
        return verdicts

    def _index_verdicts(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
        verdicts: dict[EntityRef, EntityVerdict],
    ) -> None:
        """Write each investigated message's verdict and threats into the index: the
        latest judgement of a message is what clusters and the explorer see."""
        for ref, _ in loaded:
            row = session.get(m.Message, ref.value)
            if row is None:
                continue
            verdict = verdicts[ref]
            row.verdict = verdict.verdict.value
            row.threats = threat_names(verdict)
            row.verdict_source = f"investigation {investigation_id}"

    def _cluster_rules(self) -> clusters.Rules:
        return clusters.Rules(
            lookback=self.settings.cluster_lookback,
            malicious_share=self.settings.cluster_malicious_share,
            max_members=self.settings.cluster_max_members,
            baseline_days=self.settings.volume_baseline_days,
            excluded=self.settings.excluded_mailboxes,
        )

    def _build_clusters(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
        verdicts: dict[EntityRef, EntityVerdict],
        earlier: list[clusters.Built] | None = None,
    ) -> list[clusters.Built]:
        """Build (or run again) the clusters of the investigated messages; with
        ``earlier`` (this run's clusters, before a verdict changed), only decide
        their verdicts again over the members they found.

        Indicator clusters come first, then the clusters following each message's
        content (its copies, near-duplicate bodies), then the looser ones, which count
        what the earlier ones found malicious. A message already in a content cluster
        of an earlier investigated message (a variant of the campaign that joined
        later) gets no similarity clusters of its own: the earlier ones hold it, so a
        campaign keeps one set of clusters however many reports it draws."""
        started = utcnow()
        rules = self._cluster_rules()
        org = self.org_domains(session)
        known_bad: set[int] = set()
        done: set[str] = set()
        built: list[clusters.Built] = []

        owns: dict[str, frozenset[str]] = {}
        found_before = {c.row.ident: c for c in earlier or []}

        def run(spec: clusters.Spec, since: datetime, ref: EntityRef) -> None:
            if spec.ident in done:
                return
            done.add(spec.ident)
            if spec.ident in found_before:
                cluster = clusters.rejudge(
                    found_before[spec.ident],
                    spec,
                    rules,
                    original=verdicts[ref].verdict,
                    known_bad=known_bad,
                    own=owns[ref.value],
                )
            else:
                cluster = clusters.run(
                    session,
                    investigation_id,
                    spec,
                    replace(spec.query, since=since),
                    rules,
                    source_message=ref.value,
                    original=verdicts[ref].verdict,
                    known_bad=known_bad,
                    own=owns[ref.value],
                )
            if cluster.row.verdict == Verdict.MALICIOUS.value:
                known_bad.update(cluster.malicious)
            built.append(cluster)

        planned = []
        for ref, facts in loaded:
            row = session.get(m.Message, ref.value)
            if row is None:
                continue
            same = repo.same_message(session, ref.value)
            owns[ref.value] = frozenset(same)
            judged = [
                entity
                for entity, _ in message_entities(facts, ref)
                if entity.type in (EntityType.URL, EntityType.FILE)
                and entity in verdicts
                and verdicts[entity].verdict is Verdict.MALICIOUS
            ]
            since = clusters.anchor(session, same, row.first_seen_at) - rules.lookback
            specs = clusters.specs_for(row, same, judged, org, rules.excluded)
            planned.append((ref, since, specs))
        for ref, since, specs in planned:
            for spec in specs:
                if spec.kind == clusters.INDICATOR:
                    run(spec, since, ref)
        covered: set[str] = set()
        held = []
        for ref, since, specs in planned:
            if ref.value in covered:
                held.append(ref)
                continue
            for spec in specs:
                if spec.key in clusters.CONTENT_KEYS:
                    run(spec, since, ref)
            covered.update(
                member.message
                for cluster in built
                if cluster.row.key in clusters.CONTENT_KEYS
                for member in cluster.members
            )
            covered.add(ref.value)
        for ref, since, specs in planned:
            if ref in held:
                continue
            for spec in specs:
                if (
                    spec.kind != clusters.INDICATOR
                    and spec.key not in clusters.CONTENT_KEYS
                ):
                    run(spec, since, ref)
        malicious = [c for c in built if c.row.verdict == Verdict.MALICIOUS.value]
        notes = [
            f"{len(built)} cluster(s), {len(malicious)} malicious, holding "
            f"{len(known_bad)} malicious cop{'y' if len(known_bad) == 1 else 'ies'}"
        ]
        if held:
            notes.append(
                f"{len(held)} investigated message(s) already in a content cluster of "
                "an earlier one get no clusters of their own"
            )
        if rules.excluded:
            notes.append(
                f"leaving out {len(rules.excluded)} security and simulation mailbox(es)"
            )
        repo.add_log(
            session,
            investigation_id,
            "Build clusters",
            "completed" if built else "nothing found",
            "; ".join(notes),
            started_at=started,
        )
        return built

    def _cluster_findings(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
        verdicts: dict[EntityRef, EntityVerdict],
        built: list[clusters.Built],
    ) -> int:
        """Findings the clusters make about the messages they were built from: a
        malicious cluster the message belongs to, and a burst of copies. Returns how
        many findings are new."""
        refs = {ref.value: ref for ref, _ in loaded}
        findings = []
        for cluster in built:
            row = cluster.row
            ref = refs.get(row.source_message)
            if ref is None:
                continue
            if (
                row.verdict == Verdict.MALICIOUS.value
                and verdicts[ref].verdict is not Verdict.MALICIOUS
                and row.kind == clusters.SIMILARITY
                and row.key not in clusters.CONTENT_KEYS
            ):
                findings.append(
                    Finding(
                        clusters.NAME,
                        ref,
                        "in-malicious-cluster",
                        Severity.HIGH,
                        f"the message belongs to the malicious cluster of its "
                        f"{row.key.replace('_', ' ')} {row.value[:80]}: {row.reason}",
                        {"cluster": row.id, "copies": row.copies},
                    )
                )
            if cluster.volume_anomaly:
                volume = row.counts.get("volume", {})
                findings.append(
                    Finding(
                        clusters.NAME,
                        ref,
                        "volume-anomaly",
                        Severity.LOW,
                        f"{volume.get('last_day')} copies of its "
                        f"{row.key.replace('_', ' ')} cluster arrived in one day, "
                        f"against {volume.get('baseline_daily_mean')} a day over the "
                        f"{volume.get('baseline_days')} days before",
                        {"cluster": row.id, **volume},
                    )
                )
        return repo.add_findings(session, investigation_id, findings)

    def _propagate(
        self,
        session: Session,
        investigation_id: int,
        built: list[clusters.Built],
        loaded: list[tuple[EntityRef, MessageFacts]],
        verdicts: dict[EntityRef, EntityVerdict],
    ) -> None:
        """A malicious cluster's verdict reaches the messages of all its members."""
        threats = sorted(
            {name for ref, _ in loaded for name in threat_names(verdicts[ref])}
        ) or ["phish"]
        changed = sum(
            clusters.propagate(session, c.row, threats)
            for c in built
            if c.row.verdict == Verdict.MALICIOUS.value
        )
        if changed:
            repo.add_log(
                session,
                investigation_id,
                "Propagate cluster verdicts",
                "completed",
                f"{changed} message(s) in malicious clusters marked malicious",
            )

    def _find_copies(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
    ) -> None:
        started = utcnow()
        total = 0
        for ref, _ in loaded:
            for copy in repo.copies_of(session, ref.value):
                total += 1
                repo.add_entity(
                    session,
                    investigation_id,
                    EntityRef(EntityType.MAILBOX, copy.mailbox),
                    role="recipient",
                    parent=ref,
                )
        repo.add_log(
            session,
            investigation_id,
            "Find copies in the organisation",
            "completed" if total else "nothing found",
            f"{total} cop{'y' if total == 1 else 'ies'} in mailboxes heron knows",
            started_at=started,
        )

    def _propose_actions(
        self,
        session: Session,
        investigation_id: int,
        loaded: list[tuple[EntityRef, MessageFacts]],
        verdicts: dict[EntityRef, EntityVerdict],
        built: list[clusters.Built],
    ) -> None:
        """One soft delete per malicious cluster, for its copies still in mailboxes,
        and a block of each malicious message's outside sender."""
        started = utcnow()
        expires_at = utcnow() + self.settings.action_expiry
        proposed = 0
        notes: list[str] = []
        # Known limit: a run that no longer finds a message malicious (after new
        # weights or a changed list) leaves the actions proposed earlier pending for
        # a person to reject; withdrawing them needs a status of its own.
        reaches: dict[str, bool] = {}
        for cluster in built:
            if cluster.row.verdict == Verdict.MALICIOUS.value:
                proposed += self._propose_cluster_delete(
                    session, investigation_id, cluster, expires_at, notes, reaches
                )
        for ref, facts in loaded:
            verdict = verdicts[ref]
            if verdict.verdict is not Verdict.MALICIOUS:
                continue
            reason = "; ".join(f.summary for f in verdict.reasons[:3])
            proposed += self._propose_block(
                session, investigation_id, facts, reason, expires_at, notes
            )
        summary = (
            f"{proposed} action(s) proposed, awaiting approval"
            if proposed
            else "no remediation proposed"
        )
        repo.add_log(
            session,
            investigation_id,
            "Propose actions",
            "completed" if proposed else "nothing found",
            "; ".join([summary, *notes]),
            started_at=started,
        )

    def _reachable(
        self, session: Session, members: list[Member], reaches: dict[str, bool]
    ) -> tuple[list[int], list[int], list[str]]:
        """Member copies a connector can act on, those no longer in a mailbox
        (prevented), and the mailboxes holding a copy no connector reaches."""
        reachable, prevented, unreached = [], [], set()
        unknown = sorted({c.mailbox for c in members} - set(reaches))
        for start in range(0, len(unknown), 500):
            for mailbox in session.scalars(
                select(m.Mailbox).where(
                    m.Mailbox.address.in_(unknown[start : start + 500])
                )
            ):
                connector = self._connector_of(mailbox)
                reaches[mailbox.address] = connector is not None and (
                    connector.supports(Operation.SOFT_DELETE)
                )
        for member in members:
            if not Location(member.location).in_mailbox:
                prevented.append(member.copy_id)
                continue
            if member.mailbox not in reaches:
                reaches[member.mailbox] = False
            if reaches[member.mailbox]:
                reachable.append(member.copy_id)
            else:
                unreached.add(member.mailbox)
        return reachable, prevented, sorted(unreached)

    def _propose_cluster_delete(
        self,
        session: Session,
        investigation_id: int,
        cluster: clusters.Built,
        expires_at: datetime,
        notes: list[str],
        reaches: dict[str, bool],
    ) -> int:
        row = cluster.row
        reachable, prevented, unreached = self._reachable(
            session, cluster.members, reaches
        )
        label = f"{row.kind} cluster {row.id} ({row.key} {row.value[:80]})"
        if unreached:
            message = (
                f"{label}: no connector reaches {len(unreached)} mailbox(es) holding "
                "a copy: " + ", ".join(unreached[:10])
            )
            notes.append(message)
            repo.add_warning(
                session, investigation_id, "actions", "no-connector", label, message
            )
        if prevented:
            notes.append(
                f"{label}: {len(prevented)} of its copies are no longer in a mailbox "
                "(prevented)"
            )
        if not reachable:
            return 0
        action, new = repo.propose_action(
            session,
            investigation_id,
            "soft_delete",
            EntityType.CLUSTER.value,
            f"#{row.id} {row.key} {row.value[:200]}",
            reason=f"{label} is malicious: {row.reason}",
            params={"cluster_id": row.id, "copies": reachable, "prevented": prevented},
            expires_at=expires_at,
        )
        if not new and action.status == ActionStatus.PENDING.value:
            # The cluster ran again: the pending action covers what it holds now.
            action.params = {
                **action.params,
                "copies": reachable,
                "prevented": prevented,
            }
        return int(new)

    def _propose_block(
        self,
        session: Session,
        investigation_id: int,
        facts: MessageFacts,
        reason: str,
        expires_at: datetime,
        notes: list[str],
    ) -> int:
        if facts.from_ is None or not facts.from_.address:
            return 0
        org = {organisational_domain(d) for d in self.org_domains(session)}
        if organisational_domain(facts.from_.domain) in org:
            return (
                0  # never block the organisation itself: its own mail, or a spoof of it
            )
        try:
            ListEntry("sender", facts.from_.address, "block")
        except ValueError:
            notes.append(f"{facts.from_.address} cannot be blocked: not a mail address")
            return 0
        match = self.org_lists(session).match_sender(facts.from_.address)
        if match is not None and match.list == "allow":
            notes.append(
                f"block of {facts.from_.address} not proposed: the allow list holds "
                f"{match.kind} {match.value}"
            )
            return 0
        standing = repo.standing_action(
            session, "block_sender", facts.from_.address, besides=investigation_id
        )
        if standing is not None:
            notes.append(
                f"block of {facts.from_.address} not proposed again: action "
                f"{standing.id} of investigation {standing.investigation_id} "
                f"is {standing.status}"
            )
            return 0
        _, new = repo.propose_action(
            session,
            investigation_id,
            "block_sender",
            EntityType.SENDER.value,
            facts.from_.address,
            reason=reason,
            params={},
            expires_at=expires_at,
        )
        return int(new)

    # -- actions -------------------------------------------------------------------

    def person(self, session: Session, by: str | Principal) -> Principal:
        """The active heron user named ``by``, with the role the store holds for them
        (never the role a caller claims)."""
        if isinstance(by, Principal) and not by.is_person:
            raise PermissionDenied(f"{by.label} is not a person")
        name = by.name if isinstance(by, Principal) else by
        found = users.by_name(session, name)
        if found is None:
            raise PermissionDenied(
                f"{name[:80]!r} is not an active heron user; an admin adds people with "
                "`heron users add NAME --role ROLE`"
            )
        return found

    def _require(
        self, session: Session, by: str | Principal, permission: Permission
    ) -> Principal:
        person = self.person(session, by)
        if not person.may(permission):
            raise PermissionDenied(
                f"{person.name} ({person.role.value}) may not {permission.value}"
            )
        return person

    def approve(
        self, action_id: int, *, by: str | Principal, comment: str = ""
    ) -> m.Action:
        """Approve a pending action, then execute and verify it."""
        with self.store.session() as session:
            person = self.person(session, by)
            action = actions.decide(
                session,
                action_id,
                approval.Decision(True, person, self.settings.two_person_rule),
                comment=comment,
            )
            self.settle(session, action.investigation_id, actor=person)
        return self.execute(action.id)

    def decide_all(
        self,
        investigation_id: int,
        action_type: str,
        *,
        approve: bool,
        by: str | Principal,
        comment: str = "",
    ) -> list[tuple[int, str]]:
        """Approve or reject every pending action of one type in an investigation;
        returns each action's id with its outcome (its status, or why not)."""
        if action_type not in ACTION_TYPES:
            raise NotFoundError(
                f"no action type {action_type[:40]!r}; known: "
                f"{', '.join(sorted(ACTION_TYPES))}"
            )
        with self.store.session() as session:
            _investigation(session, investigation_id)
            self.person(session, by)
            ids = list(
                session.scalars(
                    select(m.Action.id).where(
                        m.Action.investigation_id == investigation_id,
                        m.Action.type == action_type,
                        m.Action.status == ActionStatus.PENDING.value,
                    )
                )
            )
        outcomes: list[tuple[int, str]] = []
        for action_id in ids:
            try:
                done = (
                    self.approve(action_id, by=by, comment=comment)
                    if approve
                    else self.reject(action_id, by=by, comment=comment)
                )
                outcomes.append((action_id, done.status))
            except PermissionDenied as exc:  # this one only (purge, two-person rule)
                outcomes.append((action_id, f"refused: {exc}"))
            except ActionError as exc:
                outcomes.append((action_id, f"not decided: {exc}"))
        return outcomes

    def automate(self, investigation_id: int) -> list[int]:
        """Approve and run the investigation's pending actions an automation rule
        covers; returns the ids approved."""
        done: list[int] = []
        with self.store.session() as session:
            pending = session.scalars(
                select(m.Action).where(
                    m.Action.investigation_id == investigation_id,
                    m.Action.status == ActionStatus.PENDING.value,
                )
            ).all()
            rules = {a.type: approval.rule_for(session, a.type) for a in pending}
            chosen = [
                (a.id, rules[a.type])
                for a in pending
                if not rules[a.type].refusal(session, a)
            ]
        for action_id, rule in chosen:
            principal = automation(rule.action_type)
            try:
                with self.store.session() as session:
                    action = actions.decide(
                        session,
                        action_id,
                        approval.Decision(True, principal, rule=rule),
                        comment=f"automatic: rule for {rule.action_type}",
                    )
                    self.settle(session, action.investigation_id, actor=principal)
            except ActionError as exc:
                log.info("action %s not automated: %s", action_id, exc)
                continue
            self.execute(action_id)
            done.append(action_id)
        return done

    def set_automation(
        self,
        action_type: str,
        level: str,
        limits: dict[str, Any],
        *,
        by: str | Principal,
    ) -> approval.Rule:
        """Set the automation level of one action type (admins only)."""
        with self.store.session() as session:
            person = self._require(session, by, Permission.ADMINISTER)
            rule = approval.Rule.parse(action_type, level, limits)
            row = session.get(m.AutomationRule, action_type)
            if row is None:
                row = m.AutomationRule(action_type=action_type, limits={})
                session.add(row)
            row.level, row.limits = rule.level.value, rule.limits
            row.updated_by, row.updated_at = person.name, utcnow()
            trail.append(
                session,
                person,
                "automation.set",
                "automation_rule",
                action_type,
                detail=rule.view(),
            )
            return approval.Rule.from_row(row)

    def comment(self, investigation_id: int, text: str, *, by: str | Principal) -> None:
        with self.store.session() as session:
            person = self._require(session, by, Permission.COMMENT)
            _investigation(session, investigation_id)
            repo.add_log(
                session,
                investigation_id,
                "Comment",
                "completed",
                f"{person.name}: {text}",
            )
            trail.append(
                session,
                person,
                "investigation.commented",
                "investigation",
                investigation_id,
                investigation_id=investigation_id,
                detail={"comment": text[:4000]},
            )

    def _reach(self, session: Session) -> actions.Reach:
        return actions.Reach(
            connector_for=self.connector_for,
            blockers=registry.with_operation(self.connectors, Operation.BLOCK_SENDER),
            org_domains=frozenset(self.org_domains(session)),
            checkpoint=session.commit,
        )

    def scan_mailboxes(
        self, mailboxes: list[str] | None = None
    ) -> mailbox_settings.ScanSummary:
        """Read forwarding rules and delegations of every reachable mailbox and raise
        events for what is new; ``process`` turns them into alerts."""
        problems, _ = self._register({})
        summary = mailbox_settings.scan(self, mailboxes)
        summary.errors[:0] = problems
        return summary

    def propose_block_domain(
        self, investigation_id: int, domain: str, *, by: str | Principal
    ) -> m.Action:
        """Propose blocking every sender of a domain. Refused for the organisation's
        own domains and for domains many unrelated senders share (free mail, free
        hosting, file sharing, shorteners): blocking one refuses everyone's mail."""
        try:
            entry = ListEntry("domain", domain, "block")
        except ValueError as exc:
            raise InvalidInput(f"{domain[:100]!r} cannot be blocked: {exc}") from None
        with self.store.session() as session:
            person = self._require(session, by, Permission.PROPOSE)
            by = person.name
            _investigation(session, investigation_id)
            org = organisational_domain(entry.value)
            own = {organisational_domain(d) for d in self.org_domains(session)}
            if org in own:
                raise ActionError(f"{entry.value} is the organisation's own domain")
            if is_public_suffix(entry.value):
                raise ActionError(
                    f"{entry.value} is a public suffix: anyone registers names under "
                    "it; block a domain under it instead"
                )
            if org in FREEMAIL or self.host_lists().shared(entry.value):
                raise ActionError(
                    f"{entry.value} is shared by unrelated senders (free mail or "
                    "hosting); block the sender instead"
                )
            action, new = repo.propose_action(
                session,
                investigation_id,
                "block_domain",
                EntityType.DOMAIN.value,
                entry.value,
                reason=f"proposed by {by}",
                params={},
                expires_at=utcnow() + self.settings.action_expiry,
                proposed_by=person,
            )
            _already_decided(action, new)
            if new:
                repo.add_log(
                    session,
                    investigation_id,
                    "Propose actions",
                    "completed",
                    f"block of the domain {entry.value} proposed by {by} "
                    f"(action {action.id})",
                )
            self.settle(session, investigation_id, actor=person)
            return action

    def propose_hard_delete(self, action_id: int, *, by: str | Principal) -> m.Action:
        """Propose deleting for good the copies a soft delete or move covers. It
        needs the purge permission to approve, and cannot be undone."""
        with self.store.session() as session:
            person = self._require(session, by, Permission.PROPOSE)
            by = person.name
            source = actions.get_action(session, action_id)
            if source.type not in ("soft_delete", "move_to_junk"):
                raise ActionError(
                    f"action {action_id} is a {source.type}; a hard delete follows a "
                    "soft delete or a move to junk"
                )
            if source.status not in ("pending", "approved", "completed", "partial"):
                raise ActionError(
                    f"action {action_id} is {source.status}; a hard delete follows a "
                    "soft delete that is pending, approved or done"
                )
            copies = list(source.params.get("copies", []))
            action, new = repo.propose_action(
                session,
                source.investigation_id,
                "hard_delete",
                source.target_type,
                source.target,
                reason=f"proposed by {by} after action {action_id}",
                params={"copies": copies, "after": action_id},
                expires_at=utcnow() + self.settings.action_expiry,
                proposed_by=person,
            )
            _already_decided(action, new)
            if new:
                repo.add_log(
                    session,
                    source.investigation_id,
                    "Propose actions",
                    "completed",
                    f"hard delete of {len(copies)} cop(ies) proposed by {by} "
                    f"(action {action.id}); approving it needs the purge permission",
                )
            self.settle(session, source.investigation_id, actor=person)
            return action

    def reject(
        self, action_id: int, *, by: str | Principal, comment: str = ""
    ) -> m.Action:
        with self.store.session() as session:
            person = self.person(session, by)
            action = actions.decide(
                session,
                action_id,
                approval.Decision(False, person, self.settings.two_person_rule),
                comment=comment,
            )
            self.settle(session, action.investigation_id, actor=person)
        return action

    def execute(self, action_id: int) -> m.Action:
        """Run an approved action (again, after an interruption) and settle its case.

        An approved soft delete of a cluster runs the cluster's query again first:
        copies that left the mailboxes since are dropped and counted as remediated,
        copies that arrived since are added."""
        try:
            with self.store.session() as session:
                action = actions.get_action(session, action_id)
                if (
                    action.status == ActionStatus.APPROVED.value
                    and action.params.get("cluster_id")
                    and not action.result.get("targets")
                ):
                    self._refresh_cluster_action(session, action)
        except (TypeError, KeyError, ValueError) as exc:
            # Parameters no proposal writes: execution below fails the action and
            # says why; the refresh is skipped.
            log.warning("action %s: cluster not refreshed: %s", action_id, exc)
        with self.store.session() as session:
            action = actions.execute(session, action_id, self._reach(session))
            self.settle(session, action.investigation_id)
        return action

    def rerun_cluster(self, cluster_id: int) -> dict[str, Any]:
        """Run a stored cluster's query again; its view shows what changed."""
        with self.store.session() as session:
            row = session.get(m.Cluster, cluster_id)
            if row is None:
                raise NotFoundError(
                    f"no cluster {cluster_id}; `heron clusters list INVESTIGATION` "
                    "shows them"
                )
            cluster = self._run_again(session, row)
            repo.add_log(
                session,
                row.investigation_id,
                "Run cluster again",
                "completed",
                f"cluster {row.id} ({row.key} {row.value[:80]}): {row.copies} copies, "
                f"{row.last_diff.get('added', 0)} added, "
                f"{row.last_diff.get('removed', 0)} removed since the last run",
            )
            return clusters.view(cluster.row)

    def _run_again(self, session: Session, row: m.Cluster) -> clusters.Built:
        """The stored cluster run again with its stored query. Its members' messages
        carry the verdicts propagated to them, so the rule finds what it found."""
        spec = clusters.Spec(row.kind, row.key, row.value, ExploreQuery())
        # What the investigation's other malicious clusters hold counts as known
        # malicious, as it did when the cluster was built.
        known_bad = set(
            session.scalars(
                select(m.ClusterMember.copy_id)
                .join(m.Cluster, m.Cluster.id == m.ClusterMember.cluster_id)
                .where(
                    m.Cluster.investigation_id == row.investigation_id,
                    m.Cluster.id != row.id,
                    m.Cluster.verdict == Verdict.MALICIOUS.value,
                )
            )
        )
        return clusters.run(
            session,
            row.investigation_id,
            spec,
            ExploreQuery.from_dict(row.query),
            self._cluster_rules(),
            source_message=row.source_message,
            original=Verdict(row.verdict),
            known_bad=known_bad,
            own=frozenset(repo.same_message(session, row.source_message)),
        )

    def _refresh_cluster_action(self, session: Session, action: m.Action) -> None:
        row = session.get(m.Cluster, action.params["cluster_id"])
        if row is None:
            return
        cluster = self._run_again(session, row)
        reachable, prevented, unreached = self._reachable(session, cluster.members, {})
        approved = set(action.params.get("copies", []))
        gone = approved - set(reachable)
        added = set(reachable) - approved
        action.params = {
            **action.params,
            "copies": reachable,
            "prevented": prevented,
            "gone": sorted(gone),
            "before_execution": {
                "gone": len(gone),
                "added": len(added),
                "cluster_verdict": cluster.row.verdict,
            },
        }
        repo.add_log(
            session,
            action.investigation_id,
            "Run cluster again before execution",
            "completed",
            f"action {action.id}: cluster {row.id} ({row.key} {row.value[:80]}) now "
            f"holds {len(reachable)} cop{'y' if len(reachable) == 1 else 'ies'} in "
            f"mailboxes; {len(gone)} approved cop"
            f"{'y' if len(gone) == 1 else 'ies'} already gone (counted as remediated), "
            f"{len(added)} new"
            + (
                f"; no connector reaches {len(unreached)} mailbox(es)"
                if unreached
                else ""
            )
            + (
                f"; the cluster is now {cluster.row.verdict}"
                if cluster.row.verdict != Verdict.MALICIOUS.value
                else ""
            ),
        )

    def undo(self, action_id: int, *, by: str | Principal) -> m.Action:
        with self.store.session() as session:
            person = self.person(session, by)
            action = actions.undo(session, action_id, person, self._reach(session))
            self.settle(session, action.investigation_id, actor=person)
        return action

    def expire_actions(self, now: datetime | None = None) -> int:
        """Expire pending actions past their time; returns how many investigations changed."""
        with self.store.session() as session:
            touched = actions.expire(session, now or utcnow())
            for investigation_id in touched:
                self.settle(session, investigation_id)
        return len(touched)

    def publish(
        self, session: Session, investigation_id: int, actor: Principal | None = None
    ) -> None:
        """Record the investigation in the activity feed when its status or an
        action changed, and queue the notifications the change calls for."""
        investigation = _investigation(session, investigation_id)
        change = activity.publish(session, self.feed, investigation, actor)
        if change is not None:
            notify.enqueue_change(
                session,
                self.settings,
                self.feed,
                investigation,
                change,
                frozenset(self.org_domains(session)),
            )

    def settle(
        self,
        session: Session,
        investigation_id: int,
        actor: Principal | None = None,
    ) -> InvestigationStatus:
        """Give the investigation the status its verdict and actions call for, and
        publish the change."""
        investigation = _investigation(session, investigation_id)
        actions = session.scalars(
            select(m.Action.status).where(m.Action.investigation_id == investigation_id)
        )
        status = settled_status(
            Verdict(investigation.verdict), [ActionStatus(a) for a in actions]
        )
        investigation.status = status.value
        investigation.updated_at = utcnow()
        if not status.is_open and investigation.ended_at is None:
            investigation.ended_at = utcnow()
        elif status.is_open:
            investigation.ended_at = None
        session.flush()
        self.publish(session, investigation_id, actor)
        return status


OPEN_STATUSES = tuple(s.value for s in InvestigationStatus if s.is_open)
ALERTING_EVENTS = tuple(
    sorted({"sigma.match", *(kind for p in BUILTIN_POLICIES for kind in p.event_types)})
)


# An audit record kept with its event is cut beyond this many characters of JSON.
MAX_AUDIT_RECORD = 64 * 1024


def _audit_event(record: AuditRecord) -> Event:
    entities = []
    # The mailbox the record is about: the one a forwarding or delegation changed,
    # else the account that acted. Accounts with spaces are services, not people.
    mailbox = str(record.fields.get("mailbox") or record.user).strip().lower()
    if (
        mailbox
        and len(mailbox) <= 320
        and not any(c.isspace() or c in "/\\" for c in mailbox)
    ):
        entities.append(EntityRef(EntityType.MAILBOX, mailbox))
    address = str(record.fields.get("ip", ""))
    if address and is_ip(address):
        entities.append(EntityRef(EntityType.IP, address))
    raw = json.dumps(record.raw, default=str, sort_keys=True)
    # A record is named by its content, so that ingesting it again stores nothing
    # twice; a Microsoft 365 alert by its alert id, so that the records of its
    # life (triggered, updated, resolved) make one event.
    alert_id = str(record.fields.get("alert_id") or "")
    source = (
        f"audit:alert:{alert_id}"[:255]
        if alert_id
        else f"audit:{record.source}:{record_key(record)[:48]}"
    )
    clicked = {}
    url = record.fields.get("url") or record.fields.get("Url")
    if record.kind == post_delivery.CLICK_EVENT and url:
        # The shape heron's click log gives its clicks, so that both are judged
        # alike.
        clicked = {
            "url": str(url),
            "message": str(record.fields.get("InternetMessageId", "")),
            "clicked_at": record.occurred_at.isoformat(),
        }
    return Event(
        record.kind,
        record.occurred_at,
        source,
        tuple(entities),
        {
            "operation": record.operation,
            "source": record.source,
            "user": record.user,
            "fields": record.fields,
            "record": record.raw
            if len(raw) <= MAX_AUDIT_RECORD
            else {"truncated": raw[:MAX_AUDIT_RECORD]},
            **clicked,
        },
    )


def _sigma_event(rule: sigma.SigmaPolicy, record: AuditRecord, event: Event) -> Event:
    """A Sigma rule's match on an audit record, as an event of its own."""
    return Event(
        "sigma.match",
        record.occurred_at,
        f"sigma:{rule.rule_id}:{event.source}"[:255],
        event.entities,
        {
            "rule_id": rule.rule_id,
            "rule": rule.policy.name,
            "path": rule.path,
            "kind": record.kind,
            "operation": record.operation,
            "user": record.user,
            "fields": record.fields,
        },
    )


def _event_entity(event: m.EventRecord, kind: EntityType) -> EntityRef | None:
    for type_, value in event.entities.get("items", []):
        if type_ == kind.value:
            return EntityRef(kind, value)
    return None


def _event_message(event: m.EventRecord) -> EntityRef | None:
    for kind, value in event.entities.get("items", []):
        if kind == EntityType.MESSAGE.value:
            return EntityRef(EntityType.MESSAGE, value)
    return None


# The earliest Date a copy's received time takes as it is; mail claiming to be older,
# or from the future, is taken as received when heron read it.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)


def plausible_date(moment: datetime | None) -> datetime | None:
    """A message's Date as its copies' received time, when it could be one.

    Known limit: a Maildir or mbox keeps no delivery time heron trusts, so a sender
    can backdate a copy within the plausible range and fall outside a cluster's
    window; the top Received stamp would be harder to forge."""
    if moment is None:
        return None
    try:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None
    if not EARLIEST_DATE <= moment <= utcnow() + timedelta(days=1):
        return None
    return moment


def threat_names(verdict: EntityVerdict) -> list[str]:
    """The threats a verdict names: malware when a file decided it, else phish."""
    if not verdict.verdict.is_threat:
        return []
    names = {
        "malware"
        if finding.entity.type is EntityType.FILE
        or finding.analyzer in ("attachments", "files", "yara")
        else "phish"
        for finding in verdict.reasons
    }
    return sorted(names) or ["phish"]


def _already_decided(action: m.Action, new: bool) -> None:
    """A proposal of what an investigation already decided is refused: the earlier
    action keeps its decision, and a pending one is returned as it is."""
    if not new and action.status != ActionStatus.PENDING.value:
        raise ActionError(
            f"action {action.id} already proposed this and is {action.status}; "
            "its decision stands"
        )


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _investigation(session: Session, investigation_id: int) -> m.Investigation:
    row = session.get(m.Investigation, investigation_id)
    if row is None:
        raise NotFoundError(
            f"no investigation {investigation_id}; `heron investigations list` shows them"
        )
    return row


def _without_password(url: str) -> str:
    """A database URL fit for an error message."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as its scheme only
        return url.partition(":")[0] + "://..."


def _check_weights(settings: Settings) -> None:
    """Every weight names an analyzer heron has, so a typo cannot go unnoticed."""
    unknown = sorted(
        key
        for key in settings.scoring_weights
        if key.partition("/")[0] not in analyzers.REGISTRY
    )
    if unknown:
        raise ConfigError(
            f"HERON_SCORING_WEIGHTS (scoring_weights): no analyzer is called "
            f"{', '.join(repr(k.partition('/')[0]) for k in unknown)}; the analyzers "
            f"are {', '.join(sorted(analyzers.REGISTRY))}"
        )


def _investigated(session: Session, investigation_id: int) -> list[EntityRef]:
    query = (
        select(m.InvestigationEntity.value)
        .where(
            m.InvestigationEntity.investigation_id == investigation_id,
            m.InvestigationEntity.type == EntityType.MESSAGE.value,
            m.InvestigationEntity.role == "investigated",
        )
        .order_by(m.InvestigationEntity.id)
    )
    return [EntityRef(EntityType.MESSAGE, v) for v in session.scalars(query)]


def _findings(session: Session, investigation_id: int) -> list[Finding]:
    rows = session.scalars(
        select(m.FindingRecord).where(
            m.FindingRecord.investigation_id == investigation_id
        )
    )
    return [
        Finding(
            r.analyzer,
            EntityRef(EntityType(r.entity_type), r.entity_value),
            r.code,
            Severity(r.severity),
            r.summary,
            r.details,
        )
        for r in rows
    ]


def _not_the_reporters_wrapper(kind: str, wrapper_from: str, reporter: str) -> bool:
    """A message with an attached message is a report only when the person named as
    reporter sent it; otherwise it is the suspicious message, attachment and all."""
    return kind == "attached" and bool(reporter) and wrapper_from != reporter.lower()


def _feeds_fingerprint(paths: list[Path]) -> str:
    """A digest of which feed files exist, their sizes and modification times."""
    digest = hashlib.sha256()
    for root in paths:
        files = (
            sorted(p for p in root.rglob("*") if p.is_file())
            if root.is_dir()
            else [root]
        )
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _maildir_locator(path: Path, folder: str | None) -> tuple[Path | None, str]:
    """The Maildir root and relative locator of a file inside a Maildir, if it is one."""
    if path.parent.name not in ("cur", "new"):
        return None, ""
    folder_dir = path.parent.parent
    root = folder_dir.parent if folder_dir.name.startswith(".") else folder_dir
    return root, path.relative_to(root).as_posix()
