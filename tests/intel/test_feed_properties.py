"""Property: load_feed on any bytes gives a FeedResult or raises IntelFeedError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from heron.errors import IntelFeedError
from heron.intel.feeds import load_feed
from heron.intel.model import FeedResult

FRAGMENTS = st.sampled_from(
    [
        "# id,dateadded,url,url_status,threat,tags,urlhaus_link\n",
        "phish_id,url,phish_detail_url\n",
        '"1","2024","http://a.example.test/","online","x","","https://urlhaus.abuse.ch/url/1/"\n',
        "http://evil.example.test/x\n",
        "192.0.2.0/24 ; SBL1\n",
        "evil.example.test,Domain used by x,2024,http://m.example.test/\n",
        "d41d8cd98f00b204e9800998ecf8427e\n",
        '{"Event": {"Attribute": [{"type": "url", "to_ids": true, "value": ',
        '[{"phish_id": "1", "url": "http://p.example.test/"}]',
        "<rss><channel><item><description>URL: a.example.test/x, IP Address: ",
        "<output><entries><entry><url>http://c.example.test/</url></entry>",
        "</entries></output>",
        "<html>",
        "\n",
        ",",
        '"',
        "|",
    ]
)


def _load_bytes(content: bytes) -> FeedResult | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed"
        path.write_bytes(content)
        try:
            return load_feed(path)
        except IntelFeedError:
            return None


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_a_result_or_intel_feed_error(content: bytes) -> None:
    result = _load_bytes(content)

    assert result is None or isinstance(result, FeedResult)


@settings(max_examples=300, deadline=2000)
@given(st.lists(FRAGMENTS | st.text(max_size=20), max_size=30))
def test_feed_like_text_gives_a_result_or_intel_feed_error(parts: list[str]) -> None:
    result = _load_bytes("".join(parts).encode("utf-8", errors="replace"))

    assert result is None or isinstance(result, FeedResult)
