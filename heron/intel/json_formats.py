"""JSON feeds: PhishTank, Microsoft Bing malicious urls, and MISP events/attributes.

``parse_json`` takes the decoded JSON document, recognises its shape and fills a
``FeedCollector``; it returns the format name, or ``None`` for a shape heron does not
read.

MISP rule: an attribute becomes an indicator only when its type is one heron maps
(see ``MISP_TYPES``), it is not deleted, and either its ``to_ids`` flag is set or its
category is ``Payload delivery`` or ``Network activity``. Context attributes such as
``External analysis`` links (a VirusTotal report, a blog post) are therefore left
out, while the delivery url of an event that forgot ``to_ids`` is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from heron.intel.collector import FeedCollector

SAMPLE_RECORDS = 10

MISP_TYPES: dict[str, tuple[tuple[int, str], ...]] = {
    "url": ((0, "url"),),
    "link": ((0, "url"),),
    "domain": ((0, "domain"),),
    "hostname": ((0, "domain"),),
    "hostname|port": ((0, "domain"),),
    "domain|ip": ((0, "domain"), (1, "ip")),
    "ip-dst": ((0, "ip"),),
    "ip-src": ((0, "ip"),),
    "ip-dst|port": ((0, "ip"),),
    "ip-src|port": ((0, "ip"),),
    "md5": ((0, "md5"),),
    "sha1": ((0, "sha1"),),
    "sha256": ((0, "sha256"),),
    "filename|md5": ((1, "md5"),),
    "filename|sha1": ((1, "sha1"),),
    "filename|sha256": ((1, "sha256"),),
    "malware-sample": ((1, "md5"),),
}
"""MISP attribute type to the ``|``-separated parts of its value and their kinds."""
# Known limit: email-src, email-subject, ip-dst|port ranges and other MISP types
# without an Indicator kind are skipped silently; add kinds when analyzers use them.

MISP_DETECTION_CATEGORIES = frozenset({"Payload delivery", "Network activity"})

MISP_CATEGORY_THREATS: dict[str, str] = {
    "Payload delivery": "malware_download",
    "Network activity": "malicious_network_activity",
    "Payload installation": "malware",
    "Artifacts dropped": "malware",
}
"""Threat word for an attribute whose event and attribute carry no threat tag."""

# Known limit: the threat word comes only from eCSIRT and CIRCL classification tags
# or the category; MISP galaxies (malware families, threat actors) are not read.
_THREAT_TAG = re.compile(
    r"(?:ecsirt:(?:malicious-code|fraud|intrusions|abusive-content)"
    r'|circl:incident-classification)="(?P<word>[^"]+)"'
)
_TRUE = (True, 1, "1", "true", "True")


def parse_json(document: object, collector: FeedCollector) -> str | None:
    """Read a decoded JSON feed into ``collector``; the format name, or ``None``."""
    if isinstance(document, list):
        return _parse_list(document, collector)
    if isinstance(document, dict):
        return _parse_misp(document, collector)
    return None


def _parse_list(records: list[Any], collector: FeedCollector) -> str | None:
    if not records:
        collector.warn("file", "empty JSON array")
        return "empty"
    sample = [r for r in records[:SAMPLE_RECORDS] if isinstance(r, dict)]
    if any("phish_id" in r and "url" in r for r in sample):
        _read_records(records, collector, _phishtank_record)
        return "phishtank-json"
    if any("Url" in r and "IndicatorProvider" in r for r in sample):
        _read_records(records, collector, _bing_record)
        return "bing-murls-json"
    if any("Event" in r for r in sample):
        for index, record in enumerate(records):
            _read_event_wrapper(record, f"[{index}]", collector)
        return "misp-event"
    return None


RecordReader = Callable[[dict[str, Any], str, FeedCollector], None]


def _read_records(
    records: list[Any], collector: FeedCollector, read: RecordReader
) -> None:
    for index, record in enumerate(records):
        if collector.full:
            return
        where = f"record {index}"
        if not isinstance(record, dict):
            collector.warn(where, "not a JSON object")
            continue
        read(record, where, collector)


def _phishtank_record(
    record: dict[str, Any], where: str, collector: FeedCollector
) -> None:
    reference = record.get("phish_detail_url") or record.get("phish_id") or ""
    collector.add(
        "url",
        _text(record.get("url")),
        where=where,
        threat="phishing",
        reference=_text(reference),
    )


def _bing_record(record: dict[str, Any], where: str, collector: FeedCollector) -> None:
    threat = _snake(_text(record.get("IndicatorThreatType"))) or "unspecified"
    # Known limit: NetworkDestinationIPv4 of a Bing entry is not kept as an ip
    # indicator, because a shared hosting address would flag unrelated mail; keep it
    # once the index can hold context that is not itself an indicator.
    collector.add(
        "url",
        _text(record.get("Url")),
        where=where,
        threat=threat,
        reference=_text(record.get("ExternalId", "")),
    )


# -- MISP -------------------------------------------------------------------------


def _parse_misp(document: dict[str, Any], collector: FeedCollector) -> str | None:
    if "Event" in document:
        _read_event(document["Event"], "Event", collector)
        return "misp-event"
    if "response" in document:
        return _parse_misp_response(document["response"], collector)
    if "Attribute" in document:
        if {"info", "uuid", "Orgc"} & document.keys():
            _read_event(document, "", collector)
            return "misp-event"
        _read_attributes(document["Attribute"], "Attribute", collector, "")
        return "misp-attributes"
    if {"type", "value"} <= document.keys():
        _read_attribute(document, "attribute", collector, "")
        return "misp-attributes"
    return None


def _parse_misp_response(response: object, collector: FeedCollector) -> str | None:
    """The ``response`` of MISP's REST search: a list of events or ``Attribute``."""
    if isinstance(response, list):
        for index, record in enumerate(response):
            _read_event_wrapper(record, f"response[{index}]", collector)
        return "misp-event"
    if isinstance(response, dict) and "Attribute" in response:
        _read_attributes(response["Attribute"], "response.Attribute", collector, "")
        return "misp-attributes"
    return None


def _read_event_wrapper(record: object, where: str, collector: FeedCollector) -> None:
    if not isinstance(record, dict) or "Event" not in record:
        collector.warn(where, "not a MISP {'Event': ...} object")
        return
    _read_event(record["Event"], f"{where}.Event", collector)


def _read_event(event: object, where: str, collector: FeedCollector) -> None:
    """Attributes of one event and of its objects."""
    if not isinstance(event, dict):
        collector.warn(where or "event", "not a MISP event object")
        return
    prefix = f"{where}." if where else ""
    threat = _tag_threat(event.get("Tag"))
    _read_attributes(
        event.get("Attribute", []), f"{prefix}Attribute", collector, threat
    )

    objects = event.get("Object", [])
    if not isinstance(objects, list):
        collector.warn(f"{prefix}Object", "not a list")
        return
    for index, item in enumerate(objects):
        attributes = item.get("Attribute", []) if isinstance(item, dict) else None
        path = f"{prefix}Object[{index}].Attribute"
        _read_attributes(attributes, path, collector, threat)


def _read_attributes(
    attributes: object, where: str, collector: FeedCollector, event_threat: str
) -> None:
    if not isinstance(attributes, list):
        collector.warn(where, "not a list of attributes")
        return
    for index, attribute in enumerate(attributes):
        if collector.full:
            return
        _read_attribute(attribute, f"{where}[{index}]", collector, event_threat)


def _read_attribute(
    attribute: object, where: str, collector: FeedCollector, event_threat: str
) -> None:
    """One attribute by the MISP rule in the module docstring."""
    if not isinstance(attribute, dict):
        collector.warn(where, "not a MISP attribute object")
        return
    parts_kinds = MISP_TYPES.get(_text(attribute.get("type")))
    if parts_kinds is None or not _is_detection(attribute):
        return

    value = attribute.get("value")
    if not isinstance(value, str):
        collector.warn(where, "attribute has no text value")
        return
    threat = _attribute_threat(attribute, event_threat)
    reference = _text(attribute.get("uuid") or attribute.get("id") or "")
    parts = value.split("|")
    for index, kind in parts_kinds:
        if index >= len(parts):
            collector.warn(where, f"value has no part {index + 1} for {kind}")
            continue
        collector.add(
            kind, parts[index], where=where, threat=threat, reference=reference
        )


def _is_detection(attribute: dict[str, Any]) -> bool:
    if attribute.get("deleted") in _TRUE:
        return False
    if attribute.get("to_ids") in _TRUE:
        return True
    return attribute.get("category") in MISP_DETECTION_CATEGORIES


def _attribute_threat(attribute: dict[str, Any], event_threat: str) -> str:
    """Threat word: attribute tag, else event tag, else the category's word."""
    tagged = _tag_threat(attribute.get("Tag")) or event_threat
    if tagged:
        return tagged
    return MISP_CATEGORY_THREATS.get(_text(attribute.get("category")), "unspecified")


def _tag_threat(tags: object) -> str:
    """The threat word of the first eCSIRT or CIRCL classification tag, if any."""
    if not isinstance(tags, list):
        return ""
    for tag in tags:
        name = tag.get("name") if isinstance(tag, dict) else None
        match = _THREAT_TAG.fullmatch(name) if isinstance(name, str) else None
        if match:
            return match["word"].lower()
    return ""


def _text(value: object) -> str:
    """A JSON scalar as text; objects and lists give the empty string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    return str(value) if isinstance(value, int | float) else ""


def _snake(word: str) -> str:
    """``MaliciousUrl`` to ``malicious_url``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", word).lower()
