"""Bounds and refusals of load_feed: size, caps, broken JSON/XML, unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron.errors import IntelFeedError
from heron.intel.collector import FeedCollector
from heron.intel.feeds import load_feed


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_file_over_max_bytes_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", b"evil.example.test\n" * 100)

    with pytest.raises(IntelFeedError, match="big.txt.*larger than 1000 bytes"):
        load_feed(path, max_bytes=1000)


def test_indicator_cap_stops_the_feed_with_a_warning(tmp_path: Path) -> None:
    lines = "".join(f"host{n}.example.test\n" for n in range(10))
    path = _write(tmp_path, "domains.txt", lines.encode())

    result = load_feed(path, max_indicators=3)

    assert len(result.indicators) == 3
    assert [w.message for w in result.warnings] == [
        "indicator cap of 3 reached; the rest of the feed was not read"
    ]


def test_feed_exactly_at_the_cap_gives_no_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "domains.txt", b"a.example.test\nb.example.test\n")

    assert load_feed(path, max_indicators=2).warnings == []


def test_warnings_past_the_cap_are_counted_in_one_closing_warning() -> None:
    collector = FeedCollector("f", max_warnings=2)
    for number in range(5):
        collector.warn(f"line {number}", "bad")

    warnings = collector.result("url-list").warnings

    assert len(warnings) == 3
    assert warnings[-1].message == "3 more unreadable entries not listed"


def test_empty_feed_reads_as_empty_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.txt", b"# nothing today\n\n")

    result = load_feed(path)

    assert (result.format, result.indicators) == ("empty", [])
    assert result.warnings[0].where == "file"


def test_broken_json_raises_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "cut.json", b'[{"phish_id": "1", "url": ')

    with pytest.raises(IntelFeedError, match="cut.json: not valid JSON"):
        load_feed(path)


def test_deeply_nested_json_raises_instead_of_crashing(tmp_path: Path) -> None:
    path = _write(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)

    with pytest.raises(IntelFeedError, match="deep.json"):
        load_feed(path)


def test_json_of_unknown_shape_raises(tmp_path: Path) -> None:
    path = _write(tmp_path, "other.json", b'{"hello": "world"}')

    with pytest.raises(IntelFeedError, match="other.json: not in a feed format"):
        load_feed(path)


def test_xml_declaring_entities_is_refused(tmp_path: Path) -> None:
    content = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>'
    path = _write(tmp_path, "laughs.xml", content)

    with pytest.raises(IntelFeedError, match="laughs.xml.*entities"):
        load_feed(path)


def test_malformed_xml_raises_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.xml", b"<rss><channel><item></rss>")

    with pytest.raises(IntelFeedError, match="bad.xml: not well-formed XML"):
        load_feed(path)


def test_binary_file_raises(tmp_path: Path) -> None:
    path = _write(tmp_path, "blob.bin", b"\x00\x01\x02evil.example.test\n")

    with pytest.raises(IntelFeedError, match="blob.bin: binary data"):
        load_feed(path)


def test_missing_file_raises_intel_feed_error(tmp_path: Path) -> None:
    with pytest.raises(IntelFeedError, match="absent.txt: cannot read"):
        load_feed(tmp_path / "absent.txt")


def test_json_feeds_of_millions_of_values_are_refused_before_parsing(tmp_path):
    from heron.intel.feeds import MAX_JSON_VALUES, load_feeds

    feed = tmp_path / "objects.json"
    feed.write_text("[" + "{}," * (MAX_JSON_VALUES + 1) + "{}]")
    index = load_feeds([feed])
    assert len(index) == 0
    assert "split the feed" in index.warnings[0].message


def test_line_feeds_are_read_up_to_their_line_limit(tmp_path, monkeypatch):
    from heron.intel import text_formats
    from heron.intel.feeds import load_feeds

    monkeypatch.setattr(text_formats, "MAX_LINES", 3)
    feed = tmp_path / "urls.txt"
    feed.write_text("".join(f"https://evil{i}.test/\n" for i in range(10)))
    index = load_feeds([feed])
    assert len(index) == 3
    assert any("only the first 3 read" in w.message for w in index.warnings)
