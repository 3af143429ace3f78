"""Maildir connector: mailboxes as Maildir folders on a local disk.

Each mailbox is one Maildir (``cur``, ``new``, ``tmp``) with Maildir++ subfolders:
the inbox is the top level, junk is ``.Junk``, soft-deleted copies go to
``.Recoverable Items`` (kept until someone empties it), quarantine is
``.Quarantine``. A copy's locator is its path relative to the Maildir root. A move is
one rename within the mailbox, so it is atomic, and running it twice finds the copy
already in its destination.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from heron.connectors.base import Connector, CopyRef, Operation, Outcome, OutcomeStatus
from heron.domain.verdicts import Location
from heron.errors import ConnectorError

log = logging.getLogger(__name__)

FOLDERS: dict[Location, str] = {
    Location.INBOX: "",
    Location.JUNK: ".Junk",
    Location.DELETED: ".Recoverable Items",
    Location.QUARANTINE: ".Quarantine",
}
# Where users and mail clients put mail themselves: their trash is "deleted" and
# their spam folder "junk", though heron moves copies into the folders above.
FOLDER_ALIASES: dict[str, Location] = {
    ".Trash": Location.DELETED,
    ".Deleted Items": Location.DELETED,
    ".Deleted Messages": Location.DELETED,
    ".Spam": Location.JUNK,
    ".Junk E-mail": Location.JUNK,
}
_BY_FOLDER = {
    **FOLDER_ALIASES,
    **{folder: location for location, folder in FOLDERS.items()},
}


class MaildirConnector(Connector):
    """Mailboxes that are Maildirs under known paths."""

    name = "maildir"
    kind = "maildir"
    operations = frozenset(
        {
            Operation.LIST_MAILBOXES,
            Operation.FIND,
            Operation.MOVE,
            Operation.SOFT_DELETE,
            Operation.HARD_DELETE,
            Operation.RESTORE,
        }
    )

    def __init__(self, mailboxes: dict[str, Path]) -> None:
        self._roots = dict(mailboxes)

    def list_mailboxes(self) -> list[str]:
        return sorted(self._roots)

    def find(self, mailbox: str, sha256: str, message_id: str = "") -> list[CopyRef]:
        root = self._root(mailbox)
        try:
            return [
                CopyRef(mailbox, _relative(root, path), location_of(root, path))
                for path in _message_files(root)
                if _holds(path, sha256)
            ]
        except OSError as exc:
            raise ConnectorError(f"mailbox {mailbox}: {exc.strerror}") from None

    def move(
        self,
        copy: CopyRef,
        destination: Location,
        sha256: str,
        message_id: str = "",
        origin: str = "",
    ) -> Outcome:
        root = self._root(copy.mailbox)
        if destination not in FOLDERS:
            raise ConnectorError(f"Maildir cannot move a copy to {destination.value}")
        try:
            source = self._locate(root, copy, sha256)
        except OSError as exc:
            raise ConnectorError(f"mailbox {copy.mailbox}: {exc.strerror}") from None
        if source is None:
            return Outcome(OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}")
        origin_locator = _relative(root, source)
        origin_location = location_of(root, source)
        if location_of(root, source) is destination:
            return Outcome(
                OutcomeStatus.ALREADY_THERE, _ref(copy.mailbox, root, source)
            )
        try:
            folder = _origin_folder(root, origin, destination)
            target_dir = _ensure_folder(root, folder) / "cur"
            target = target_dir / _with_seen_flag(source.name, source.parent.name)
            os.replace(source, target)
        except ConnectorError as exc:
            return Outcome(OutcomeStatus.FAILED, copy, str(exc))
        except OSError as exc:
            return Outcome(OutcomeStatus.FAILED, copy, f"rename failed: {exc.strerror}")
        log.info("maildir moved copy in %s to %s", copy.mailbox, destination.value)
        return Outcome(
            OutcomeStatus.DONE,
            _ref(copy.mailbox, root, target),
            origin=CopyRef(copy.mailbox, origin_locator, origin_location),
        )

    def purge(self, copy: CopyRef, sha256: str, message_id: str = "") -> Outcome:
        root = self._root(copy.mailbox)
        source = self._locate(root, copy, sha256)
        if source is None:
            return Outcome(OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}")
        try:
            source.unlink()
        except OSError as exc:
            return Outcome(OutcomeStatus.FAILED, copy, f"unlink failed: {exc.strerror}")
        log.info("maildir deleted a copy in %s for good", copy.mailbox)
        return Outcome(OutcomeStatus.DONE, CopyRef(copy.mailbox, "", Location.GONE))

    def _root(self, mailbox: str) -> Path:
        try:
            root = self._roots[mailbox]
        except KeyError:
            raise ConnectorError(f"mailbox {mailbox} is not a known Maildir") from None
        if not (root / "cur").is_dir():
            raise ConnectorError(f"mailbox {mailbox}: no Maildir at {root} any more")
        return root

    def _locate(self, root: Path, copy: CopyRef, sha256: str) -> Path | None:
        """The file holding this copy, found where heron saw it, by its unique name
        or by its content; never a file whose bytes are not the message's."""
        path = root / copy.locator
        if (
            copy.locator
            and _inside(root, path)
            and path.is_file()
            and _holds(path, sha256)
        ):
            return path
        # The user or another action may have moved it: look by unique name, then content.
        # Known limit: this fallback reads every file of the mailbox; a mailbox of
        # hundreds of thousands of messages needs an index of unique names to hashes.
        unique = Path(copy.locator).name.split(":", 1)[0]
        files = _message_files(root)
        for candidate in files:
            if (
                unique
                and candidate.name.split(":", 1)[0] == unique
                and _holds(candidate, sha256)
            ):
                return candidate
        for candidate in files:
            if _holds(candidate, sha256):
                return candidate
        return None


def location_of(root: Path, path: Path) -> Location:
    """The location a message file's folder stands for (other folders count as inbox)."""
    folder = path.parent.parent
    name = "" if folder == root else folder.name
    return _BY_FOLDER.get(name, Location.INBOX)


def folder_location(folder: str | None) -> Location:
    """The location of a Maildir++ folder name as ``iter_mail`` reports it."""
    if not folder or folder.upper() == "INBOX":
        return Location.INBOX
    name = folder if folder.startswith(".") else "." + folder
    return _BY_FOLDER.get(name, Location.INBOX)


def _message_files(root: Path) -> list[Path]:
    """Message files of the mailbox and its Maildir++ folders; links are not followed."""
    folders = [root] + sorted(
        p
        for p in root.iterdir()
        if p.name.startswith(".") and p.is_dir() and not p.is_symlink()
    )
    files: list[Path] = []
    for folder in folders:
        for sub in ("cur", "new"):
            directory = folder / sub
            if directory.is_dir() and not directory.is_symlink():
                files.extend(
                    sorted(
                        p
                        for p in directory.iterdir()
                        if p.is_file() and not p.is_symlink()
                    )
                )
    return files


def _origin_folder(root: Path, origin: str, destination: Location) -> str:
    """The Maildir++ folder an earlier locator names, when it still exists and
    stands for ``destination``; else heron's own folder for ``destination``."""
    parts = Path(origin).parts if origin else ()
    if len(parts) == 3 and parts[0].startswith(".") and parts[1] in ("cur", "new"):
        folder = root / parts[0]
        if (
            folder.is_dir()
            and not folder.is_symlink()
            and _BY_FOLDER.get(parts[0], Location.INBOX) is destination
        ):
            return parts[0]
    return FOLDERS[destination]


def _ensure_folder(root: Path, name: str) -> Path:
    """The folder, created when missing. A folder or sub-folder that is a symbolic
    link is refused: following it would move mail out of the mailbox."""
    folder = root / name if name else root
    for path in (folder, folder / "cur", folder / "new", folder / "tmp"):
        if path.is_symlink() or not _inside(root, path):
            raise ConnectorError(
                f"{path} is a symbolic link or leaves the mailbox; not used"
            )
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if name:
        (folder / "maildirfolder").touch(exist_ok=True)
    return folder


def _with_seen_flag(name: str, subdir: str) -> str:
    if subdir == "new" and ":" not in name:
        return name + ":2,"
    return name


def _ref(mailbox: str, root: Path, path: Path) -> CopyRef:
    return CopyRef(mailbox, _relative(root, path), location_of(root, path))


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _holds(path: Path, sha256: str) -> bool:
    """True when the file's bytes are the message's (a unique name can be reused)."""
    try:
        return _sha256(path) == sha256
    except OSError:
        return False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
