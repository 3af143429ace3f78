"""Post-delivery detection: mail judged bad after it reached the mailboxes.

When threat intel changes (a feed is loaded or reloaded), when an analyst puts a url,
domain or file on the block list, or when new copies are ingested, the message index
is searched for delivered copies still in a mailbox whose message carries a url or a
file now called malicious. Each such message raises one ``post_delivery.url`` or
``post_delivery.file`` event (once per message and indicator), which the alert
policies turn into "Email messages containing malicious URL removed after delivery"
or its file equivalent.

Clicks are kept as ``url.clicked`` events. A click on a url that is malicious when the
click is read, or that turns malicious within ``CLICK_WINDOW`` after the click, raises
one ``url.click_detected`` event, which becomes "A potentially malicious URL click
was detected".

Known limits: the index keeps each file's sha256, so a feed that lists a file only by
md5 or sha1 is matched when the message is investigated, not here; a click whose
message cannot be found in the store is alerted without an investigation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from heron.domain.entities import EntityRef, EntityType, Event
from heron.domain.urls import url_host
from heron.domain.verdicts import Location
from heron.ingest.clicks import Click
from heron.store import models as m
from heron.store import repository as repo
from heron.store.models import row_key, utcnow

CLICK_WINDOW = timedelta(hours=48)
URL_EVENT = "post_delivery.url"
FILE_EVENT = "post_delivery.file"
CLICK_EVENT = "url.clicked"
CLICK_ALERT_EVENT = "url.click_detected"
# Rows read from the index per round trip while scanning.
BATCH = 5000

# What makes an indicator malicious now: a reason ("listed by feed X"), or "".
UrlJudge = Callable[[str, str], str]
FileJudge = Callable[[str], str]


@dataclass(frozen=True)
class Hit:
    message: str
    kind: str  # url or file
    indicator: str
    reason: str


def scan(
    session: Session,
    judge_url: UrlJudge,
    judge_file: FileJudge,
    *,
    since: datetime,
    only: Iterable[str] | None = None,
) -> list[Hit]:
    """Messages with a copy still in a mailbox, received since ``since``, that carry
    a url or file the judges call malicious: the first such indicator of each
    message. A message already judged malicious is found too: the new indicator may
    be what its investigation lacked, and ``raise_events`` raises each message and
    indicator once."""
    held = select(m.Copy.message_sha256).where(
        m.Copy.location.in_([loc.value for loc in Location if loc.in_mailbox]),
        m.Copy.received_at >= since,
    )
    if only is not None:
        held = held.where(m.Copy.message_sha256.in_(sorted(set(only))))
    held = held.distinct()
    hits: dict[str, Hit] = {}
    judged_hosts: dict[tuple[str, str], str] = {}
    rows = session.execute(
        select(m.MessageUrl.message_sha256, m.MessageUrl.url, m.MessageUrl.host)
        .where(m.MessageUrl.message_sha256.in_(held))
        .execution_options(yield_per=BATCH)
    )
    for sha256, url, host in rows:
        if sha256 in hits:
            continue
        key = (url, host)
        if key not in judged_hosts:
            judged_hosts[key] = judge_url(url, host)
        if judged_hosts[key]:
            hits[sha256] = Hit(sha256, "url", url, judged_hosts[key])
    files = session.execute(
        select(m.MessageFile.message_sha256, m.MessageFile.sha256)
        .where(m.MessageFile.message_sha256.in_(held))
        .execution_options(yield_per=BATCH)
    )
    judged_files: dict[str, str] = {}
    for sha256, digest in files:
        if sha256 in hits:
            continue
        if digest not in judged_files:
            judged_files[digest] = judge_file(digest)
        if judged_files[digest]:
            hits[sha256] = Hit(sha256, "file", digest, judged_files[digest])
    return list(hits.values())


def raise_events(session: Session, hits: list[Hit], origin: str) -> int:
    """One event per message and indicator not raised before; returns how many.
    ``origin`` says what found them (intel, the block list, ingest)."""
    if not hits:
        return 0
    keys = {hit: f"post-delivery#{row_key(hit.message, hit.indicator)}" for hit in hits}
    seen = set(
        session.scalars(
            select(m.EventRecord.source).where(
                m.EventRecord.type.in_((URL_EVENT, FILE_EVENT)),
                m.EventRecord.source.in_(sorted(set(keys.values()))),
            )
        )
    )
    raised = 0
    for hit in hits:
        if keys[hit] in seen:
            continue
        seen.add(keys[hit])
        indicator = EntityRef(
            EntityType.URL if hit.kind == "url" else EntityType.FILE, hit.indicator
        )
        repo.save_event(
            session,
            Event(
                URL_EVENT if hit.kind == "url" else FILE_EVENT,
                utcnow(),
                keys[hit],
                (EntityRef(EntityType.MESSAGE, hit.message), indicator),
                {
                    "indicator_kind": hit.kind,
                    "indicator": hit.indicator,
                    "reason": hit.reason,
                    "found_by": origin,
                },
            ),
        )
        raised += 1
    return raised


def record_clicks(session: Session, clicks: list[Click], source: str) -> list[int]:
    """Store clicks as ``url.clicked`` events (facts, not alerts); returns their ids.
    A click already stored (same user, url and time, from whichever log) is not
    stored again."""
    ids = []
    keys = {
        click: f"click#{row_key(click.user, click.url, click.time.isoformat())}"
        for click in clicks
    }
    stored: set[str] = set()
    wanted = sorted(set(keys.values()))
    for start in range(0, len(wanted), 500):
        stored.update(
            session.scalars(
                select(m.EventRecord.source).where(
                    m.EventRecord.source.in_(wanted[start : start + 500])
                )
            )
        )
    for click in clicks:
        if keys[click] in stored:
            continue
        stored.add(keys[click])
        row = repo.save_event(
            session,
            Event(
                CLICK_EVENT,
                click.time,
                keys[click],
                (
                    EntityRef(EntityType.MAILBOX, click.user),
                    EntityRef(EntityType.URL, click.url),
                ),
                {
                    "user": click.user,
                    "url": click.url,
                    "message": click.message,
                    "clicked_at": click.time.isoformat(),
                    "log": f"{source}:{click.line}",
                },
            ),
        )
        row.processed_at = utcnow()  # a fact: the alert comes from judging it
        ids.append(row.id)
    return ids


def alert_clicks(
    session: Session,
    judge_url: UrlJudge,
    *,
    urls: set[str] | None = None,
    click_ids: list[int] | None = None,
    turned_bad_at: datetime | None = None,
) -> int:
    """Raise ``url.click_detected`` for clicks on urls the judge calls malicious:
    the clicks ``click_ids`` names, or the clicks on ``urls`` in the ``CLICK_WINDOW``
    before ``turned_bad_at``. Each click raises at most once."""
    query = select(m.EventRecord).where(m.EventRecord.type == CLICK_EVENT)
    if click_ids is not None:
        query = query.where(m.EventRecord.id.in_(click_ids))
    if turned_bad_at is not None:
        query = query.where(
            m.EventRecord.occurred_at >= turned_bad_at - CLICK_WINDOW,
            m.EventRecord.occurred_at <= turned_bad_at,
        )
    alerted = _alerted_clicks(session)
    raised = 0
    for click in session.scalars(query):
        url = click.payload.get("url", "")
        if click.id in alerted or (urls is not None and url not in urls):
            continue
        reason = judge_url(url, url_host(url))
        if not reason:
            continue
        user = click.payload.get("user", "")
        message = find_clicked_message(
            session, click.payload.get("message", ""), user, url
        )
        entities = [EntityRef(EntityType.MAILBOX, user), EntityRef(EntityType.URL, url)]
        if message:
            entities.insert(0, EntityRef(EntityType.MESSAGE, message))
        repo.save_event(
            session,
            Event(
                CLICK_ALERT_EVENT,
                utcnow(),
                "clicks",
                tuple(entities),
                {
                    "click": click.id,
                    "user": user,
                    "url": url,
                    "clicked_at": click.payload.get("clicked_at", ""),
                    "reason": reason,
                    "message_found": bool(message),
                },
            ),
        )
        raised += 1
    return raised


def _alerted_clicks(session: Session) -> set[int]:
    return {
        int(payload.get("click", 0))
        for payload in session.scalars(
            select(m.EventRecord.payload).where(m.EventRecord.type == CLICK_ALERT_EVENT)
        )
    }


def find_clicked_message(session: Session, named: str, user: str, url: str) -> str:
    """The stored message a click came from: the one the log names (sha256 or
    Message-ID), else the newest message in the user's mailbox carrying the url."""
    if len(named) == 64 and session.get(m.Message, named.lower()) is not None:
        return named.lower()
    if named:
        bare = named.strip().strip("<>")
        found = session.scalar(
            select(m.Message.sha256)
            .where(m.Message.message_id.in_((bare, f"<{bare}>")))
            .order_by(m.Message.first_seen_at.desc())
            .limit(1)
        )
        if found:
            return found
    return (
        session.scalar(
            select(m.Copy.message_sha256)
            .join(
                m.MessageUrl,
                m.MessageUrl.message_sha256 == m.Copy.message_sha256,
            )
            .where(m.Copy.mailbox == user, m.MessageUrl.url_key == row_key(url))
            .order_by(m.Copy.received_at.desc())
            .limit(1)
        )
        or ""
    )
