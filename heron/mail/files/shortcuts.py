"""Calendar invites and internet shortcuts: files whose point is a link.

A calendar invite (``.ics``) carries its lure in the description and its link in a
URL, LOCATION or ATTACH property; an internet shortcut (``.url``, ``.webloc``) is a
link and nothing else. Both are read with the standard library and icalendar; their
links join the message's urls.
"""

from __future__ import annotations

import re

from heron.mail.files import FileScan, Found
from heron.mail.text import decode_bytes

_SHORTCUT_URL = re.compile(r"^\s*URL\s*=\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_WEBLOC_URL = re.compile(
    r"<key>\s*URL\s*</key>\s*<string>([^<]+)</string>", re.IGNORECASE
)


def is_calendar(data: bytes, true_type: str, name: str) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return true_type == "text/calendar" or head.startswith(b"BEGIN:VCALENDAR")


def is_shortcut(data: bytes, name: str) -> bool:
    return name.endswith((".url", ".webloc")) or b"[InternetShortcut]" in data[:1024]


def read_calendar(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    """The links of a calendar invite: every property value, unfolded and decoded."""
    text, _ = decode_bytes(data[: scan.limits.max_body_chars], "utf-8")
    values = _calendar_values(text)
    if values is None:
        scan.warnings.add(
            "calendar-unreadable",
            where,
            "not a valid calendar; links read from its text",
        )
        values = [re.sub(r"\r?\n[ \t]", "", text)]
    for value in values:
        found.links += scan.links(value, where)


def _calendar_values(text: str) -> list[str] | None:
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception:  # icalendar raises ValueError and others on broken input
        return None
    values: list[str] = []
    for component in calendar.walk():
        for value in component.values():
            items = value if isinstance(value, list) else [value]
            values.extend(str(item) for item in items)
    return values


def read_shortcut(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    """The target of an internet shortcut."""
    text, _ = decode_bytes(data[:65536], "utf-8")
    targets = _SHORTCUT_URL.findall(text) + _WEBLOC_URL.findall(text)
    found.flag("risky-carrier", "an internet shortcut, which opens its link on a click")
    for target in targets:
        found.links += scan.links(target, where)
