"""IntelIndex lookups, including ip addresses inside listed networks."""

from __future__ import annotations

from heron.intel.model import FeedResult, Indicator, IntelIndex


def _index(*indicators: Indicator) -> IntelIndex:
    index = IntelIndex()
    index.add(FeedResult("test", "indicator-list", list(indicators)))
    return index


def test_lookup_ip_finds_the_address_and_every_network_holding_it() -> None:
    exact = Indicator("ip", "192.0.2.7", "test")
    narrow = Indicator("ip-network", "192.0.2.0/24", "test")
    wide = Indicator("ip-network", "192.0.0.0/16", "test")
    index = _index(exact, narrow, wide)

    assert index.lookup_ip("192.0.2.7") == [exact, wide, narrow]
    assert index.lookup_ip("192.0.9.1") == [wide]
    assert index.lookup_ip("198.51.100.1") == []


def test_lookup_ip_compares_ipv6_in_canonical_form() -> None:
    network = Indicator("ip-network", "2001:db8:1000::/36", "test")
    address = Indicator("ip", "2001:db8::1", "test")
    index = _index(network, address)

    assert index.lookup_ip("2001:DB8:1000:0::5") == [network]
    assert index.lookup_ip("2001:0db8:0:0::1") == [address]


def test_lookup_ip_of_text_that_is_no_address_is_empty() -> None:
    assert _index(Indicator("ip", "192.0.2.7", "test")).lookup_ip("nonsense") == []


def test_lookup_still_matches_networks_by_exact_value() -> None:
    network = Indicator("ip-network", "192.0.2.0/24", "test")

    assert _index(network).lookup("ip-network", "192.0.2.0/24") == [network]


def test_lookup_normalises_urls_as_before() -> None:
    url = Indicator("url", "http://evil.example.test/a", "test")

    assert _index(url).lookup("url", "HTTP://Evil.Example.Test:80/a#x") == [url]
