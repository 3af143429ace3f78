"""A bounded collector that feed parsers fill with indicators and warnings.

Parsers never build ``FeedResult`` themselves: they hand every value they read to a
``FeedCollector``, which normalises it, drops repeats within the feed, counts the
malformed entries as ``FeedWarning`` records and enforces the per-feed caps.
"""

from __future__ import annotations

import logging

from heron.intel.model import FeedResult, FeedWarning, Indicator
from heron.intel.values import normalise_as

logger = logging.getLogger(__name__)

MAX_INDICATORS_PER_FEED = 1_000_000
"""A feed stops being read after this many distinct indicators (one warning says so).

A million indicators take a few hundred MiB in memory; the largest public dumps heron
is meant for (URLhaus, PhishTank) are below it once offline entries are dropped.
"""

MAX_WARNINGS_PER_FEED = 1_000
"""Warnings kept per feed; past this only a count is kept, in one last warning."""


class FeedCollector:
    """Indicators and warnings of one feed, with caps on both."""

    def __init__(
        self,
        feed: str,
        *,
        max_indicators: int = MAX_INDICATORS_PER_FEED,
        max_warnings: int = MAX_WARNINGS_PER_FEED,
    ) -> None:
        self.feed = feed
        self.max_indicators = max_indicators
        self.max_warnings = max_warnings
        self.indicators: list[Indicator] = []
        self.warnings: list[FeedWarning] = []
        self.full = False
        self._seen: set[tuple[str, str]] = set()
        self._dropped_warnings = 0

    def add(
        self,
        kind: str,
        text: str,
        *,
        where: str,
        threat: str = "unspecified",
        reference: str = "",
    ) -> bool:
        """Add ``text`` read as ``kind``; a bad value becomes a warning at ``where``.

        Returns ``False`` when the value was not added (bad, or the feed is full).
        """
        found = normalise_as(kind, text)
        if found is None:
            self.warn(where, f"not a valid {kind}: {excerpt(text)!r}")
            return False
        return self.add_normalised(*found, threat=threat, reference=reference)

    def add_normalised(
        self, kind: str, value: str, *, threat: str = "unspecified", reference: str = ""
    ) -> bool:
        """Add a value that is already normalised; repeats in one feed are dropped."""
        if self.full:
            return False
        if len(self.indicators) >= self.max_indicators:
            self._mark_full()
            return False
        if (kind, value) in self._seen:
            return False

        self._seen.add((kind, value))
        threat_word = (threat or "").strip().lower() or "unspecified"
        self.indicators.append(
            Indicator(kind, value, self.feed, threat_word, reference.strip())
        )
        return True

    def warn(self, where: str, message: str) -> None:
        """Record one unreadable line or record (up to ``max_warnings``)."""
        if len(self.warnings) < self.max_warnings:
            self.warnings.append(FeedWarning(self.feed, where, message))
        else:
            self._dropped_warnings += 1

    def result(self, feed_format: str) -> FeedResult:
        """The finished ``FeedResult``, with a closing warning for dropped warnings."""
        warnings = list(self.warnings)
        if self._dropped_warnings:
            warnings.append(
                FeedWarning(
                    self.feed,
                    "file",
                    f"{self._dropped_warnings} more unreadable entries not listed",
                )
            )
        return FeedResult(self.feed, feed_format, list(self.indicators), warnings)

    def _mark_full(self) -> None:
        self.full = True
        logger.warning(
            "feed %s: indicator cap of %d reached", self.feed, self.max_indicators
        )
        self.warnings.append(
            FeedWarning(
                self.feed,
                "file",
                f"indicator cap of {self.max_indicators} reached; the rest of the "
                "feed was not read",
            )
        )


def excerpt(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of ``text``, for warning messages."""
    return text if len(text) <= limit else text[:limit] + "..."
