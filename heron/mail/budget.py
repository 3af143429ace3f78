"""The running budget of one read: wall-time deadline, part count and warnings.

A ``Budget`` is shared by a message and every message attached to it, so that the
limits in ``Limits`` bound the whole read, not each level apart. It uses
``time.monotonic`` and no signals, so it works in any thread.
"""

from __future__ import annotations

import logging
import time

from heron.mail.facts import Limits, MailWarning

log = logging.getLogger(__name__)


class Budget:
    """Deadline and part counter for one read, shared with attached messages."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.parts = 0
        self._timed_out = False

    # Known limit: the deadline is checked between parts and between urls; one call
    # into the stdlib MIME parser or lexbor cannot be interrupted, so a single huge
    # part can overrun max_seconds by its own parse time. max_bytes bounds that time.
    def expired(self) -> bool:
        """True once the wall-time budget is spent; stays true afterwards."""
        if not self._timed_out and time.monotonic() > self.deadline:
            self._timed_out = True
            log.info("mail read hit its time limit of %ss", self.limits.max_seconds)
        return self._timed_out

    def take_part(self) -> bool:
        """Count one more MIME part; False when the part limit is already reached."""
        if self.parts >= self.limits.max_parts:
            return False
        self.parts += 1
        return True


class Warnings:
    """The warnings of one message, in the order they were found."""

    def __init__(self) -> None:
        self.items: list[MailWarning] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, code: str, where: str, message: str) -> None:
        """Record one warning."""
        self.items.append(MailWarning(code, where, message))

    def once(self, code: str, where: str, message: str) -> None:
        """Record a warning only the first time this code is seen at this place."""
        key = (code, where)
        if key not in self._seen:
            self._seen.add(key)
            self.add(code, where, message)

    def extend(self, warnings: list[MailWarning] | tuple[MailWarning, ...]) -> None:
        """Record warnings found elsewhere (e.g. by the url extractor)."""
        self.items.extend(warnings)
