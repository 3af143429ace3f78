"""Notifications: signed webhooks, mail to the security team, feedback to reporters,
and the activity feed's notices of new content.

Nothing is sent where it is decided. ``enqueue_*`` writes a notification row in the
transaction of the change it is about, keyed so that it exists once; ``deliver``
(the ``notify`` job of ``heron serve``) sends what is due and retries failures with
growing pauses, up to ``MAX_ATTEMPTS``. A notification is lost neither by a crash nor
by a receiver that is down for a while.

A webhook's body is JSON; its signature is HMAC-SHA256 with the webhook's secret over
``{timestamp}.{body}``, sent as ``X-Heron-Signature: sha256=<hex>`` with
``X-Heron-Timestamp``, ``X-Heron-Event`` and ``X-Heron-Delivery`` (the notification's
id, the same on every retry). A receiver checks the signature and refuses old
timestamps. Feed notices follow Microsoft's shape instead: a JSON array of content
descriptions, with the subscription's ``authId`` in ``Webhook-AuthID``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from heron.config import Settings, SmtpSettings, WebhookSettings
from heron.connectors.secrets import read_secret
from heron.domain.names import is_outside
from heron.domain.verdicts import InvestigationStatus
from heron.engine.activity import Change, Feed, blob_view, webhook_allowed
from heron.errors import ConfigError
from heron.store import models as m
from heron.store.models import row_key, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
ADDRESS = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"
)
BATCH = 50
OUTCOMES = {
    InvestigationStatus.NO_THREATS_FOUND.value: "no threat was found in it.",
    InvestigationStatus.REMEDIATED.value: "it was malicious, and every copy we found "
    "was removed.",
    InvestigationStatus.PARTIALLY_REMEDIATED.value: "it was malicious; some copies "
    "were removed and the team is looking after the rest.",
    InvestigationStatus.TERMINATED_BY_USER.value: "the team decided no action was "
    "needed.",
    InvestigationStatus.TERMINATED_BY_SYSTEM.value: "it was reviewed; no action was "
    "taken in time.",
    InvestigationStatus.FAILED.value: "the team is looking at it.",
}


def _add(
    session: Session,
    key: str,
    channel: str,
    target: str,
    event: str,
    payload: dict[str, Any],
) -> None:
    if session.scalar(select(m.Notification.id).where(m.Notification.key == key)):
        return
    session.add(
        m.Notification(
            key=key, channel=channel, target=target, event=event, payload=payload
        )
    )


def enqueue_change(
    session: Session,
    settings: Settings,
    feed: Feed,
    investigation: m.Investigation,
    change: Change,
    org_domains: frozenset[str],
) -> None:
    """Queue what a change calls for: pending actions and finished investigations
    to webhooks and the security team's mail, feedback to the reporters."""
    events: list[tuple[str, dict[str, Any]]] = []
    base = {
        "investigation_id": investigation.id,
        "name": investigation.name[:500],
        "status": investigation.status,
        "verdict": investigation.verdict,
        "link": feed.deeplink(investigation.id),
        "record_id": change.record.record_id,
    }
    if change.new_pending:
        events.append(("actions.pending", {**base, "actions": change.new_pending}))
    if change.finished:
        events.append(("investigation.finished", base))
    for event, payload in events:
        token = f"{investigation.id}:{change.record.id}:{event}"
        for hook in settings.webhooks:
            if event in hook.events:
                key = row_key("webhook", hook.url, token)
                _add(session, key, "webhook", hook.url, event, payload)
        for address in settings.notify_emails:
            _add(
                session,
                row_key("email", address, token),
                "email",
                address,
                event,
                payload,
            )
    if change.finished and settings.reporter_feedback:
        _enqueue_feedback(session, settings, investigation, org_domains)


def _enqueue_feedback(
    session: Session,
    settings: Settings,
    investigation: m.Investigation,
    own: frozenset[str],
) -> None:
    """Feedback for each reporter of the investigation's messages, once per
    investigation and reporter, only to the organisation's own addresses."""
    shas = session.scalars(
        select(m.InvestigationEntity.value).where(
            m.InvestigationEntity.investigation_id == investigation.id,
            m.InvestigationEntity.type == "message",
            m.InvestigationEntity.role == "investigated",
        )
    ).all()
    if not shas:
        return
    reports = session.scalars(
        select(m.Report).where(m.Report.message_sha256.in_(shas)).order_by(m.Report.id)
    ).all()
    for report in reports:
        reporter = report.reporter.strip().lower()
        if not plausible_address(reporter) or is_outside(reporter, own):
            continue
        message = session.get(m.Message, report.message_sha256)
        fields = {
            "subject": (message.subject if message else "")[:200],
            "reported_at": report.reported_at.strftime("%Y-%m-%d %H:%M UTC"),
            "verdict": investigation.verdict,
            "outcome": OUTCOMES.get(investigation.status, investigation.status),
            "investigation_id": str(investigation.id),
            "reporter": reporter,
        }
        payload = {
            "subject": settings.feedback_subject.format_map(fields),
            "body": settings.feedback_body.format_map(fields),
            "investigation_id": investigation.id,
        }
        key = row_key("feedback", reporter, str(investigation.id))
        _add(session, key, "email", reporter, "reporter.feedback", payload)


def enqueue_content(
    session: Session, feed: Feed, blobs: list[m.ActivityBlob], base: str
) -> None:
    """Notices of new content blobs to the subscriptions that named a webhook."""
    if not blobs:
        return
    for sub in session.scalars(
        select(m.ActivitySubscription).where(m.ActivitySubscription.status == "enabled")
    ):
        address = str((sub.webhook or {}).get("address", ""))
        if not address:
            continue
        notices = [
            {"tenantId": feed.tenant, "clientId": "heron", **blob_view(feed, b, base)}
            for b in blobs
            if b.content_type == sub.content_type
        ]
        if notices:
            key = row_key("feed", address, ",".join(n["contentId"] for n in notices))
            payload = {"notices": notices, "authId": sub.webhook.get("authId", "")}
            _add(session, key, "feed", address, "activity.content", payload)


# -- delivery ----------------------------------------------------------------------


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0

    def describe(self) -> str:
        return f"{self.sent} sent, {self.failed} to retry, {self.gave_up} given up"


Sender = Callable[[m.Notification], None]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Channels:
    """Sends each kind of notification; the transports are replaceable in tests."""

    def __init__(
        self, settings: Settings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport

    def send(self, note: m.Notification) -> None:
        if note.channel == "webhook":
            self._webhook(note)
        elif note.channel == "feed":
            self._feed(note)
        elif note.channel == "email":
            self._email(note)
        else:
            raise ConfigError(f"unknown channel {note.channel!r}")

    def _hook(self, url: str) -> WebhookSettings:
        for hook in self.settings.webhooks:
            if hook.url == url:
                return hook
        raise ConfigError(f"webhook {url[:100]} is no longer in the settings")

    def _post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> None:
        with httpx.Client(
            timeout=timeout, transport=self._transport, follow_redirects=False
        ) as client:
            response = client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **headers},
            )
        log.info("POST %s: %s", url[:200], response.status_code)
        if response.status_code >= 300:
            raise ConnectionError(f"the receiver answered {response.status_code}")

    def _webhook(self, note: m.Notification) -> None:
        hook = self._hook(note.target)
        secret = read_secret(
            f"webhook {hook.url[:80]}", hook.secret_env, hook.secret_file
        )
        body = json.dumps(
            {"event": note.event, "delivery": note.id, **note.payload}, sort_keys=True
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "X-Heron-Event": note.event,
            "X-Heron-Delivery": str(note.id),
            "X-Heron-Timestamp": stamp,
            "X-Heron-Signature": signature(secret, stamp, body),
        }
        self._post(hook.url, body, headers, hook.timeout)

    def _feed(self, note: m.Notification) -> None:
        if not webhook_allowed(note.target, self.settings.feed_webhook_urls):
            raise ConfigError(
                f"{note.target[:100]} is not among HERON_FEED_WEBHOOK_URLS any more"
            )
        body = json.dumps(note.payload.get("notices", [])).encode()
        headers = {"Webhook-AuthID": str(note.payload.get("authId", ""))}
        self._post(note.target, body, headers, 30.0)

    def _email(self, note: m.Notification) -> None:
        smtp = self.settings.smtp
        if smtp is None:
            raise ConfigError("no smtp settings: mail cannot be sent")
        mail = EmailMessage()
        mail["From"], mail["To"] = smtp.sender, note.target
        if note.event == "reporter.feedback":
            mail["Subject"] = _one_line(str(note.payload.get("subject", "")))
            mail.set_content(str(note.payload.get("body", "")))
        else:
            mail["Subject"] = _one_line(_team_subject(note))
            mail.set_content(_team_body(note))
        _send_mail(smtp, mail)


def _one_line(text: str) -> str:
    """A header value: every line or paragraph separator and control character
    becomes a space (subjects come from mail, which attackers write)."""
    return "".join(" " if not c.isprintable() else c for c in text)[:500].strip()


def plausible_address(address: str) -> bool:
    """An address heron may send to: one @, no spaces, controls, quotes, brackets,
    separators or trailing dot."""
    return bool(ADDRESS.fullmatch(address))


def _team_subject(note: m.Notification) -> str:
    what = {
        "actions.pending": "actions wait for approval",
        "investigation.finished": "investigation finished",
    }.get(note.event, note.event)
    return f"heron: {what}: {str(note.payload.get('name', ''))[:200]}"


def _team_body(note: m.Notification) -> str:
    p = note.payload
    lines = [
        f"Investigation {p.get('investigation_id')}: {p.get('name', '')}",
        f"Status: {p.get('status')}; verdict: {p.get('verdict')}",
    ]
    if p.get("actions"):
        lines.append(f"Actions waiting: {', '.join(str(a) for a in p['actions'])}")
    lines.append(f"Open it: {p.get('link')}")
    return "\n".join(lines) + "\n"


def _send_mail(smtp: SmtpSettings, mail: EmailMessage) -> None:
    context = ssl.create_default_context(
        cafile=str(smtp.ca_file) if smtp.ca_file else None
    )
    client: smtplib.SMTP
    if smtp.tls == "implicit":
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.username:
            password = read_secret("smtp", smtp.password_env, smtp.password_file)
            client.login(smtp.username, password)
        client.send_message(mail)
    log.info("SMTP %s: mail to %s sent", smtp.host, mail["To"])


def deliver(
    session_factory: Callable[[], Any],
    send: Sender,
    now: Callable[[], datetime] = utcnow,
) -> Delivery:
    """Send every notification that is due, one at a time, each outcome committed
    before the next is sent."""
    result = Delivery()
    with session_factory() as session:
        due = session.scalars(
            select(m.Notification.id)
            .where(
                m.Notification.status == "queued",
                m.Notification.next_attempt_at <= now(),
            )
            .order_by(m.Notification.id)
            .limit(BATCH)
        ).all()
    for note_id in due:
        with session_factory() as session:
            note = session.get(m.Notification, note_id)
            if note is None or note.status != "queued":
                continue
            note.attempts += 1
            try:
                send(note)
            except Exception as exc:  # one bad notification must not block the rest
                note.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if note.attempts >= MAX_ATTEMPTS:
                    note.status = "failed"
                    result.gave_up += 1
                    log.warning(
                        "notification %s given up: %s", note.id, note.last_error
                    )
                else:
                    pause = min(2 ** (note.attempts - 1), 60)
                    note.next_attempt_at = now() + timedelta(minutes=pause)
                    result.failed += 1
                continue
            note.status, note.sent_at, note.last_error = "sent", now(), ""
            result.sent += 1
    return result


def view(note: m.Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "channel": note.channel,
        "target": note.target,
        "event": note.event,
        "status": note.status,
        "attempts": note.attempts,
        "last_error": note.last_error,
        "created_at": note.created_at.isoformat(),
        "sent_at": note.sent_at.isoformat() if note.sent_at else None,
    }
