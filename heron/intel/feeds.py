"""Reading threat-intel feed files into indicators.

Part in the flow: an "intel changed" event starts with new feed files on disk (heron
never fetches feeds at run time). ``load_feeds`` reads them into an ``IntelIndex``;
analyzers are handed that index to look urls, domains, ips and file hashes up.

``load_feed`` decides the format from the content, not from the file name:

* a leading ``{`` or ``[`` is JSON: PhishTank, Microsoft Bing malicious urls, MISP
  events, feed events and attribute lists (``json_formats``);
* a leading ``<`` is XML: malc0de RSS, Clean-MX XML (``xml_formats``); HTML pages
  such as the Feodo Tracker browse page are declined;
* anything else is read as lines: URLhaus, PhishTank and CSIRTG CSV dumps, Bambenek
  CSV, the Spamhaus DROP list and plain lists of urls, domains, ips, networks and
  hashes (``text_formats``).

Bounds: a file larger than ``max_bytes`` is refused; a feed is cut after
``MAX_INDICATORS_PER_FEED`` distinct indicators and keeps at most
``MAX_WARNINGS_PER_FEED`` warnings (both with a warning saying so). A malformed line
or record becomes a ``FeedWarning``; only a file in no known format (or unreadable)
raises ``IntelFeedError``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from heron.errors import IntelFeedError
from heron.intel.collector import MAX_INDICATORS_PER_FEED, FeedCollector
from heron.intel.json_formats import parse_json
from heron.intel.model import FeedResult, FeedWarning, IntelIndex
from heron.intel.text_formats import parse_text
from heron.intel.xml_formats import parse_xml

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 200 * 1024 * 1024
"""Default largest feed file read (200 MiB)."""

READ_FORMATS = (
    "URLhaus CSV",
    "CSV with a url column",
    "PhishTank CSV and JSON",
    "CSIRTG CSV",
    "Bambenek CSV",
    "OpenPhish and other plain url lists",
    "plain md5/sha1/sha256 hash lists",
    "plain domain, ip and mixed indicator lists",
    "Spamhaus DROP",
    "MISP event, feed event and attribute JSON",
    "Microsoft Bing malicious url JSON",
    "Clean-MX XML",
    "malc0de RSS",
)
"""The formats ``load_feed`` reads, in words for error messages."""

_FORMATS_SENTENCE = "heron reads: " + ", ".join(READ_FORMATS) + "."


def load_feed(
    path: Path,
    *,
    name: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    max_indicators: int = MAX_INDICATORS_PER_FEED,
) -> FeedResult:
    """Read one feed file in any known format into normalised indicators.

    ``name`` is the feed's name on every indicator and warning (default: the file
    name). Raises ``IntelFeedError`` naming the file when it is too large,
    unreadable or in no known format.
    """
    feed = name or path.name
    data = _read_bounded(path, feed, max_bytes)
    collector = FeedCollector(feed, max_indicators=max_indicators)

    feed_format = _parse(data, collector, feed, path.name)
    if feed_format is None:
        raise IntelFeedError(
            f"{feed}: not in a feed format heron knows; {_FORMATS_SENTENCE}"
        )

    result = collector.result(feed_format)
    logger.info(
        "feed %s read as %s: %d indicators, %d warnings",
        feed,
        feed_format,
        len(result.indicators),
        len(result.warnings),
    )
    return result


def load_feeds(paths: Iterable[Path]) -> IntelIndex:
    """Load feed files, and every file of given directories, into one index.

    Directories are read one level deep, files in name order, hidden files skipped.
    A feed that cannot be read becomes a ``FeedWarning`` on the index (``where`` is
    ``file``) so that one bad feed never stops the others.
    """
    index = IntelIndex()
    for path in _feed_files(paths):
        try:
            index.add(load_feed(path))
        except IntelFeedError as error:
            index.warnings.append(FeedWarning(path.name, "file", str(error)))
    return index


def _feed_files(paths: Iterable[Path]) -> Iterator[Path]:
    # Known limit: directories are read one level deep; sub-folders are ignored.
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
            )
        else:
            yield path


def _read_bounded(path: Path, feed: str, max_bytes: int) -> bytes:
    """The file's bytes; refuses files over ``max_bytes`` and unreadable files."""
    # Known limit: the whole file (up to max_bytes) is held in memory and parsed at
    # once; stream line formats and use iterparse for XML to lower peak memory.
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise IntelFeedError(
            f"{feed}: cannot read {path} ({error.strerror or error}); "
            "check the path and its permissions"
        ) from error
    if len(data) > max_bytes:
        raise IntelFeedError(
            f"{feed}: {path} is larger than {max_bytes} bytes; split the feed or "
            "raise the limit"
        )
    return data


def _parse(
    data: bytes, collector: FeedCollector, feed: str, file_name: str
) -> str | None:
    """Dispatch on the first meaningful character: JSON, XML/HTML or lines."""
    if b"\x00" in data:
        raise IntelFeedError(f"{feed}: binary data, not a feed; {_FORMATS_SENTENCE}")
    # Known limit: feeds are decoded as UTF-8 with replacement characters, so a
    # Latin-1 feed's non-ASCII urls do not match; honour a declared charset.
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    head = text.lstrip()[:1]

    if head in ("{", "["):
        return parse_json(_load_json(text, feed), collector)
    if head == "<":
        _decline_html(text, feed)
        return parse_xml(data, collector, feed)
    return parse_text(text, collector, feed + " " + file_name)


# More JSON values than a feed can usefully hold: parsing them would take gigabytes.
MAX_JSON_VALUES = 4 * MAX_INDICATORS_PER_FEED


def _load_json(text: str, feed: str) -> object:
    values = text.count("{") + text.count(",")
    if values > MAX_JSON_VALUES:
        raise IntelFeedError(
            f"{feed}: about {values} JSON values, more than the {MAX_JSON_VALUES} "
            "heron reads from one feed; split the feed"
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise IntelFeedError(f"{feed}: not valid JSON ({error})") from error


def _decline_html(text: str, feed: str) -> None:
    """HTML pages (e.g. Feodo Tracker's browse page) are declined by design."""
    head = text[:4096].lower()
    if "<!doctype html" in head or "<html" in head:
        raise IntelFeedError(
            f"{feed}: is an HTML page, which heron does not scrape; download the "
            f"feed's CSV, JSON or text export instead. {_FORMATS_SENTENCE}"
        )
