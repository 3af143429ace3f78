"""Postfix connector: block senders and domains through a ``check_sender_access``
map, and optionally hold their mail already in the queue.

heron owns the lines it writes: each is ``KEY REJECT heron: REASON``. Blocking
writes the map's source file atomically, runs ``postmap`` and then ``postfix
reload`` (unless ``reload`` is off), so that no SMTP process keeps the old table.
Unblocking removes only a line heron wrote, so a block an administrator wrote by
hand stays. Postfix must
list the map in its restrictions, for example
``smtpd_sender_restrictions = check_sender_access hash:/etc/postfix/heron_sender_access``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile

from heron.config import PostfixSettings
from heron.connectors.base import Connector, Operation, Outcome, OutcomeStatus
from heron.errors import ConnectorError

log = logging.getLogger(__name__)

MARK = "heron:"
_SENDER = re.compile(r"[^@\s]{1,64}@(?:[a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}")
_DOMAIN = re.compile(r"(?:[a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}")
COMMAND_TIMEOUT = 60


class PostfixConnector(Connector):
    kind = "postfix"
    operations = frozenset({Operation.BLOCK_SENDER})

    def __init__(self, settings: PostfixSettings) -> None:
        self.settings = settings
        self.name = settings.name

    def block(self, kind: str, value: str, reason: str) -> Outcome:
        key = _key(kind, value)
        lines = self._lines()
        if any(_line_key(line) == key for line in lines):
            return Outcome(OutcomeStatus.ALREADY_THERE, detail=f"{key} is in the map")
        printable = "".join(c if 32 <= ord(c) < 127 else " " for c in reason)
        text = " ".join(printable.split())[:200]
        self._write(lines, [*lines, f"{key} REJECT {MARK} {text or 'blocked'}"])
        held = self._hold(key) if self.settings.hold_queued else 0
        log.info("postfix map %s blocks %s", self.settings.access_map, key)
        return Outcome(
            OutcomeStatus.DONE,
            detail=f"{key} refused at SMTP"
            + (f"; {held} queued message(s) held" if held else ""),
        )

    def unblock(self, kind: str, value: str) -> Outcome:
        key = _key(kind, value)
        lines = self._lines()
        kept = [
            line
            for line in lines
            if not (_line_key(line) == key and f"REJECT {MARK}" in line)
        ]
        if len(kept) == len(lines):
            return Outcome(
                OutcomeStatus.NOT_FOUND, detail=f"no line heron wrote for {key}"
            )
        self._write(lines, kept)
        released = self._release(key) if self.settings.hold_queued else 0
        return Outcome(
            OutcomeStatus.DONE,
            detail=f"{key} accepted again"
            + (f"; {released} held message(s) released" if released else ""),
        )

    def blocked(self) -> list[str]:
        """The keys the map holds, heron's and others'."""
        return [k for k in (_line_key(line) for line in self._lines()) if k]

    def _lines(self) -> list[str]:
        path = self.settings.access_map
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise ConnectorError(f"{self.name}: cannot read {path}: {exc}") from None

    def _write(self, before: list[str], lines: list[str]) -> None:
        """Write the map and build its table; when building fails, the map goes
        back to ``before``, so that the file never holds a line Postfix lacks."""
        self._replace(lines)
        try:
            self._run(
                [
                    self.settings.postmap,
                    f"{self.settings.map_type}:{self.settings.access_map}",
                ]
            )
        except ConnectorError:
            self._replace(before)
            raise
        if self.settings.reload:
            # An SMTP process already running may keep the old table until it
            # exits; a reload makes every one of them finish and start afresh.
            self._run(["postfix", *self._config(), "reload"])

    def _replace(self, lines: list[str]) -> None:
        path = self.settings.access_map
        if path.is_symlink():
            raise ConnectorError(
                f"{self.name}: {path} is a symbolic link; point access_map at the file"
            )
        try:
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".heron-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write("\n".join(lines) + ("\n" if lines else ""))
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except OSError as exc:
            raise ConnectorError(f"{self.name}: cannot write {path}: {exc}") from None

    def _queue(self) -> list[dict[str, object]]:
        output = self._run(["postqueue", *self._config(), "-j"])
        entries = []
        for line in output.splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("postqueue -j printed a line that is not JSON")
        return entries

    def _hold(self, key: str) -> int:
        ids = [
            str(e["queue_id"])
            for e in self._queue()
            if e.get("queue_name") != "hold" and _matches(str(e.get("sender", "")), key)
        ]
        for queue_id in ids:
            self._run(["postsuper", *self._config(), "-h", queue_id])
        return len(ids)

    def _release(self, key: str) -> int:
        ids = [
            str(e["queue_id"])
            for e in self._queue()
            if e.get("queue_name") == "hold" and _matches(str(e.get("sender", "")), key)
        ]
        for queue_id in ids:
            self._run(["postsuper", *self._config(), "-H", queue_id])
        return len(ids)

    def _config(self) -> list[str]:
        return ["-c", str(self.settings.config_dir)] if self.settings.config_dir else []

    def _run(self, command: list[str]) -> str:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConnectorError(f"{self.name}: {command[0]} failed: {exc}") from None
        if done.returncode != 0:
            raise ConnectorError(
                f"{self.name}: {' '.join(command[:2])} exited {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[:300]}"
            )
        return done.stdout


def _key(kind: str, value: str) -> str:
    key = value.strip().lower()
    pattern = _SENDER if kind == "sender" else _DOMAIN if kind == "domain" else None
    if pattern is None:
        raise ConnectorError(f"postfix blocks a sender or a domain, not a {kind}")
    if (
        not pattern.fullmatch(key)
        or any(c in key for c in "\"'\\#")
        or any(ord(c) < 33 or ord(c) == 127 for c in key)
    ):
        raise ConnectorError(f"{value[:100]!r} is not a {kind} Postfix can match")
    return key


def _line_key(line: str) -> str:
    text = line.strip()
    if not text or text.startswith("#"):
        return ""
    return text.split(None, 1)[0].lower()


def _matches(sender: str, key: str) -> bool:
    sender = sender.lower()
    if "@" in key:
        return sender == key
    domain = sender.rpartition("@")[2]
    return domain == key or domain.endswith("." + key)
