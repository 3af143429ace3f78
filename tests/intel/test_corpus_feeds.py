"""Every real feed sample of the shared corpus, with the format and count measured.

Skips when the corpus folder ``shared/corpus`` beside the repository is absent.
"""

from __future__ import annotations

import pytest

from heron.errors import IntelFeedError
from heron.intel.feeds import load_feed
from tests.corpus_location import require_corpus

pytestmark = pytest.mark.corpus
INTEL = require_corpus(module=True) / "intel"

EXPECTED: dict[str, tuple[str, int]] = {
    "csirtg_feed_sample.txt": ("csirtg-csv", 16),
    "intelmq_bambenek_c2-dommasterlist.txt": ("bambenek-csv", 1),
    "intelmq_cleanmx_xmlphishing.xml": ("cleanmx-xml", 3),
    "intelmq_microsoft_bingmurls.json": ("bing-murls-json", 2),
    "intelmq_misp_attribute.json": ("misp-attributes", 1),
    "intelmq_misp_event.json": ("misp-event", 1),
    "intelmq_openphish_feed.txt": ("url-list", 2),
    "intelmq_spamhaus_drop.txt": ("spamhaus-drop", 2),
    "malc0de_rss_sample.xml": ("malc0de-rss", 55),
    "malwarebazaar_sha256_sample.txt": ("hash-list", 40),
    "misp_feed_event_57c4445b-c548-4654-af0b-4be3950d210f.json": ("misp-event", 3),
    "openphish_feed_sample.txt": ("url-list", 42),
    "phishtank_online-valid_sample.json": ("phishtank-json", 5),
    "pymisp_misp_event.json": ("misp-event", 1),
    "spamassassin_openphish-feed.txt": ("url-list", 2),
    "spamassassin_phishtank-feed.csv": ("phishtank-csv", 2),
    "urlhaus_csv_2018-08-20_sample.csv": ("urlhaus-csv", 31),
}
DECLINED = {"intelmq_feodotracker.html"}


def test_every_corpus_file_has_an_expectation() -> None:
    names = {path.name for path in INTEL.iterdir() if path.is_file()}

    assert names == set(EXPECTED) | DECLINED


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_corpus_feed_reads_as_its_format_with_measured_count(file_name: str) -> None:
    feed_format, count = EXPECTED[file_name]

    result = load_feed(INTEL / file_name)

    assert (result.format, len(result.indicators)) == (feed_format, count)


def test_corpus_malc0de_warns_only_about_its_cut_url() -> None:
    result = load_feed(INTEL / "malc0de_rss_sample.xml")

    assert [w.where for w in result.warnings] == ["item 0"]


@pytest.mark.parametrize("file_name", sorted(DECLINED))
def test_corpus_html_page_is_declined(file_name: str) -> None:
    with pytest.raises(IntelFeedError, match="HTML page"):
        load_feed(INTEL / file_name)
