import hashlib
from pathlib import Path

import pytest

from heron.connectors.base import CopyRef, OutcomeStatus
from heron.connectors.maildir import MaildirConnector, folder_location
from heron.domain.verdicts import Location
from heron.errors import ConnectorError

RAW = b"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n"
SHA = hashlib.sha256(RAW).hexdigest()


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    root = tmp_path / "alice@example.org"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1.abc.host:2,S").write_bytes(RAW)
    return root


def test_soft_delete_moves_the_file_to_the_recoverable_folder(mailbox: Path):
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    outcome = connector.move(copy, Location.DELETED, SHA)
    assert outcome.status is OutcomeStatus.DONE
    assert outcome.copy is not None and outcome.copy.location is Location.DELETED
    assert not (mailbox / "cur" / "1.abc.host:2,S").exists()
    assert (
        mailbox / ".Recoverable Items" / "cur" / "1.abc.host:2,S"
    ).read_bytes() == RAW


def test_moving_twice_reports_already_in_destination(mailbox: Path):
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    connector.move(copy, Location.JUNK, SHA)
    again = connector.move(copy, Location.JUNK, SHA)
    assert again.status is OutcomeStatus.ALREADY_THERE
    assert [c.location for c in connector.find("alice@example.org", SHA)] == [
        Location.JUNK
    ]


def test_a_copy_the_user_moved_is_found_by_its_unique_name(mailbox: Path):
    (mailbox / ".Archive" / "cur").mkdir(parents=True)
    (mailbox / "cur" / "1.abc.host:2,S").rename(
        mailbox / ".Archive" / "cur" / "1.abc.host:2,S"
    )
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    outcome = connector.move(copy, Location.DELETED, SHA)
    assert outcome.status is OutcomeStatus.DONE


def test_a_deleted_copy_is_not_found(mailbox: Path):
    (mailbox / "cur" / "1.abc.host:2,S").unlink()
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    assert connector.move(copy, Location.DELETED, SHA).status is OutcomeStatus.NOT_FOUND


def test_a_locator_outside_the_mailbox_is_not_followed(mailbox: Path, tmp_path: Path):
    outside = tmp_path / "secret"
    outside.write_bytes(b"x")
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "../secret", Location.INBOX)
    assert (
        connector.move(copy, Location.DELETED, "0" * 64).status
        is OutcomeStatus.NOT_FOUND
    )
    assert outside.exists()


def test_unknown_mailbox_is_a_connector_error(mailbox: Path):
    connector = MaildirConnector({"alice@example.org": mailbox})
    with pytest.raises(ConnectorError):
        connector.find("mallory@example.org", SHA)


@pytest.mark.parametrize(
    ("folder", "location"),
    [
        (None, Location.INBOX),
        ("INBOX", Location.INBOX),
        (".Junk", Location.JUNK),
        ("Junk", Location.JUNK),
        (".Archive", Location.INBOX),
    ],
)
def test_folder_names_map_to_locations(folder, location):
    assert folder_location(folder) is location


def test_a_symlinked_folder_is_never_written_through(mailbox: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (mailbox / ".Recoverable Items").symlink_to(elsewhere, target_is_directory=True)
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    outcome = connector.move(copy, Location.DELETED, SHA)
    assert outcome.status is OutcomeStatus.FAILED
    assert list(elsewhere.iterdir()) == []
    assert (mailbox / "cur" / "1.abc.host:2,S").exists()


def test_another_message_under_the_same_unique_name_is_never_moved(mailbox: Path):
    (mailbox / "cur" / "1.abc.host:2,S").unlink()
    (mailbox / ".Work" / "cur").mkdir(parents=True)
    other = mailbox / ".Work" / "cur" / "1.abc.host:2,S"
    other.write_bytes(
        b"From: colleague@example.org\r\nSubject: numbers\r\n\r\nlegit\r\n"
    )
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    assert connector.move(copy, Location.DELETED, SHA).status is OutcomeStatus.NOT_FOUND
    assert other.exists()


def test_a_file_replaced_at_the_recorded_place_is_never_moved(mailbox: Path):
    recorded = mailbox / "cur" / "1.abc.host:2,S"
    recorded.write_bytes(b"From: colleague@example.org\r\nSubject: other\r\n\r\nx\r\n")
    connector = MaildirConnector({"alice@example.org": mailbox})
    copy = CopyRef("alice@example.org", "cur/1.abc.host:2,S", Location.INBOX)
    assert connector.move(copy, Location.DELETED, SHA).status is OutcomeStatus.NOT_FOUND
    assert recorded.exists()


def test_restore_puts_a_copy_back_in_the_folder_it_came_from(mailbox: Path):
    archive = mailbox / ".Archive"
    for sub in ("cur", "new", "tmp"):
        (archive / sub).mkdir(parents=True)
    (mailbox / "cur" / "1.abc.host:2,S").rename(archive / "cur" / "1.abc.host:2,S")
    connector = MaildirConnector({"alice@example.org": mailbox})
    origin = ".Archive/cur/1.abc.host:2,S"
    copy = CopyRef("alice@example.org", origin, Location.INBOX)
    deleted = connector.move(copy, Location.DELETED, SHA)
    assert deleted.copy is not None
    back = connector.move(deleted.copy, Location.INBOX, SHA, origin=origin)
    assert back.status is OutcomeStatus.DONE
    assert (archive / "cur" / "1.abc.host:2,S").exists()
    # An origin that stands for another location is not used.
    again = connector.move(back.copy, Location.JUNK, SHA, origin=origin)
    assert again.copy is not None and again.copy.locator.startswith(".Junk/")
