"""XML feeds: the malc0de RSS feed and Clean-MX phishing/virus XML.

``parse_xml`` parses the bytes with ``xml.etree`` (no external entities are fetched;
documents that declare entities are refused before parsing), recognises the root
element and fills a ``FeedCollector``. It returns the format name, or ``None`` for an
XML document heron does not read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from heron.errors import IntelFeedError
from heron.intel.collector import FeedCollector, excerpt
from heron.intel.values import classify

_MALC0DE = re.compile(
    r"URL:\s*(?P<url>.*?),\s*IP Address:.*?(?:MD5:\s*(?P<md5>[0-9A-Fa-f]{32}))?\s*$",
    re.DOTALL,
)
_TRUNCATED = "(...)"


def parse_xml(data: bytes, collector: FeedCollector, feed: str) -> str | None:
    """Read an XML feed into ``collector``; the format name, or ``None``."""
    root = _parse(data, feed)
    if root.tag == "rss":
        return _parse_rss(root, collector)
    if root.tag == "output" and root.find("entries") is not None:
        _parse_cleanmx(root, collector)
        return "cleanmx-xml"
    return None


def _parse(data: bytes, feed: str) -> ET.Element:
    if b"<!ENTITY" in data:
        raise IntelFeedError(
            f"{feed}: the XML declares entities, which heron refuses to expand; "
            "use the feed as published without a DOCTYPE"
        )
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        raise IntelFeedError(f"{feed}: not well-formed XML ({error})") from error


def _parse_rss(root: ET.Element, collector: FeedCollector) -> str | None:
    """malc0de: item descriptions read ``URL: ..., IP Address: ..., MD5: ...``."""
    items = root.findall("./channel/item")
    descriptions = [item.findtext("description", "") for item in items]
    if items and not any(d.lstrip().startswith("URL:") for d in descriptions):
        return None
    for index, item in enumerate(items):
        if collector.full:
            break
        _malc0de_item(item, f"item {index}", collector)
    if not items:
        collector.warn("file", "RSS channel without items")
    return "malc0de-rss"


def _malc0de_item(item: ET.Element, where: str, collector: FeedCollector) -> None:
    description = item.findtext("description", "").strip()
    reference = item.findtext("link", "").strip()
    match = _MALC0DE.match(description)
    if match is None:
        collector.warn(where, f"description not understood: {excerpt(description)!r}")
        return

    url = match["url"].strip()
    if url.endswith(_TRUNCATED):
        collector.warn(where, "the feed cut the url short; only its hash is kept")
    else:
        _add_url(url, where, collector, reference)
    if match["md5"]:
        collector.add(
            "md5",
            match["md5"],
            where=where,
            threat="malware_download",
            reference=reference,
        )
    # Known limit: the malc0de IP Address (the host serving the file) is not kept as
    # an ip indicator, because shared hosting would flag unrelated mail; keep it once
    # the index holds context that is not itself an indicator.


def _add_url(url: str, where: str, collector: FeedCollector, reference: str) -> None:
    found = classify(url)
    if found is None or found[0] != "url":
        collector.warn(where, f"not a url: {excerpt(url)!r}")
        return
    collector.add_normalised(*found, threat="malware_download", reference=reference)


def _parse_cleanmx(root: ET.Element, collector: FeedCollector) -> None:
    """Clean-MX: ``entries/entry`` with ``url``; phishing when it names a target."""
    for index, entry in enumerate(root.iterfind("./entries/entry")):
        if collector.full:
            return
        where = f"entry {index}"
        phishing = (
            entry.find("target") is not None or entry.find("phishtank") is not None
        )
        threat = "phishing" if phishing else "malware_download"
        reference = (entry.findtext("id") or "").strip()
        url = (entry.findtext("url") or "").strip()
        collector.add("url", url, where=where, threat=threat, reference=reference)
        md5 = (entry.findtext("md5") or "").strip()
        if md5:
            collector.add("md5", md5, where=where, threat=threat, reference=reference)
        # Known limit: the entry's domain and ip are not kept, because a phishing page
        # on a hacked site would flag the site's own mail; keep them as context.
