"""Reading mail from disk: single files, mbox files, Maildir folders, mixed folders.

The only module of the mail layer that does I/O. ``iter_mail`` yields one
``MailItem`` per message, in a stable order (sorted names, depth first). A file
that cannot be read, or is bigger than ``Limits.max_bytes``, is yielded with an
``error`` instead of its bytes, so nothing is lost without a trace. mbox files are
split by a bounded streaming reader: a member starts at a ``From `` line at the
start of the file, or after a blank line when it carries a time of day. The
``From `` line itself is mbox framing, not part of the message, and is dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from heron.mail.facts import Limits

log = logging.getLogger(__name__)

MAILDIR_SUBFOLDERS = ("new", "cur")
_LINE_CHUNK = 64 * 1024
_SEPARATOR = re.compile(rb"From \S+ .*\d\d?:\d\d")


@dataclass(frozen=True)
class MailItem:
    """One message read from disk, or the reason it could not be read.

    ``source`` is the file path; an mbox member adds ``#N`` (0-based) when the file
    holds more than one message. ``mailbox`` and ``folder`` are set for Maildir
    messages: the mailbox's name and the folder (``INBOX``, ``.Junk``).
    """

    source: str
    raw: bytes = b""
    mailbox: str | None = None
    folder: str | None = None
    error: str | None = None


# Folders below a given path are read this deep; deeper ones are named, not read.
MAX_FOLDER_DEPTH = 32


def iter_mail(paths: Iterable[Path], limits: Limits = Limits()) -> Iterator[MailItem]:
    """Every message under ``paths``: files, mbox, Maildirs and folders of any mix."""
    for path in paths:
        yield from _iter_path(Path(path), limits)


def _iter_path(path: Path, limits: Limits, depth: int = 0) -> Iterator[MailItem]:
    if depth > 0 and path.is_symlink():
        yield MailItem(str(path), error="symbolic link inside a folder; not followed")
    elif path.is_symlink() and path.is_dir():
        yield MailItem(str(path), error="symbolic link to a folder; not followed")
    elif path.is_dir() and depth > MAX_FOLDER_DEPTH:
        yield MailItem(
            str(path), error=f"folder nested deeper than {MAX_FOLDER_DEPTH}; not read"
        )
    elif path.is_dir():
        if is_maildir(path):
            yield from _iter_maildir(path, limits)
        elif path.name in MAILDIR_SUBFOLDERS + ("tmp",) and is_maildir(path.parent):
            yield from _iter_maildir(path.parent, limits, only=path.name)
        else:
            yield from _iter_folder(path, limits, depth)
    elif path.exists() and not path.is_file():
        yield MailItem(
            str(path), error="not a regular file (a device or pipe); not read"
        )
    elif path.exists():
        yield from _iter_file(path, limits)
    else:
        yield MailItem(str(path), error="no such file or folder")


def is_maildir(path: Path) -> bool:
    """True for a folder that holds ``cur`` or ``new`` sub-folders."""
    return any((path / name).is_dir() for name in MAILDIR_SUBFOLDERS)


def _iter_folder(path: Path, limits: Limits, depth: int) -> Iterator[MailItem]:
    children, problem = _listing(path)
    if problem is not None:
        yield problem
    for child in children:
        yield from _iter_path(child, limits, depth + 1)


def _listing(path: Path) -> tuple[list[Path], MailItem | None]:
    """A folder's entries in name order, or none and the item saying why."""
    try:
        return sorted(path.iterdir()), None
    except OSError as error:
        return [], MailItem(str(path), error=f"folder not readable: {error}")


def _maildir_names(path: Path) -> tuple[str, str]:
    """The (mailbox, folder) names of a Maildir folder.

    A Maildir++ sub-folder (``.Junk``) belongs to its parent's mailbox; a folder
    called ``Maildir`` takes its parent's name too (``alice/Maildir``).
    """
    if path.name.startswith("."):
        return path.parent.name, path.name
    if path.name.lower() == "maildir":
        return path.parent.name, "INBOX"
    return path.name, "INBOX"


def _iter_maildir(
    path: Path, limits: Limits, only: str | None = None
) -> Iterator[MailItem]:
    mailbox, folder = _maildir_names(path)
    for name in (only,) if only else MAILDIR_SUBFOLDERS:
        yield from _iter_maildir_files(path / name, mailbox, folder, limits)
    if only or path.name.startswith("."):
        return
    children, problem = _listing(path)
    if problem is not None:
        yield problem
    for child in children:
        if child.name.startswith(".") and child.is_dir() and is_maildir(child):
            for item in _iter_maildir(child, limits):
                yield MailItem(item.source, item.raw, mailbox, child.name, item.error)


def _iter_maildir_files(
    folder_path: Path, mailbox: str, folder: str, limits: Limits
) -> Iterator[MailItem]:
    if not folder_path.is_dir():
        return
    files, problem = _listing(folder_path)
    if problem is not None:
        yield problem
    for file in files:
        if file.is_symlink():
            # Whoever can write into a Maildir could point a link at any file the
            # heron process may read: links inside mailboxes are never followed.
            yield MailItem(str(file), error="symbolic link in a Maildir; not followed")
        elif file.is_file():
            item = _read_whole(file, limits)
            yield MailItem(item.source, item.raw, mailbox, folder, item.error)
        else:
            yield MailItem(
                str(file), error="not a regular file (a device or pipe); not read"
            )


def _iter_file(path: Path, limits: Limits) -> Iterator[MailItem]:
    try:
        with path.open("rb") as stream:
            first = stream.read(5)
            if first == b"From ":
                stream.seek(0)
                yield from _split_mbox(stream, str(path), limits)
                return
    except OSError as error:
        yield MailItem(str(path), error=f"file not readable: {error}")
        return
    yield _read_whole(path, limits)


def _read_whole(path: Path, limits: Limits) -> MailItem:
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            return MailItem(
                str(path), error=f"{size} bytes, over the {limits.max_bytes} limit"
            )
        with path.open("rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
        if len(raw) > limits.max_bytes:
            return MailItem(str(path), error=f"over the {limits.max_bytes} byte limit")
        return MailItem(str(path), raw)
    except OSError as error:
        return MailItem(str(path), error=f"file not readable: {error}")


# Known limit: ">From " lines inside mbox members are kept as written (mboxrd
# unquoting is not done), since mboxo and mboxrd files cannot be told apart.
class _Member:
    """One mbox member being read: its lines, or the fact it is too big."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.size = 0
        self.too_big = False

    def add(self, line: bytes, limit: int) -> None:
        self.size += len(line)
        if self.size > limit:
            self.too_big = True
            self.lines = []
        elif not self.too_big:
            self.lines.append(line)


def _split_mbox(stream: BinaryIO, source: str, limits: Limits) -> Iterator[MailItem]:
    pending: MailItem | None = None
    index = 0
    for member in _mbox_members(stream, limits.max_bytes):
        if pending is not None:
            yield pending
        name = f"{source}#{index}"
        if member.too_big:
            pending = MailItem(
                name, error=f"mbox member over the {limits.max_bytes} byte limit"
            )
        else:
            pending = MailItem(name, b"".join(member.lines))
        index += 1
    if pending is not None:
        # A file holding a single message keeps its plain path as source.
        yield (
            pending if index > 1 else MailItem(source, pending.raw, error=pending.error)
        )


def _mbox_members(stream: BinaryIO, limit: int) -> Iterator[_Member]:
    member: _Member | None = None
    previous_blank = True
    at_line_start = True
    while chunk := stream.readline(_LINE_CHUNK):
        starts = (
            at_line_start and previous_blank and _is_separator(chunk, member is None)
        )
        at_line_start = chunk.endswith(b"\n")
        if starts:
            if member is not None:
                yield member
            member = _Member()
            _skip_rest_of_line(stream, at_line_start)
            at_line_start = True
            previous_blank = False
            continue
        if member is not None:
            member.add(chunk, limit)
        previous_blank = chunk in (b"\n", b"\r\n")
    if member is not None:
        yield member


def _is_separator(line: bytes, first: bool) -> bool:
    # The first line only has to start with "From "; later ones must also carry the
    # time of day every mbox writer puts there, so an unescaped "From the desk of"
    # paragraph in a body does not split a message.
    if not line.startswith(b"From "):
        return False
    return first or _SEPARATOR.match(line) is not None


def _skip_rest_of_line(stream: BinaryIO, complete: bool) -> None:
    while not complete:
        chunk = stream.readline(_LINE_CHUNK)
        complete = not chunk or chunk.endswith(b"\n")
