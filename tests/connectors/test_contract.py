"""The connector contract, run against every connector that handles copies:
Maildir on disk, Dovecot in the mail lab, and Microsoft 365 over Graph's
documented responses. Each must find a copy, move it, report a second move as
already done, restore it, delete it for good, and refuse what it does not support
with ``Unsupported``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from heron.config import DovecotSettings, GraphSettings
from heron.connectors.base import (
    Connector,
    CopyRef,
    Operation,
    OutcomeStatus,
    Unsupported,
)
from heron.connectors.dovecot import DovecotConnector
from heron.connectors.graph import GraphConnector
from heron.connectors.maildir import MaildirConnector
from heron.domain.verdicts import Location
from tests.connectors.test_graph import USER as GRAPH_USER
from tests.connectors.test_graph import FakeGraph
from tests.maillab import MASTER, MASTER_PASSWORD, Lab, addresses


@dataclass
class System:
    """A connector with one mailbox, and a way to put a message into it."""

    connector: Connector
    mailbox: str
    deliver: Callable[[bytes, str], str]  # raw, Message-ID -> sha256 as stored
    compares_content: bool = True


def message(tag: str) -> tuple[bytes, str]:
    mail = EmailMessage()
    mail["From"] = "sender@outside.test"
    mail["To"] = "someone@example.test"
    mail["Subject"] = f"contract {tag}"
    mail["Message-ID"] = f"<{tag}@contract.test>"
    mail.set_content(f"body {tag}\n")
    return mail.as_bytes(), f"<{tag}@contract.test>"


def _maildir(tmp_path: Path) -> System:
    root = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)

    def deliver(raw: bytes, _: str) -> str:
        (root / "new" / f"{hashlib.sha1(raw).hexdigest()}.host").write_bytes(raw)
        return hashlib.sha256(raw).hexdigest()

    return System(
        MaildirConnector({"box@example.test": root}), "box@example.test", deliver
    )


def _dovecot(lab: Lab) -> System:
    (user,) = addresses("contract")
    os.environ["HERON_SECRET_CONTRACT"] = MASTER_PASSWORD
    connector = DovecotConnector(
        DovecotSettings(
            type="dovecot",
            name="lab",
            imap_port=lab.dovecot.imap_port,
            imap_tls="none",
            sieve_port=lab.dovecot.sieve_port,
            sieve_tls="none",
            allow_plaintext=True,
            master_user=MASTER,
            password_env="HERON_SECRET_CONTRACT",
            users=[user],
        )
    )

    def deliver(raw: bytes, message_id: str) -> str:
        lab.dovecot.deliver(raw, "sender@outside.test", [user])
        (copy,) = [c for c in _all(connector, user, message_id)]
        return copy

    return System(connector, user, deliver)


def _all(connector: DovecotConnector, user: str, message_id: str) -> list[str]:
    """The sha256 of what the server stored (LMTP adds trace headers)."""
    with connector._imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "Message-ID", message_id])
        bodies = client.fetch(uids, ["BODY.PEEK[]"])
        return [hashlib.sha256(b[b"BODY[]"]).hexdigest() for b in bodies.values()]


def _graph() -> System:
    fake = FakeGraph()
    fake.messages.clear()
    fake.message_ids.clear()
    connector = GraphConnector(
        GraphSettings(type="graph", name="m365", tenant_id="t", client_id="c"),
        token=lambda: "token-1",
        transport=httpx.MockTransport(fake.handler),
    )

    def deliver(raw: bytes, message_id: str) -> str:
        new = f"AAMkAGI2-{len(fake.messages) + 1}"
        fake.messages[new] = "AAMkAGI2-inbox"
        fake.message_ids[new] = message_id
        return ""

    return System(connector, GRAPH_USER, deliver, compares_content=False)


@pytest.fixture(
    params=["maildir", pytest.param("dovecot", marks=pytest.mark.mailserver), "graph"]
)
def system(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[System]:
    if request.param == "maildir":
        made = _maildir(tmp_path)
    elif request.param == "dovecot":
        made = _dovecot(request.getfixturevalue("lab"))
    else:
        made = _graph()
    yield made
    made.connector.close()


def test_a_copy_is_found_moved_once_restored_and_deleted_for_good(system, request):
    raw, message_id = message(f"c-{request.node.callspec.id}-{os.getpid()}")
    sha = system.deliver(raw, message_id)
    connector, mailbox = system.connector, system.mailbox

    (found,) = connector.find(mailbox, sha, message_id)
    assert found.location is Location.INBOX
    moved = connector.move(found, Location.DELETED, sha, message_id)
    assert moved.status is OutcomeStatus.DONE and moved.copy is not None
    assert moved.copy.location is Location.DELETED
    # Asked again with the old locator: the work is done, nothing moves twice.
    again = connector.move(found, Location.DELETED, sha, message_id)
    assert again.status is OutcomeStatus.ALREADY_THERE
    assert [c.location for c in connector.find(mailbox, sha, message_id)] == [
        Location.DELETED
    ]
    back = connector.move(moved.copy, Location.INBOX, sha, message_id)
    assert back.status is OutcomeStatus.DONE
    (restored,) = connector.find(mailbox, sha, message_id)
    assert restored.location is Location.INBOX

    gone = connector.purge(restored, sha, message_id)
    assert gone.status is OutcomeStatus.DONE
    assert connector.find(mailbox, sha, message_id) == []
    assert connector.purge(restored, sha, message_id).status is OutcomeStatus.NOT_FOUND


def test_a_copy_whose_content_differs_is_never_touched(system, request):
    raw, message_id = message(f"d-{request.node.callspec.id}-{os.getpid()}")
    system.deliver(raw, message_id)
    stranger = CopyRef(system.mailbox, "", Location.INBOX)
    wrong = "f" * 64
    found = system.connector.find(system.mailbox, wrong, message_id)
    if not system.compares_content:
        # Documented: Graph's copy is not the delivered bytes, so the Message-ID
        # alone names the copy.
        assert len(found) == 1
        return
    assert found == []
    outcome = system.connector.move(stranger, Location.DELETED, wrong, message_id)
    assert outcome.status is OutcomeStatus.NOT_FOUND


def test_what_a_connector_does_not_support_raises_unsupported(system):
    connector = system.connector
    calls = {
        Operation.READ_FORWARDING: lambda: connector.forwarding(
            system.mailbox, frozenset()
        ),
        Operation.READ_DELEGATIONS: lambda: connector.delegations(system.mailbox),
        Operation.BLOCK_SENDER: lambda: connector.block("sender", "a@b.test", "x"),
        Operation.INGEST: lambda: list(connector.fetch_new(system.mailbox, {})),
    }
    for operation, call in calls.items():
        if connector.supports(operation):
            assert isinstance(call(), list)
        else:
            with pytest.raises(Unsupported, match=operation.value):
                call()
