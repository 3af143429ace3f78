"""Reading the header block of a message into facts.

Shared by the RFC 5322 reader (``parse``) and the Outlook reader (``outlook``, whose
transport headers are RFC 5322 text). Every function here takes header values as
written and returns values plus warnings; none raises on bad input.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from heron.mail.authres import parse_authentication_results, strip_comments
from heron.mail.budget import Warnings
from heron.mail.facts import Address, AuthenticationResults, Limits, ReceivedHop
from heron.mail.text import decode_words, unfold, unsurrogate

_FROM_HOST = re.compile(r"(?:^|\s)from\s+(\[[^\]\s]*\]|[^\s;()\[\]]+)", re.IGNORECASE)
_BY_HOST = re.compile(r"(?:^|[\s)\]])by\s+([^\s;()]+)", re.IGNORECASE)
_BRACKETED_IP = re.compile(
    r"[\[(]\s*(?:IPv6:)?([0-9A-Fa-f:.]{2,45})(?:%[\w.]+)?\s*[\])]"
)
_ANGLE = re.compile(r"<([^<>]*)>")
# Headers RFC 5322 and RFC 2045 allow at most once; a second copy is a known way
# to show a filter one value and the reader another.
SINGLE_HEADERS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


@dataclass
class HeaderFacts:
    """The facts that come from the header block alone."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    message_id: str = ""
    subject: str = ""
    from_: Address | None = None
    envelope_sender: str = ""
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    date: datetime | None = None
    received: tuple[ReceivedHop, ...] = ()
    authentication_results: tuple[AuthenticationResults, ...] = ()

    def first(self, name: str) -> str | None:
        """The first value of a header, matched without regard to case."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def every(self, name: str) -> list[str]:
        """Every value of a header, in order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


def bound_headers(
    items: list[tuple[str, str]], limits: Limits, warnings: Warnings, where: str
) -> list[tuple[str, str]]:
    """Unfold and decode raw header items, keeping within the count and length limits.

    Values keep RFC 2047 encoded words as written; 8-bit bytes become text.
    """
    if len(items) > limits.max_headers:
        warnings.add(
            "header-count-limit",
            where,
            f"{len(items)} headers; only the first {limits.max_headers} were read",
        )
        items = items[: limits.max_headers]
    bounded: list[tuple[str, str]] = []
    for name, value in items:
        text = unfold(str(value))
        if not _is_utf8(text):
            warnings.add(
                "header-8bit", f"{where}:{name}", "raw 8-bit header, not UTF-8"
            )
        text = unsurrogate(text).strip()
        if len(text) > limits.max_header_length:
            warnings.add(
                "header-length-limit",
                f"{where}:{name}",
                f"header of {len(text)} characters cut to {limits.max_header_length}",
            )
            text = text[: limits.max_header_length]
        bounded.append((unsurrogate(str(name)).strip(), text))
    return bounded


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value.encode("utf-8", errors="surrogateescape").decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def duplicate_headers(
    headers: list[tuple[str, str]], where: str, warnings: Warnings
) -> None:
    """Warn for each header that RFC 5322 or MIME allows once but appears again."""
    counts: dict[str, int] = {}
    for name, _ in headers:
        lowered = name.lower()
        if lowered in SINGLE_HEADERS:
            counts[lowered] = counts.get(lowered, 0) + 1
    for name, count in counts.items():
        if count > 1:
            warnings.add(
                "header-duplicate", f"{where}:{name}", f"{count} {name} headers"
            )


def read_header_facts(
    headers: list[tuple[str, str]], warnings: Warnings
) -> HeaderFacts:
    """Every header-derived fact of one message, from its bounded header list."""
    facts = HeaderFacts(headers=headers)
    duplicate_headers(headers, "header", warnings)
    facts.message_id = _message_id(facts.first("Message-ID") or "")
    facts.subject = _subject(facts, warnings)
    facts.from_ = _header_from(facts, warnings)
    facts.envelope_sender = _envelope_sender(facts.first("Return-Path") or "")
    senders = addresses(facts.first("Sender") or "", "header:Sender", warnings)
    facts.sender = senders[0] if senders else None
    facts.reply_to = _all_addresses(facts, "Reply-To", warnings)
    facts.to = _all_addresses(facts, "To", warnings)
    facts.cc = _all_addresses(facts, "Cc", warnings)
    facts.date = _header_date(facts.first("Date"), warnings)
    facts.received = tuple(
        parse_received(value, index)
        for index, value in enumerate(facts.every("Received"))
    )
    facts.authentication_results = tuple(
        parse_authentication_results(value, index)
        for index, value in enumerate(facts.every("Authentication-Results"))
    )
    return facts


def addresses(value: str, where: str, warnings: Warnings) -> list[Address]:
    """The mailboxes in one address header, display names decoded (RFC 2047)."""
    if not value.strip():
        return []
    pairs = _getaddresses(value)
    if pairs is None:
        warnings.add("address-unparsable", where, "address list could not be read")
        return []
    found: list[Address] = []
    for name, address in pairs:
        if not address:
            continue
        display, problems = decode_words(name)
        for problem in problems:
            warnings.add("encoded-word", where, problem)
        found.append(Address(address.strip().lower(), display.strip()))
    return found


def _getaddresses(value: str) -> list[tuple[str, str]] | None:
    # The stdlib address parser recurses on nested comments; retry without them.
    for text in (value, strip_comments(value)):
        try:
            return getaddresses([text])
        except (RecursionError, ValueError, IndexError, TypeError):
            continue
    return None


# Addresses kept per address header name (To, Cc, Reply-To); a message addressed to
# more is a mass mailing, and its first thousand recipients say what the rest would.
MAX_ADDRESSES = 1000


def _all_addresses(
    facts: HeaderFacts, name: str, warnings: Warnings
) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in facts.every(name):
        found.extend(addresses(value, f"header:{name}", warnings))
        if len(found) > MAX_ADDRESSES:
            warnings.add(
                "address-limit",
                f"header:{name}",
                f"more than {MAX_ADDRESSES} addresses; only the first {MAX_ADDRESSES} kept",
            )
            return tuple(found[:MAX_ADDRESSES])
    return tuple(found)


_ANGLED = re.compile(r"<\s{0,10}([^<>\s]{1,320})\s{0,10}>")


def _header_from(facts: HeaderFacts, warnings: Warnings) -> Address | None:
    values = facts.every("From")
    if not values:
        return None
    found = addresses(values[0], "header:From", warnings)
    if not found:
        warnings.add("from-unparsable", "header:From", "From holds no readable address")
        return None
    if len(found) > 1:
        warnings.add(
            "from-multiple-addresses",
            "header:From",
            f"From holds {len(found)} addresses",
        )
    # Mail clients reply to, and show as the sender, the one address in angle
    # brackets, whatever an unquoted name before it holds: a comma ("PayPal, Inc.
    # <a@evil.test>") or an address of its own ("service@paypal.com <a@evil.test>").
    angled = _ANGLED.findall(values[0])
    if len(angled) == 1 and "@" in angled[0]:
        head = values[0][: values[0].index("<")]
        name = decode_words(head.strip().rstrip(",").strip().strip('"'))[0].strip()
        return Address(angled[0].strip().lower(), name)
    # Without one angle address, the first mailbox with a domain is the sender.
    with_domain = [address for address in found if "@" in address.address]
    if not with_domain:
        warnings.add("from-unparsable", "header:From", "From address has no domain")
        return found[0]
    return with_domain[0]


def _subject(facts: HeaderFacts, warnings: Warnings) -> str:
    text, problems = decode_words(facts.first("Subject") or "")
    for problem in problems:
        warnings.add("encoded-word", "header:Subject", problem)
    return text.strip()


def _message_id(value: str) -> str:
    match = _ANGLE.search(value)
    return (match.group(1) if match else value).strip()


def _envelope_sender(value: str) -> str:
    match = _ANGLE.search(value)
    return (match.group(1) if match else value).strip().lower()


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date as an aware datetime (no zone means UTC), or None."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _header_date(value: str | None, warnings: Warnings) -> datetime | None:
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        warnings.add(
            "date-unparsable", "header:Date", f"Date not readable: {value[:80]!r}"
        )
    return parsed


def parse_received(value: str, index: int) -> ReceivedHop:
    """One Received header: the hosts, the sending IP and when it was received."""
    head, _, stamp = value.rpartition(";")
    if not head:
        head, stamp = value, ""
    masked = strip_comments(head, mask=True)
    from_match = _FROM_HOST.search(masked)
    by_match = _BY_HOST.search(masked, from_match.end() if from_match else 0)
    from_host = from_match.group(1) if from_match else ""
    from_part = ""
    if from_match:
        end = by_match.start() if by_match else len(head)
        from_part = head[from_match.start() : end]
    return ReceivedHop(
        index=index,
        from_host=from_host.strip("[]").lower().removeprefix("ipv6:"),
        by_host=(by_match.group(1).lower() if by_match else ""),
        ip=_sending_ip(from_part),
        received_at=parse_date(stamp) if stamp.strip() else None,
        raw=value,
    )


def _sending_ip(from_part: str) -> str | None:
    for match in _BRACKETED_IP.finditer(from_part):
        try:
            return str(ipaddress.ip_address(match.group(1)))
        except ValueError:
            continue
    return None
