"""Each feed format heron reads, from tiny samples in tests/data/intel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from heron.errors import IntelFeedError
from heron.intel.feeds import load_feed
from heron.intel.model import FeedResult

DATA = Path(__file__).resolve().parents[1] / "data" / "intel"


def _load(file_name: str) -> FeedResult:
    return load_feed(DATA / file_name)


def _values(result: FeedResult) -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in result.indicators}


def _wheres(result: FeedResult) -> list[str]:
    return [w.where for w in result.warnings]


@pytest.mark.parametrize(
    ("file_name", "feed_format", "count", "wheres"),
    [
        ("urlhaus.csv", "urlhaus-csv", 2, ["line 8", "line 9"]),
        ("urlhaus_headerless.csv", "urlhaus-csv", 2, []),
        ("phishtank.csv", "phishtank-csv", 2, ["line 4"]),
        ("phishtank.json", "phishtank-json", 2, ["record 2", "record 3"]),
        ("openphish.txt", "url-list", 2, ["line 5"]),
        ("hashes.txt", "hash-list", 3, ["line 6"]),
        ("domains.txt", "domain-list", 3, []),
        ("mixed.txt", "indicator-list", 7, []),
        ("csirtg.csv", "csirtg-csv", 2, ["line 5"]),
        ("bambenek.csv", "bambenek-csv", 2, ["line 6"]),
        ("bing_murls.json", "bing-murls-json", 1, ["record 1"]),
        (
            "misp_feed_event.json",
            "misp-event",
            6,
            ["Event.Attribute[5]", "Event.Attribute[8]"],
        ),
        ("misp_bare_event.json", "misp-event", 1, []),
        ("misp_attributes.json", "misp-attributes", 2, []),
        ("misp_attribute_single.json", "misp-attributes", 1, []),
        ("cleanmx.xml", "cleanmx-xml", 1, ["entry 1"]),
        ("malc0de.xml", "malc0de-rss", 3, ["item 1", "item 2"]),
        ("drop.txt", "spamhaus-drop", 2, []),
    ],
)
def test_sample_feed_reads_as_its_format_with_warnings_where_malformed(
    file_name: str, feed_format: str, count: int, wheres: list[str]
) -> None:
    result = _load(file_name)

    assert result.format == feed_format
    assert len(result.indicators) == count
    assert _wheres(result) == wheres
    assert all(i.feed == file_name for i in result.indicators)


def test_urlhaus_urls_are_normalised_and_carry_threat_and_link() -> None:
    first = _load("urlhaus.csv").indicators[0]

    assert first.value == "http://dropper.example.test/invoice.doc"
    assert first.threat == "malware_download"
    assert first.reference == "https://urlhaus.abuse.ch/url/901/"


def test_phishtank_entries_are_phishing_with_detail_link() -> None:
    first = _load("phishtank.json").indicators[0]

    assert first.value == "http://paypal.example.test/webscr/login.php"
    assert first.threat == "phishing"
    assert first.reference.endswith("phish_id=8001")


def test_plain_url_list_named_phish_is_phishing_and_drops_repeats() -> None:
    result = _load("openphish.txt")

    assert {i.threat for i in result.indicators} == {"phishing"}
    assert ("url", "https://other.example.test/a?b=c") in _values(result)


def test_hash_list_lowers_case_and_tells_hash_kinds_apart() -> None:
    kinds = {i.kind: i.value for i in _load("hashes.txt").indicators}

    assert set(kinds) == {"md5", "sha1", "sha256"}
    assert kinds["sha256"] == kinds["sha256"].lower()


def test_domain_list_lowers_case_and_drops_final_dot() -> None:
    assert ("domain", "c2.example.test") in _values(_load("domains.txt"))
    assert ("domain", "evil.example.test") in _values(_load("domains.txt"))


def test_mixed_list_reads_ips_networks_and_schemeless_urls() -> None:
    values = _values(_load("mixed.txt"))

    assert ("ip", "2001:db8::1") in values
    assert ("ip-network", "198.51.100.0/24") in values
    assert ("url", "http://evil.example.test/dropper.exe") in values


def test_bambenek_domains_are_botnet_cc_with_manual_link() -> None:
    first = _load("bambenek.csv").indicators[0]

    assert (first.kind, first.threat) == ("domain", "botnet_cc")
    assert first.reference.startswith("http://osint.bambenekconsulting.com/")


def test_misp_keeps_detection_attributes_and_skips_context() -> None:
    values = _values(_load("misp_feed_event.json"))

    assert ("url", "http://lure.example.test/login") in values
    assert {("domain", "lure.example.test"), ("ip", "192.0.2.99")} <= values
    assert ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709") in values
    assert not any("virustotal" in value for _, value in values)
    assert ("domain", "deleted.example.test") not in values


def test_misp_threat_comes_from_event_tag_else_category() -> None:
    tagged = _load("misp_feed_event.json").indicators
    untagged = _load("misp_attributes.json").indicators

    assert {i.threat for i in tagged} == {"phishing"}
    assert {i.threat for i in untagged} == {"malicious_network_activity"}
    assert tagged[0].reference == "a-2"


def test_misp_attribute_without_to_ids_outside_detection_categories_is_skipped() -> (
    None
):
    values = _values(_load("misp_attributes.json"))

    assert not any(kind == "sha256" for kind, _ in values)


def test_cleanmx_entry_with_target_is_phishing_with_its_id() -> None:
    first = _load("cleanmx.xml").indicators[0]

    assert (first.threat, first.reference) == ("phishing", "100")


def test_malc0de_keeps_url_and_md5_and_warns_on_cut_url() -> None:
    result = _load("malc0de.xml")

    assert ("url", "http://dl.example.test/setup.exe") in _values(result)
    assert ("md5", "fedcba9876543210fedcba9876543210") in _values(result)
    assert "cut the url short" in result.warnings[0].message


def test_spamhaus_drop_gives_networks_with_sbl_reference() -> None:
    first = _load("drop.txt").indicators[0]

    assert (first.kind, first.value, first.reference) == (
        "ip-network",
        "192.0.2.0/24",
        "SBL000001",
    )


def test_format_is_detected_from_content_not_file_name(tmp_path: Path) -> None:
    disguised = tmp_path / "feed.txt"
    shutil.copy(DATA / "phishtank.json", disguised)

    assert load_feed(disguised).format == "phishtank-json"


def test_name_argument_names_the_feed_on_indicators_and_warnings() -> None:
    result = load_feed(DATA / "hashes.txt", name="bazaar")

    assert result.feed == "bazaar"
    assert {i.feed for i in result.indicators} == {"bazaar"}
    assert result.warnings[0].feed == "bazaar"


def test_html_page_is_declined_naming_file_and_formats() -> None:
    with pytest.raises(IntelFeedError, match="feodo.html.*HTML.*URLhaus CSV"):
        _load("feodo.html")


def test_text_in_no_format_raises_naming_file_and_formats() -> None:
    with pytest.raises(IntelFeedError, match="prose.txt.*heron reads: URLhaus CSV"):
        _load("prose.txt")


def test_csv_with_a_url_column_reads_urls_and_its_threat_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("url,threat\nhttp://a.example.test/,malware_download\n")

    result = load_feed(path)

    assert result.format == "url-csv"
    assert [i.threat for i in result.indicators] == ["malware_download"]
