"""Line-based feeds: CSV dumps, plain indicator lists and the Spamhaus DROP list.

``parse_text`` looks at the lines of a decoded feed, decides which of these formats it
is from the content (a header row or comment, the shape of the first entries) and
fills a ``FeedCollector``. It returns the format name, or ``None`` when the text is in
none of them, so that the caller can raise ``IntelFeedError``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from heron.intel.collector import MAX_INDICATORS_PER_FEED, FeedCollector, excerpt
from heron.intel.values import classify, normalise_network

COMMENT_PREFIXES = ("#", ";", "//")
SAMPLE_LINES = 50
"""How many entries are looked at to decide a format."""
# Known limit: a headerless feed whose first 50 entries are mostly junk is refused as
# unknown even if good lines follow; a feed setting naming the format would fix it.
# Known limit: Spamhaus' newer DROP JSON lines (drop_v4.json) are not read; add a
# JSON-lines reader keyed on "cidr" and "sblid".

_URLHAUS_COLUMNS = {
    6: ["id", "dateadded", "url", "url_status", "threat", "tags", "urlhaus_link"],
    7: [
        "id",
        "dateadded",
        "url",
        "url_status",
        "last_online",
        "threat",
        "tags",
        "urlhaus_link",
    ],
}
"""Columns of a URLhaus dump without its header, by the index of the link column."""
_DROP_LINE = re.compile(r"(?P<net>[0-9A-Fa-f.:/]+)\s*;\s*(?P<ref>\S+)")

Line = tuple[int, str]

# Lines read from one feed: twice the indicators a feed may add, room for comments.
MAX_LINES = 2 * MAX_INDICATORS_PER_FEED


@dataclass(frozen=True)
class CsvProfile:
    """Which columns of a CSV dump hold the indicator, its threat and reference."""

    name: str
    value_column: str
    threat_column: str = ""
    reference_column: str = ""
    default_threat: str = "unspecified"


def parse_text(text: str, collector: FeedCollector, name_hint: str) -> str | None:
    """Read ``text`` into ``collector``; the format name, or ``None`` if unknown."""
    pieces = text.split("\n", MAX_LINES)
    if len(pieces) > MAX_LINES:
        collector.warn(
            "file", f"more than {MAX_LINES} lines; only the first {MAX_LINES} read"
        )
        pieces = pieces[:MAX_LINES]
    lines = [line.rstrip("\r").replace("\r", " ") for line in pieces]
    entries = _entries(lines)
    if not entries:
        collector.warn("file", "no entries (only blank or comment lines)")
        return "empty"

    header = _find_header(lines, entries)
    if header is not None:
        return _parse_header_csv(header, entries, collector, name_hint)
    for detect in _DETECTORS:
        parser = detect(entries[:SAMPLE_LINES])
        if parser is not None:
            return parser(entries, collector, name_hint)
    return None


def _entries(lines: list[str]) -> list[Line]:
    """Numbered lines that are neither blank nor comments."""
    found = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if line and not line.startswith(COMMENT_PREFIXES):
            found.append((number, line))
    return found


# -- CSV with a header row or a header comment -------------------------------------


def _csv_row(line: str) -> list[str]:
    """One line as CSV fields; a line the csv module rejects is one field."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return [line]


def _columns(line: str) -> list[str]:
    return [cell.strip().lower() for cell in _csv_row(line.lstrip("#").strip())]


def _profile(columns: list[str]) -> CsvProfile | None:
    """The CSV profile a header names, or ``None`` when it is no header heron knows."""
    names = set(columns)
    # Known limit: URLhaus rows whose url_status is offline are kept like online
    # ones; keep the status on the indicator once Indicator has a field for it.
    if "url" in names and ("urlhaus_link" in names or "url_status" in names):
        return CsvProfile("urlhaus-csv", "url", "threat", "urlhaus_link")
    if {"phish_id", "url"} <= names:
        return CsvProfile("phishtank-csv", "url", "", "phish_detail_url", "phishing")
    # Known limit: CSIRTG email indicators are warned about, not kept, because
    # Indicator has no email kind; add one when analyzers look senders up in intel.
    if "indicator" in names:
        return CsvProfile("csirtg-csv", "indicator", "tags", "id")
    if "url" in names:
        return CsvProfile("url-csv", "url", "threat", "")
    return None


@dataclass(frozen=True)
class CsvHeader:
    """A header heron knows: its line, its column names and the profile they name."""

    line: int
    columns: list[str]
    profile: CsvProfile


def _header_at(number: int, line: str) -> CsvHeader | None:
    columns = _columns(line)
    profile = _profile(columns)
    return CsvHeader(number, columns, profile) if profile else None


def _find_header(lines: list[str], entries: list[Line]) -> CsvHeader | None:
    """The header: the first entry, else the last comment with commas before it."""
    first_number, first_line = entries[0]
    header = _header_at(first_number, first_line)
    if header is not None:
        return header
    for number in range(first_number - 1, 0, -1):
        line = lines[number - 1].strip()
        if line.startswith("#") and "," in line:
            return _header_at(number, line)
    return None


def _parse_header_csv(
    header: CsvHeader,
    entries: list[Line],
    collector: FeedCollector,
    name_hint: str,
) -> str:
    profile = header.profile
    if profile.default_threat == "unspecified" and "phish" in name_hint.lower():
        profile = replace(profile, default_threat="phishing")
    rows = [(n, line) for n, line in entries if n != header.line]
    _read_csv_rows(rows, header.columns, profile, collector)
    return profile.name


def _read_csv_rows(
    rows: list[Line], columns: list[str], profile: CsvProfile, collector: FeedCollector
) -> None:
    for number, row in _csv_rows(rows):
        if collector.full:
            return
        record = dict(zip(columns, row, strict=False))
        value = record.get(profile.value_column, "").strip()
        if not value:
            collector.warn(f"line {number}", f"no {profile.value_column!r} field")
            continue
        kind, text = _kind_of(value, profile)
        collector.add(
            kind,
            text,
            where=f"line {number}",
            threat=record.get(profile.threat_column, "") or profile.default_threat,
            reference=record.get(profile.reference_column, ""),
        )


def _kind_of(value: str, profile: CsvProfile) -> tuple[str, str]:
    """The kind a CSV value is read as: urls for url columns, guessed otherwise."""
    if profile.value_column == "url":
        return "url", value
    found = classify(value)
    return found if found else ("indicator", value)


def _csv_rows(rows: list[Line]) -> Iterator[tuple[int, list[str]]]:
    """Parse each entry line as one CSV row, keeping its line number."""
    for number, line in rows:
        yield number, _csv_row(line)


# -- headerless formats, tried in order -----------------------------------------------

Parser = Callable[[list[Line], FeedCollector, str], str]


def _detect_urlhaus_positional(sample: list[Line]) -> Parser | None:
    """URLhaus dump rows without the header comment, told by their link column."""
    rows = [row for _, row in _csv_rows(sample)]
    for link_index, columns in _URLHAUS_COLUMNS.items():
        if all(_is_urlhaus_link(r, link_index) for r in rows):
            return partial(_parse_urlhaus_positional, columns)
    return None


def _is_urlhaus_link(row: list[str], index: int) -> bool:
    return len(row) > index and "urlhaus.abuse.ch/url/" in row[index]


def _parse_urlhaus_positional(
    columns: list[str], entries: list[Line], collector: FeedCollector, name_hint: str
) -> str:
    profile = CsvProfile("urlhaus-csv", "url", "threat", "urlhaus_link")
    _read_csv_rows(entries, columns, profile, collector)
    return profile.name


def _detect_indicator_csv(sample: list[Line]) -> Parser | None:
    """Bambenek style: ``indicator,description,date,manual url`` without a header."""
    rows = [row for _, row in _csv_rows(sample)]
    good = [r for r in rows if len(r) >= 2 and classify(r[0])]
    if len(good) * 2 >= len(rows) and all(len(r) >= 2 for r in rows):
        return _parse_indicator_csv
    return None


def _parse_indicator_csv(
    entries: list[Line], collector: FeedCollector, name_hint: str
) -> str:
    for number, row in _csv_rows(entries):
        if collector.full:
            break
        reference = row[-1] if len(row) >= 3 and "://" in row[-1] else ""
        _add_token(collector, row[0], number, _bambenek_threat(row), reference)
    return "bambenek-csv"


def _bambenek_threat(row: list[str]) -> str:
    """Bambenek feeds describe C&C domains and ips ("Domain used by ...")."""
    description = row[1].lower() if len(row) > 1 else ""
    if "used by" in description or "c&c" in description or "c2" in description:
        return "botnet_cc"
    return "unspecified"


def _detect_drop(sample: list[Line]) -> Parser | None:
    """Spamhaus DROP/EDROP: ``network ; SBL id`` on each line."""
    matches = [_DROP_LINE.fullmatch(line) for _, line in sample]
    if all(m and normalise_network(m["net"]) for m in matches):
        return _parse_drop
    return None


def _parse_drop(entries: list[Line], collector: FeedCollector, name_hint: str) -> str:
    for number, line in entries:
        match = _DROP_LINE.fullmatch(line)
        if collector.full:
            break
        if match is None:
            collector.warn(f"line {number}", f"not 'network ; id': {excerpt(line)!r}")
            continue
        collector.add(
            "ip-network",
            match["net"],
            where=f"line {number}",
            threat="malicious_network",
            reference=match["ref"],
        )
    return "spamhaus-drop"


def _detect_plain_list(sample: list[Line]) -> Parser | None:
    """One indicator per line; at least half of the sampled lines must be one."""
    good = sum(1 for _, line in sample if classify(line))
    return _parse_plain_list if good * 2 >= len(sample) and good else None


def _parse_plain_list(
    entries: list[Line], collector: FeedCollector, name_hint: str
) -> str:
    # Known limit: a plain list says nothing about its threat, so "phishing" comes
    # only from "phish" in the feed or file name; let feed settings name the threat.
    threat = "phishing" if "phish" in name_hint.lower() else "unspecified"
    for number, line in entries:
        if collector.full:
            break
        _add_token(collector, line, number, threat, "")
    return _list_format({i.kind for i in collector.indicators})


def _add_token(
    collector: FeedCollector, token: str, number: int, threat: str, reference: str
) -> None:
    found = classify(token)
    if found is None:
        collector.warn(f"line {number}", f"not an indicator: {excerpt(token)!r}")
        return
    collector.add_normalised(*found, threat=threat, reference=reference)


def _list_format(kinds: set[str]) -> str:
    """Name a plain list by what it holds: url, hash, domain or mixed indicators."""
    if kinds == {"url"}:
        return "url-list"
    if kinds and kinds <= {"md5", "sha1", "sha256"}:
        return "hash-list"
    if kinds == {"domain"}:
        return "domain-list"
    return "indicator-list"


_DETECTORS: list[Callable[[list[Line]], Parser | None]] = [
    _detect_urlhaus_positional,
    _detect_drop,
    _detect_plain_list,
    _detect_indicator_csv,
]
