"""Indicators and the index that answers lookups."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field

from heron.domain.urls import normalise_url

__all__ = ["FeedResult", "FeedWarning", "Indicator", "IntelIndex", "normalise_url"]


@dataclass(frozen=True)
class Indicator:
    """One entry of one feed.

    ``kind`` is one of ``url``, ``domain``, ``ip``, ``md5``, ``sha1``, ``sha256``, or
    ``ip-network`` for a CIDR network (``value`` like ``192.0.2.0/24``), which
    ``IntelIndex.lookup_ip`` matches for every address inside it.
    ``value`` is normalised: urls by ``heron.domain.urls.normalise_url``, domains and
    hashes in lower case. ``threat`` is the feed's word for it (``phishing``,
    ``malware_download``, ``botnet_cc``) or ``unspecified``.
    """

    kind: str
    value: str
    feed: str
    threat: str = "unspecified"
    reference: str = ""


@dataclass(frozen=True)
class FeedWarning:
    """A line or record of a feed that could not be read."""

    feed: str
    where: str
    message: str


@dataclass
class FeedResult:
    """What one feed file gave: its format, indicators and warnings."""

    feed: str
    format: str
    indicators: list[Indicator] = field(default_factory=list)
    warnings: list[FeedWarning] = field(default_factory=list)


class IntelIndex:
    """Every loaded indicator, looked up by kind and value."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], list[Indicator]] = defaultdict(list)
        self.feeds: list[str] = []
        self.feed_sizes: dict[str, int] = {}
        self.warnings: list[FeedWarning] = []
        self._networks: dict[tuple[int, int], dict[str, list[Indicator]]] = {}

    def add(self, result: FeedResult) -> None:
        self.feeds.append(result.feed)
        self.feed_sizes[result.feed] = self.feed_sizes.get(result.feed, 0) + len(
            result.indicators
        )
        self.warnings.extend(result.warnings)
        for indicator in result.indicators:
            self._by_key[(indicator.kind, indicator.value)].append(indicator)
            if indicator.kind == "ip-network":
                self._add_network(indicator)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())

    def lookup(self, kind: str, value: str) -> list[Indicator]:
        """Indicators of one kind with exactly this (normalised) value."""
        value = normalise_url(value) if kind == "url" else value.strip().lower()
        return list(self._by_key.get((kind, value), ()))

    def lookup_ip(self, ip: str) -> list[Indicator]:
        """Indicators for an ip address: the address itself and networks holding it.

        An ``ip`` that is not an address gives an empty list.
        """
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return []
        found = list(self._by_key.get(("ip", str(address)), ()))
        for (version, prefix), networks in sorted(self._networks.items()):
            if version == address.version:
                network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
                found.extend(networks.get(str(network), ()))
        return found

    def _add_network(self, indicator: Indicator) -> None:
        try:
            network = ipaddress.ip_network(indicator.value, strict=False)
        except ValueError:
            return
        key = (network.version, network.prefixlen)
        self._networks.setdefault(key, {}).setdefault(str(network), []).append(
            indicator
        )
