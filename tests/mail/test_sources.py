"""Reading mail from disk: files, mbox, Maildir and mixed folders."""

from __future__ import annotations

from pathlib import Path

from heron.mail.facts import Limits
from heron.mail.sources import iter_mail

MESSAGE = b"From: a@example.com\nSubject: %s\n\nbody\n"
SEP = b"From sender@example.com Mon Mar  4 09:00:00 2024\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_maildir(root: Path) -> None:
    for name in ("cur", "new", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    write(root / "new" / "2.host", MESSAGE % b"new one")
    write(root / "cur" / "1.host:2,S", MESSAGE % b"seen one")
    write(root / "tmp" / "3.host", MESSAGE % b"in delivery")
    junk = root / ".Junk"
    for name in ("cur", "new", "tmp"):
        (junk / name).mkdir(parents=True, exist_ok=True)
    write(junk / "cur" / "4.host:2,", MESSAGE % b"junk")


def test_maildir_reads_new_and_cur_with_folders(tmp_path: Path) -> None:
    make_maildir(tmp_path / "alice")
    items = list(iter_mail([tmp_path / "alice"]))
    assert [(i.mailbox, i.folder) for i in items] == [
        ("alice", "INBOX"),
        ("alice", "INBOX"),
        ("alice", ".Junk"),
    ]
    assert items[0].raw.endswith(b"new one\n\nbody\n") or b"new one" in items[0].raw
    assert all(i.error is None for i in items)


def test_maildir_named_maildir_takes_its_parent_name(tmp_path: Path) -> None:
    make_maildir(tmp_path / "bob" / "Maildir")
    items = list(iter_mail([tmp_path / "bob" / "Maildir"]))
    assert {i.mailbox for i in items} == {"bob"}


def test_mbox_with_three_messages(tmp_path: Path) -> None:
    data = b"".join(
        b"From sender@example.com Mon Mar  4 09:00:00 2024\n" + MESSAGE % n + b"\n"
        for n in (b"one", b"two", b"three")
    )
    path = write(tmp_path / "box.mbox", data)
    items = list(iter_mail([path]))
    assert [i.source for i in items] == [f"{path}#0", f"{path}#1", f"{path}#2"]
    assert [i.raw.split(b"\n")[1] for i in items] == [
        b"Subject: one",
        b"Subject: two",
        b"Subject: three",
    ]
    assert not any(i.raw.startswith(b"From ") for i in items)


def test_single_message_with_a_from_line_is_one_message(tmp_path: Path) -> None:
    data = b"From x@example.com Mon Mar  4 09:00:00 2024\n" + MESSAGE % b"solo"
    data += b"\nFrom the desk of someone: not a separator\n"
    path = write(tmp_path / "one.eml", data)
    [item] = list(iter_mail([path]))
    assert item.source == str(path) and b"Subject: solo" in item.raw


def test_oversized_files_and_members_are_errors_not_reads(tmp_path: Path) -> None:
    big = write(tmp_path / "big.eml", MESSAGE % (b"x" * 500))
    box = write(
        tmp_path / "box", SEP + MESSAGE % (b"y" * 500) + b"\n" + SEP + b"small\n"
    )
    items = list(iter_mail([big, box], Limits(max_bytes=100)))
    assert items[0].error and "limit" in items[0].error and items[0].raw == b""
    assert items[1].error and items[2].raw == b"small\n"


def test_missing_path_is_an_error_item(tmp_path: Path) -> None:
    [item] = list(iter_mail([tmp_path / "absent.eml"]))
    assert item.error == "no such file or folder"


def test_mixed_folder_is_read_recursively_in_order(tmp_path: Path) -> None:
    write(tmp_path / "b.eml", MESSAGE % b"b")
    write(tmp_path / "a.msg", b"\xd0\xcf\x11\xe0 not really")
    write(
        tmp_path / "sub" / "c.mbox",
        SEP + MESSAGE % b"c1" + b"\n" + SEP + MESSAGE % b"c2",
    )
    make_maildir(tmp_path / "z-maildir")
    items = list(iter_mail([tmp_path]))
    names = [Path(i.source.split("#")[0]).name for i in items]
    assert names == [
        "a.msg",
        "b.eml",
        "c.mbox",
        "c.mbox",
        "2.host",
        "1.host:2,S",
        "4.host:2,",
    ]
    assert items[-1].folder == ".Junk" and items[0].mailbox is None


def test_a_device_is_refused_not_read(tmp_path):
    from heron.mail.sources import iter_mail

    [item] = list(iter_mail([Path("/dev/zero")]))
    assert item.raw == b"" and "not a regular file" in item.error


def test_folders_nested_past_the_limit_are_named_not_walked(tmp_path):
    from heron.mail.sources import MAX_FOLDER_DEPTH, iter_mail

    deep = tmp_path
    for level in range(MAX_FOLDER_DEPTH + 5):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "m.eml").write_bytes(b"Subject: deep\n\nx\n")
    items = list(iter_mail([tmp_path]))
    assert [i.raw for i in items] == [b""]
    assert "nested deeper than" in items[0].error
