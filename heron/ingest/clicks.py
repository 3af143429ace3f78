"""URL clicks from a JSON-lines click log.

One JSON object per line::

    {"type": "url.clicked", "user": "ann@example.org", "url": "https://...",
     "time": "2026-11-03T10:04:00Z", "message": "<id@sender.test>"}

``type`` may be left out; when present it must be ``url.clicked``. ``message`` is
optional: the clicked message's Message-ID or the sha256 heron stores it under.
``time`` is ISO 8601; one without a zone is read as UTC, with a warning. A line that
cannot be read is a counted warning naming its line number; reading goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from heron.domain.urls import normalise_url, url_host
from heron.intel.lists import ListEntry

# Longest line read; a click record is a few hundred bytes.
MAX_LINE = 64 * 1024
MAX_URL = 8192


@dataclass(frozen=True)
class Click:
    user: str
    url: str
    time: datetime
    message: str = ""
    line: int = 0


@dataclass
class ClickLog:
    clicks: list[Click] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_clicks(path: Path) -> ClickLog:
    """Every click in the file, and a warning per line that is not one."""
    log = ClickLog()
    for number, line in _lines(path, log):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            log.warnings.append(f"{path.name}:{number}: not JSON ({exc.msg})")
            continue
        except RecursionError:
            log.warnings.append(f"{path.name}:{number}: JSON nested too deep")
            continue
        except ValueError as exc:  # an integer of thousands of digits, and the like
            log.warnings.append(f"{path.name}:{number}: not readable JSON ({exc})")
            continue
        if not isinstance(record, dict):
            log.warnings.append(f"{path.name}:{number}: not a JSON object")
            continue
        click = _click(record, number, log.warnings, path.name)
        if click is not None:
            log.clicks.append(click)
    return log


def _lines(path: Path, log: ClickLog) -> Iterator[tuple[int, str]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        log.warnings.append(f"{path}: cannot read: {exc.strerror}")
        return
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE:
                log.warnings.append(
                    f"{path.name}:{number}: line longer than {MAX_LINE} bytes; skipped"
                )
                while raw and not raw.endswith(b"\n"):  # the rest of that line
                    raw = handle.readline(MAX_LINE + 1)
                continue
            yield number, raw.decode("utf-8", "replace")


def _click(
    record: dict[str, object], number: int, warnings: list[str], name: str
) -> Click | None:
    where = f"{name}:{number}"
    kind = record.get("type", "url.clicked")
    if kind != "url.clicked":
        warnings.append(f"{where}: type {kind!r} is not url.clicked; skipped")
        return None
    user, url, when = record.get("user"), record.get("url"), record.get("time")
    address = _address(user) if isinstance(user, str) and len(user) <= 320 else None
    if address is None:
        warnings.append(f"{where}: no user address; skipped")
        return None
    if not isinstance(url, str) or len(url) > MAX_URL or not _is_url(url):
        warnings.append(
            f"{where}: no http(s) url (or one longer than {MAX_URL}); skipped"
        )
        return None
    if not isinstance(when, str):
        warnings.append(f"{where}: no time; skipped")
        return None
    try:
        moment = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    except ValueError:
        warnings.append(f"{where}: time {when[:40]!r} is not ISO 8601; skipped")
        return None
    if moment.tzinfo is None:
        warnings.append(f"{where}: time without a zone read as UTC")
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        warnings.append(f"{where}: time {when[:40]!r} is out of range; skipped")
        return None
    message = record.get("message", "")
    return Click(
        user=address,
        url=normalise_url(url),
        time=moment,
        message=message.strip() if isinstance(message, str) else "",
        line=number,
    )


def _address(text: str) -> str | None:
    """The user as heron writes mailboxes (lower case), or None if not an address."""
    try:
        return ListEntry("sender", text.strip(), "block").value
    except ValueError:
        return None


def _is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://")) and bool(
        url_host(text.strip())
    )
