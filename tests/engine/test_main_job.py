"""The main job end to end on a Maildir organisation, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from heron.config import Settings
from heron.engine import views
from heron.engine.service import Heron
from heron.errors import ActionError, ApprovalRequired, InvalidInput, PermissionDenied
from heron.samples import org
from heron.store import models as m
from heron.store import repository as repo
from heron.store.models import utcnow
from tests.factories import staff


@pytest.fixture
def heron(settings: Settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


@pytest.fixture
def organisation(heron: Heron) -> dict[str, Path]:
    maildirs = org.write_maildirs(heron.settings.home / "org")
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(org.INTEL_FEED)
    summary = heron.ingest(maildirs.values())
    assert summary.errors == []
    return maildirs


def sample(key: str) -> bytes:
    return next(s.raw for s in org.sample_messages() if s.key == key)


def files_holding(maildirs: dict[str, Path], raw: bytes) -> dict[str, str]:
    """mailbox → folder ('' for the inbox) of every file with these bytes."""
    digest = hashlib.sha256(raw).hexdigest()
    found = {}
    for mailbox, root in maildirs.items():
        for path in root.rglob("*"):
            if (
                path.is_file()
                and path.parent.name == "cur"
                and hashlib.sha256(path.read_bytes()).hexdigest() == digest
            ):
                folder = path.parent.parent
                found[mailbox] = "" if folder == root else folder.name
    return found


def report(heron: Heron, reporter: str, key: str) -> int:
    submission = heron.report(org.user_report(reporter, sample(key)))
    assert submission.reporter == reporter
    [investigation_id] = heron.process()
    return investigation_id


def pending(heron: Heron, investigation_id: int) -> dict[str, dict]:
    with heron.store.session() as session:
        return {
            a["type"]: a
            for a in views.list_actions(session, "pending", investigation_id)
        }


def detail(heron: Heron, investigation_id: int) -> dict:
    with heron.store.session() as session:
        return views.investigation_detail(session, investigation_id)


def test_report_to_approved_executed_and_undone_soft_delete(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    case = detail(heron, investigation_id)
    assert case["verdict"] == "malicious"
    assert case["status"] == "pending action"
    soft_delete = pending(heron, investigation_id)["soft_delete"]
    assert soft_delete["copies"] == 3

    done = heron.approve(soft_delete["id"], by="alice-approver", comment="confirmed")
    assert done.status == "completed"
    assert {t["status"] for t in done.result["targets"]} == {"done"}
    assert all(t["verified"] == "in deleted" for t in done.result["targets"])
    where = files_holding(organisation, sample("payroll"))
    assert set(where.values()) == {".Recoverable Items"} and len(where) == 3

    undone = heron.undo(soft_delete["id"], by="alice-approver")
    assert undone.status == "undone"
    assert set(files_holding(organisation, sample("payroll")).values()) == {""}
    steps = [entry["step"] for entry in detail(heron, investigation_id)["log"]]
    assert {"Action approved", "Execute action", "Undo action"} <= set(steps)


def test_rejected_and_unapproved_actions_touch_no_mailbox(heron, organisation):
    before = {
        p: p.read_bytes()
        for root in organisation.values()
        for p in root.rglob("*")
        if p.is_file()
    }
    investigation_id = report(heron, "bob@example.org", "payroll")
    actions = pending(heron, investigation_id)
    with pytest.raises(ApprovalRequired):
        heron.execute(actions["soft_delete"]["id"])
    heron.reject(actions["soft_delete"]["id"], by="bob", comment="simulation")
    with pytest.raises(ActionError):
        heron.execute(actions["soft_delete"]["id"])
    after = {
        p: p.read_bytes()
        for root in organisation.values()
        for p in root.rglob("*")
        if p.is_file()
    }
    assert after == before


def test_legitimate_mail_gets_no_threat_and_no_action(heron, organisation):
    investigation_id = report(heron, "bob@example.org", "newsletter")
    case = detail(heron, investigation_id)
    assert case["verdict"] in ("clean", "unknown")
    assert case["status"] == "no threats found"
    assert case["actions"] == []


def test_reports_of_one_message_share_one_investigation(heron, organisation):
    first = report(heron, "alice@example.org", "payroll")
    second = report(heron, "carol@example.org", "payroll")
    assert first == second
    assert len(detail(heron, first)["alerts"]) == 2
    with heron.store.session() as session:
        types = Counter(
            session.scalars(
                select(m.Action.type).where(m.Action.investigation_id == first)
            )
        )
        malicious = session.scalar(
            select(func.count())
            .select_from(m.Cluster)
            .where(
                m.Cluster.investigation_id == first, m.Cluster.verdict == "malicious"
            )
        )
    # One soft delete per malicious cluster, and one block of the sender: the second
    # report added no action and no cluster of its own.
    assert malicious and types == {"soft_delete": malicious, "block_sender": 1}


def test_running_an_investigation_again_records_nothing_twice(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "invoice")
    with heron.store.session() as session:
        counts = [
            session.scalar(select(func.count()).select_from(t))
            for t in (m.FindingRecord, m.Action, m.InvestigationEntity)
        ]
    heron.run_investigation(investigation_id)
    with heron.store.session() as session:
        assert [
            session.scalar(select(func.count()).select_from(t))
            for t in (m.FindingRecord, m.Action, m.InvestigationEntity)
        ] == counts


def test_pending_actions_expire_and_the_case_is_terminated_by_system(
    heron, organisation
):
    investigation_id = report(heron, "alice@example.org", "payroll")
    assert heron.expire_actions(utcnow() + timedelta(days=8)) == 1
    case = detail(heron, investigation_id)
    assert case["status"] == "terminated by system"
    assert {a["status"] for a in case["actions"]} == {"expired"}


def test_block_sender_lands_on_the_block_list_and_undo_lifts_it(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    block = pending(heron, investigation_id)["block_sender"]
    heron.approve(block["id"], by="approver")
    with heron.store.session() as session:
        assert (
            heron.lookups(session).org_lists.match_sender(block["target"]).list
            == "block"
        )
    heron.undo(block["id"], by="approver")
    with heron.store.session() as session:
        assert heron.lookups(session).org_lists.match_sender(block["target"]) is None


def test_an_interrupted_action_runs_again_without_moving_twice(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    first = heron.approve(action_id, by="approver")
    with heron.store.session() as session:  # as if the worker died after the moves
        session.get(m.Action, action_id).status = "running"
    again = heron.execute(action_id)
    assert again.status == "completed"
    assert again.result["targets"] == first.result["targets"]


def test_two_people_deciding_at_once_leave_exactly_one_decision(
    settings, organisation, heron
):
    import threading

    from heron.errors import HeronError

    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    others = [Heron(settings) for _ in range(3)]
    staff(heron, **{f"approver-{id(o)}": ("approver", False) for o in others})
    outcomes: list[str] = []
    start = threading.Barrier(3)

    def decide(instance: Heron, approve: bool) -> None:
        start.wait()
        try:
            if approve:
                instance.approve(action_id, by=f"approver-{id(instance)}")
            else:
                instance.reject(action_id, by="rejecter")
            outcomes.append("won")
        except HeronError:
            outcomes.append("lost")

    threads = [
        threading.Thread(target=decide, args=(others[0], True)),
        threading.Thread(target=decide, args=(others[1], False)),
        threading.Thread(target=decide, args=(others[2], True)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for instance in others:
        instance.close()
    assert sorted(outcomes) == ["lost", "lost", "won"]
    case = detail(heron, investigation_id)
    decisions = [
        e for e in case["log"] if e["step"] in ("Action approved", "Action rejected")
    ]
    assert len(decisions) == 1
    executions = [e for e in case["log"] if e["step"] == "Execute action"]
    assert len(executions) == (1 if decisions[0]["step"] == "Action approved" else 0)


def test_nul_characters_in_mail_are_stored_on_every_database(heron):
    raw = (
        b"From: a\x00b@evil.test\r\nTo: x@example.org\r\nSubject: hi\x00there\r\n"
        b"Message-ID: <n\x00ul@evil.test>\r\n\r\nbody\x00 http://evil.test/a\x00b\r\n"
    )
    submission = heron.report(raw, reporter="x@example.org")
    [investigation_id] = heron.process()
    with heron.store.session() as session:
        stored = session.get(m.Message, submission.sha256)
        assert stored.subject == "hi\ufffdthere"
    assert heron.store.blobs.get(submission.sha256) == raw
    assert detail(heron, investigation_id)["status"] != "failed"


def test_a_phish_copying_a_newsletters_message_id_and_from_never_targets_its_copies(
    heron, organisation
):
    newsletter = sample("newsletter").decode()
    phish = (
        newsletter.replace(
            "The new office opens on Monday.", "Verify your password now."
        ).replace(
            "https://www.cityweekly.test/news/office", "https://login.evil.test/x"
        )
    ).encode()
    heron.report(phish, reporter="bob@example.org", unwrap=False)
    [investigation_id] = heron.process()
    case = detail(heron, investigation_id)
    assert not any(a["type"] == "soft_delete" for a in case["actions"])
    recipients = [e for e in case["entities"] if e["role"] == "recipient"]
    assert recipients == []


def test_a_sender_already_proposed_for_blocking_is_not_proposed_again(
    heron, organisation
):
    first = report(heron, "alice@example.org", "payroll")
    assert "block_sender" in pending(heron, first)
    variant = (
        sample("payroll")
        .replace(b"payroll.20261101@", b"payroll.second@")
        .replace(b"confirm your salary account", b"your salary account is on hold")
    )
    # Within the merge window the variant would join the first investigation; an
    # investigation older than the window takes no alert, so this one opens anew.
    with heron.store.session() as session:
        session.get(m.Investigation, first).created_at -= (
            heron.settings.merge_window * 2
        )
    heron.report(org.user_report("bob@example.org", variant))
    [second] = heron.process()
    assert second != first
    assert "block_sender" not in pending(heron, second)
    [step] = [e for e in detail(heron, second)["log"] if e["step"] == "Propose actions"]
    assert "not proposed again" in step["summary"]


def test_mailboxes_holding_copies_are_recipients_and_reporters_mailboxes(
    heron, organisation
):
    investigation_id = report(heron, "alice@example.org", "payroll")
    roles = {
        (e["type"], e["value"]): e["role"]
        for e in detail(heron, investigation_id)["entities"]
    }
    assert roles[("mailbox", "alice@example.org")] == "reporter"
    assert roles[("mailbox", "bob@example.org")] == "recipient"
    holders = {c["mailbox"] for c in detail(heron, investigation_id)["copies"]}
    assert {"alice@example.org", "bob@example.org"} <= holders


def test_copies_no_connector_reaches_are_named_in_the_log(heron, tmp_path):
    loose = tmp_path / "copy.eml"
    loose.write_bytes(sample("payroll"))
    heron.ingest([loose], mailbox="erin@example.org")
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(org.INTEL_FEED)
    heron.reload_intel()
    investigation_id = report(heron, "erin@example.org", "payroll")
    [step] = [
        e
        for e in detail(heron, investigation_id)["log"]
        if e["step"] == "Propose actions"
    ]
    assert "no connector reaches 1 mailbox(es)" in step["summary"]
    assert "erin@example.org" in step["summary"]


def test_an_allowed_sender_is_never_proposed_for_blocking(heron, organisation):
    with heron.store.session() as session:
        repo.add_list_entry(
            session, "allow", "domain", "payroll-example.test", "by the tester"
        )
    investigation_id = report(heron, "alice@example.org", "payroll")
    actions = pending(heron, investigation_id)
    assert "soft_delete" in actions and "block_sender" not in actions
    [step] = [
        e
        for e in detail(heron, investigation_id)["log"]
        if e["step"] == "Propose actions"
    ]
    assert "the allow list holds domain payroll-example.test" in step["summary"]


def test_lone_surrogates_from_broken_utf7_are_stored_on_every_database(heron):
    # "+2D0-" is UTF-7 for half of a surrogate pair, which no UTF-8 text can hold.
    raw = (
        b"From: a@sur.test\r\nTo: x@example.org\r\nMessage-ID: <sur@sur.test>\r\n"
        b"Subject: =?utf-7?q?+2D0-hello?=\r\n\r\nbody https://sur.test/\r\n"
    )
    submission = heron.report(raw, reporter="x@example.org")
    [investigation_id] = heron.process()
    with heron.store.session() as session:
        stored = session.get(m.Message, submission.sha256)
        assert stored.subject == "\ufffdhello"
    assert detail(heron, investigation_id)["status"] != "failed"


def test_an_unusable_list_entry_in_the_store_does_not_stop_investigations(
    heron, organisation
):
    with heron.store.session() as session:
        repo.add_list_entry(session, "block", "sender", "phisher@evil.c", "by hand")
    investigation_id = report(heron, "alice@example.org", "payroll")
    assert detail(heron, investigation_id)["status"] == "pending action"


def test_some_targets_failing_leave_the_case_partially_remediated(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    heron.reject(
        pending(heron, investigation_id)["block_sender"]["id"],
        by="approver",
        comment="",
    )
    with heron.store.session() as session:  # one mailbox's folder is gone from disk
        copy = session.get(m.Copy, session.get(m.Action, action_id).params["copies"][0])
        broken = copy.mailbox
        session.get(m.Mailbox, broken).locator = str(heron.settings.home / "no-such")
    done = heron.approve(action_id, by="approver")
    with heron.store.session() as session:
        waiting = views.list_actions(session, "pending", investigation_id)
    for other in waiting:
        heron.reject(other["id"], by="approver", comment="one is enough")
    assert done.status == "partial"
    failed = [t for t in done.result["targets"] if t["status"] == "failed"]
    assert [t["mailbox"] for t in failed] == [broken] and failed[0]["detail"]
    assert detail(heron, investigation_id)["status"] == "partially remediated"

    with heron.store.session() as session:  # the folder is back: a retry finishes
        session.get(m.Mailbox, broken).locator = str(organisation[broken].resolve())
    retried = heron.execute(action_id)
    assert retried.status == "completed"
    assert {t["status"] for t in retried.result["targets"]} == {"done"}
    assert len(files_holding(organisation, sample("payroll"))) == 3


def test_a_hard_delete_is_refused_without_the_purge_permission(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    soft = pending(heron, investigation_id)["soft_delete"]
    hard = heron.propose_hard_delete(soft["id"], by="analyst")
    with pytest.raises(PermissionDenied):
        heron.approve(hard.id, by="approver")
    assert pending(heron, investigation_id)["hard_delete"]["id"] == hard.id
    assert len(files_holding(organisation, sample("payroll"))) == 3
    rejected = heron.reject(hard.id, by="approver", comment="soft delete is enough")
    assert rejected.status == "rejected"
    with pytest.raises(ActionError, match="follows a soft delete"):
        heron.propose_hard_delete(
            pending(heron, investigation_id)["block_sender"]["id"], by="analyst"
        )


def test_an_action_runs_once_at_a_time_and_a_dead_run_is_taken_over(
    heron, organisation
):
    import os
    import socket
    import subprocess

    from heron.actions import service as actions
    from heron.actions.approval import Decision

    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    with heron.store.session() as session:
        approver = heron.person(session, "approver")
        actions.decide(session, action_id, Decision(True, approver))
        action = session.get(m.Action, action_id)  # as another live run left it
        action.status = "running"
        action.run_by = f"{socket.gethostname()}:{os.getpid()}:other"
        action.run_at = utcnow()
    with pytest.raises(ActionError, match="being executed by"):
        heron.execute(action_id)
    assert len(files_holding(organisation, sample("payroll"))) == 3
    assert set(files_holding(organisation, sample("payroll")).values()) == {""}

    ended = subprocess.Popen(["true"])
    ended.wait()
    with heron.store.session() as session:
        session.get(
            m.Action, action_id
        ).run_by = f"{socket.gethostname()}:{ended.pid}:x"
    assert heron.execute(action_id).status == "completed"


def test_undo_returns_a_copy_to_where_the_user_had_moved_it(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    where = files_holding(organisation, sample("payroll"))
    mailbox = sorted(where)[0]
    root = organisation[mailbox]
    (path,) = [
        p
        for p in (root / "cur").iterdir()
        if hashlib.sha256(p.read_bytes()).digest()
        == hashlib.sha256(sample("payroll")).digest()
    ]
    archive = root / ".Archive"
    for sub in ("cur", "new", "tmp"):
        (archive / sub).mkdir(parents=True)
    path.rename(archive / "cur" / path.name)  # the user filed it; heron has not looked
    done = heron.approve(action_id, by="approver")
    assert {t["status"] for t in done.result["targets"]} == {"done"}
    heron.undo(action_id, by="approver")
    assert files_holding(organisation, sample("payroll"))[mailbox] == ".Archive"


def test_tampered_action_parameters_fail_the_action_instead_of_hanging_it(
    heron, organisation
):
    investigation_id = report(heron, "alice@example.org", "payroll")
    action_id = pending(heron, investigation_id)["soft_delete"]["id"]
    with heron.store.session() as session:
        action = session.get(m.Action, action_id)
        action.params = {**action.params, "copies": [{"not": "an id"}]}
    done = heron.approve(action_id, by="approver")
    assert done.status == "failed"
    assert "parameters cannot be read" in done.result["targets"][-1]["detail"]


def test_block_domain_refuses_public_suffixes_and_shared_hosting(heron, organisation):
    investigation_id = report(heron, "alice@example.org", "payroll")
    for domain in ("co.uk", "github.io"):
        with pytest.raises(ActionError, match="public suffix"):
            heron.propose_block_domain(investigation_id, domain, by="analyst")
    with pytest.raises(InvalidInput, match="cannot be blocked"):
        heron.propose_block_domain(investigation_id, "not a domain", by="analyst")
