"""Automation levels, notifications (signed webhooks, mail, reporter feedback), the
scheduler's jobs and retention."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import timedelta
from email import message_from_bytes

import httpx
import pytest
from sqlalchemy import select

from heron.config import SmtpSettings, WebhookSettings
from heron.engine import notify
from heron.engine.scheduler import Scheduler
from heron.engine.service import Heron
from heron.errors import InvalidInput, PermissionDenied
from heron.samples import org
from heron.store import models as m
from heron.store import trail
from heron.store.models import utcnow
from tests.factories import staff


def sample(key: str) -> bytes:
    return next(s.raw for s in org.sample_messages() if s.key == key)


def make(settings, **update) -> Heron:
    heron = Heron(settings.model_copy(update=update))
    staff(heron)
    maildirs = org.write_maildirs(heron.settings.home / "org")
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(org.INTEL_FEED)
    heron.ingest(maildirs.values())
    return heron


@pytest.fixture
def heron(settings):
    instance = make(settings)
    yield instance
    instance.close()


def report(heron: Heron, key: str = "payroll") -> int:
    heron.report(org.user_report("alice@example.org", sample(key)))
    [investigation_id] = heron.process()
    return investigation_id


def actions_of(heron: Heron, investigation_id: int) -> list[m.Action]:
    with heron.store.session() as session:
        return list(
            session.scalars(
                select(m.Action).where(m.Action.investigation_id == investigation_id)
            )
        )


# -- automation ---------------------------------------------------------------------


def test_automation_approves_only_what_its_rule_allows(heron):
    rule = heron.set_automation(
        "soft_delete",
        "automatic",
        {"max_copies": 3, "cluster_kinds": ["indicator"]},
        by="admin",
    )
    assert rule.level.value == "automatic"
    investigation_id = report(heron)
    by_type: dict[str, list[m.Action]] = {}
    for action in actions_of(heron, investigation_id):
        by_type.setdefault(action.type, []).append(action)
    automatic = [
        a for a in by_type["soft_delete"] if a.decided_by.startswith("automation")
    ]
    assert automatic, "the indicator cluster's soft delete was not automated"
    with heron.store.session() as session:
        for action in automatic:
            cluster = session.get(m.Cluster, action.params["cluster_id"])
            assert cluster.kind == "indicator"
            assert action.status == "completed"
    # What the rule does not cover still waits for a person.
    assert all(a.status == "pending" for a in by_type["block_sender"])
    with heron.store.session() as session:
        records = trail.records(session, verb="action.approved", limit=100)
    assert {r["actor"] for r in records} == {"automation:soft_delete"}
    assert all(r["detail"]["rule"]["max_copies"] == 3 for r in records)


def test_automation_is_off_by_default_and_never_for_hard_delete(heron):
    investigation_id = report(heron)
    assert all(a.status == "pending" for a in actions_of(heron, investigation_id))
    with pytest.raises(InvalidInput, match="never automatic"):
        heron.set_automation("hard_delete", "automatic", {}, by="admin")
    with pytest.raises(PermissionDenied):
        heron.set_automation("soft_delete", "automatic", {}, by="approver")


def test_an_automation_rule_turned_off_stops_approving_at_once(heron):
    heron.set_automation("block_sender", "automatic", {}, by="admin")
    heron.set_automation("block_sender", "off", {}, by="admin")
    investigation_id = report(heron)
    blocks = [
        a for a in actions_of(heron, investigation_id) if a.type == "block_sender"
    ]
    assert blocks and all(a.status == "pending" for a in blocks)


# -- notifications ----------------------------------------------------------------


def test_pending_actions_and_a_finished_investigation_reach_a_signed_webhook(
    settings, monkeypatch
):
    monkeypatch.setenv("HERON_SECRET_HOOK", "s3cret")
    hook = WebhookSettings(
        url="https://soar.example.test/heron", secret_env="HERON_SECRET_HOOK"
    )
    heron = make(settings, webhooks=[hook])
    try:
        investigation_id = report(heron)
        for action in actions_of(heron, investigation_id):
            heron.reject(action.id, by="approver", comment="drill")
        received: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            received.append(request)
            return httpx.Response(204)

        channels = notify.Channels(
            heron.settings, transport=httpx.MockTransport(answer)
        )
        result = notify.deliver(heron.store.session, channels.send)
        assert result.sent == 2 and result.failed == 0
        events = [r.headers["X-Heron-Event"] for r in received]
        assert events == ["actions.pending", "investigation.finished"]
        for request in received:
            stamp = request.headers["X-Heron-Timestamp"]
            expected = hmac.new(
                b"s3cret", f"{stamp}.".encode() + request.content, hashlib.sha256
            ).hexdigest()
            assert request.headers["X-Heron-Signature"] == f"sha256={expected}"
            assert json.loads(request.content)["investigation_id"] == investigation_id
        # Sent once: a second delivery finds nothing due.
        assert notify.deliver(heron.store.session, channels.send).sent == 0
    finally:
        heron.close()


def test_a_receiver_that_is_down_is_retried_later_and_nothing_is_lost(
    settings, monkeypatch
):
    monkeypatch.setenv("HERON_SECRET_HOOK", "s3cret")
    hook = WebhookSettings(
        url="https://soar.example.test/heron", secret_env="HERON_SECRET_HOOK"
    )
    heron = make(settings, webhooks=[hook])
    try:
        report(heron)
        down = notify.Channels(
            heron.settings, transport=httpx.MockTransport(lambda r: httpx.Response(503))
        )
        assert notify.deliver(heron.store.session, down.send).failed == 1
        with heron.store.session() as session:
            note = session.scalars(select(m.Notification)).one()
            assert note.status == "queued" and "503" in note.last_error
            assert note.next_attempt_at > utcnow()
        later = lambda: utcnow() + timedelta(hours=1)  # noqa: E731
        up = notify.Channels(
            heron.settings, transport=httpx.MockTransport(lambda r: httpx.Response(200))
        )
        assert notify.deliver(heron.store.session, up.send, now=later).sent == 1
    finally:
        heron.close()


def test_mail_to_the_team_and_feedback_to_the_reporter(settings):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.mail: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.mail.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        heron = make(
            settings,
            smtp=SmtpSettings(
                host="127.0.0.1", port=port, tls="none", sender="heron@example.org"
            ),
            notify_emails=["soc@example.org"],
            reporter_feedback=True,
            feedback_subject="About your report: {subject}",
        )
        try:
            investigation_id = report(heron)
            for action in actions_of(heron, investigation_id):
                heron.reject(action.id, by="approver")
            channels = notify.Channels(heron.settings)
            assert notify.deliver(heron.store.session, channels.send).sent == 3
        finally:
            heron.close()
    finally:
        controller.stop()
    recipients = sorted(r for rcpts, _ in inbox.mail for r in rcpts)
    assert recipients == ["alice@example.org", "soc@example.org", "soc@example.org"]
    feedback = next(
        message_from_bytes(body)
        for rcpts, body in inbox.mail
        if rcpts == ["alice@example.org"]
    )
    assert feedback["Subject"].startswith("About your report:")
    text = feedback.get_payload(decode=True).decode()
    assert "the team decided no action was needed" in text


# -- the scheduler and retention -------------------------------------------------


def test_jobs_record_their_last_run_and_outcome(heron):
    jobs = Scheduler(heron)
    done = jobs.tick()
    assert {o.name for o in done} >= {"process", "expire", "feed", "notify"}
    assert all(o.outcome == "completed" for o in done), done
    again = jobs.tick()  # nothing is due again at once
    assert again == []
    with heron.store.session() as session:
        row = session.get(m.JobRun, "expire")
        assert row.runs == 1 and row.outcome == "completed" and row.ended_at


def test_a_job_claimed_by_a_live_process_is_not_run_twice(heron):
    first, second = Scheduler(heron), Scheduler(heron)
    with heron.store.session() as session:
        session.get(m.JobRun, "expire").runner = "other-host:1"
        session.get(m.JobRun, "expire").started_at = utcnow()
    assert not second.run("expire", force=True).ran
    with heron.store.session() as session:  # the claim is an hour old: taken over
        session.get(m.JobRun, "expire").started_at = utcnow() - timedelta(hours=2)
    assert first.run("expire", force=True).ran


def test_retention_purges_old_raw_mail_and_finished_investigations(settings):
    heron = make(settings, retention_raw_mail_days=30, retention_investigation_days=90)
    try:
        investigation_id = report(heron)
        for action in actions_of(heron, investigation_id):
            heron.reject(action.id, by="approver")
        with heron.store.session() as session:
            for message in session.scalars(select(m.Message)):
                message.first_seen_at = utcnow() - timedelta(days=40)
            investigation = session.get(m.Investigation, investigation_id)
            investigation.ended_at = utcnow() - timedelta(days=100)
            shas = list(session.scalars(select(m.Message.sha256)))
        outcome = Scheduler(heron).run("retention", force=True)
        assert outcome.outcome == "completed", outcome.detail
        with heron.store.session() as session:
            kept = session.get(m.Investigation, investigation_id)
            assert kept.purged_at is not None  # the row stays: its id is not reused
            assert not session.scalars(
                select(m.Action).where(m.Action.investigation_id == investigation_id)
            ).all()
            assert all(
                session.get(m.Message, sha).raw_purged_at is not None for sha in shas
            )
            purge = trail.records(session, verb="retention.purged")
            assert purge[0]["detail"]["investigations"] == 1
            assert trail.verify(session).intact
        assert not any(heron.store.blobs.has(sha) for sha in shas)
    finally:
        heron.close()
