"""The facts heron reads out of one message. Pure values, no I/O."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from heron.mail.verification import Verification


@dataclass(frozen=True)
class Limits:
    """Bounds on every read of one message. A limit that is hit becomes a warning."""

    max_bytes: int = 50 * 1024 * 1024
    max_parts: int = 1000
    max_depth: int = 12
    max_header_length: int = 64 * 1024
    max_headers: int = 2000
    max_urls: int = 5000
    max_body_chars: int = 5 * 1024 * 1024
    max_seconds: float = 20.0
    # Files inside attachments: archives, documents and images.
    max_archive_depth: int = 3
    max_archive_members: int = 500
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: int = 200
    max_passwords: int = 20
    max_images: int = 30
    max_image_pixels: int = 40_000_000
    max_pdf_pages: int = 50


@dataclass(frozen=True)
class MailWarning:
    """A defect found while reading: a stable code, where it was, what happened."""

    code: str
    where: str
    message: str


@dataclass(frozen=True)
class Address:
    """One mailbox address with its display name. ``address`` is lower-cased."""

    address: str
    display_name: str = ""

    @property
    def domain(self) -> str:
        """The part after the last ``@``; empty when there is none or when the ``@``
        sits inside a quoted local part (``"user@bank.test"`` has no domain)."""
        local, at, domain = self.address.rpartition("@")
        if not at or '"' in domain or local.count('"') % 2:
            return ""
        return domain


@dataclass(frozen=True)
class ReceivedHop:
    """One Received header. ``index`` 0 is the topmost, the last hop mail took."""

    index: int
    from_host: str
    by_host: str
    ip: str | None
    received_at: datetime | None
    raw: str


@dataclass(frozen=True)
class AuthResult:
    """One method result in an Authentication-Results header (RFC 8601).

    ``properties`` holds ptype.property pairs such as ``smtp.mailfrom`` or ``header.d``.
    """

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class AuthenticationResults:
    """One Authentication-Results header. ``index`` 0 is the topmost of them."""

    index: int
    authserv_id: str
    results: tuple[AuthResult, ...]
    raw: str


@dataclass(frozen=True)
class Url:
    """A link found in the message.

    ``url`` is refanged and normalised (scheme and host in lower case). ``origin``
    says where it was found: ``text``, ``html-href``, ``html-src``, ``html-form``,
    ``html-meta-refresh``, ``attachment:<name>``. ``defanged`` is true when the
    message wrote it in a defanged form (hxxp, [.]). ``anchor_text`` is the visible
    text of an HTML link, when there is one. ``wrapped_by`` names the link rewriter
    (Safe Links, Proofpoint ...) whose wrapping was undone to reach ``url``.
    """

    url: str
    origin: str
    host: str
    defanged: bool = False
    anchor_text: str = ""
    wrapped_by: str = ""


@dataclass(frozen=True)
class FileFlag:
    """Something a file holds that matters for its verdict, found by reading it.

    ``code`` is stable (``vba-macro``, ``pdf-javascript``, ``encrypted`` ...; see
    ``heron.mail.files``); ``detail`` says what exactly was seen.
    """

    code: str
    detail: str


@dataclass(frozen=True)
class FileContents:
    """What reading an attachment's bytes found: its kind, flags, the files inside an
    archive (``members``, each an ``Attachment`` of its own), the password from the
    message that opened it, and its TLSH fuzzy hash for clustering. Links found in the
    file go to the message's urls, with the file named in their origin."""

    kind: str
    flags: tuple[FileFlag, ...] = ()
    members: tuple[Attachment, ...] = ()
    password: str = ""
    tlsh: str = ""
    links: int = 0


@dataclass(frozen=True)
class Attachment:
    """One attachment or inline part that is not a body.

    ``declared_type`` is the Content-Type the message states; ``true_type`` is the
    type found from the bytes (libmagic). ``message`` holds the facts of an attached
    message (message/rfc822) when there is one.
    """

    filename: str
    declared_type: str
    true_type: str
    size: int
    md5: str
    sha1: str
    sha256: str
    inline: bool = False
    content_id: str = ""
    message: MessageFacts | None = None
    contents: FileContents | None = None
    payload: bytes = field(default=b"", repr=False, compare=False)

    def with_members(self) -> list[Attachment]:
        """This attachment and every file inside it, at any depth, outer first."""
        found, pending = [], [self]
        while pending:
            attachment = pending.pop(0)
            found.append(attachment)
            if attachment.contents is not None:
                pending.extend(attachment.contents.members)
        return found


@dataclass(frozen=True)
class SenderHistory:
    """What the organisation's delivered mail in the store says of a message's
    sender and link domains: copies received before it, never counting itself.

    ``link_domain_copies`` pairs each organisational domain the message links to
    with the earlier delivered copies that linked there too.
    """

    delivered: int  # copies received earlier, counted up to 10,000
    from_address_copies: int
    from_domain_copies: int
    link_domain_copies: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class MessageFacts:
    """Everything heron reads out of one message.

    ``sha256`` is the hash of the raw bytes and identifies the message.
    ``envelope_sender`` is the SMTP MAIL FROM as recorded in Return-Path; ``from_`` is
    the header From. They are different things and never merged.
    """

    sha256: str
    size: int
    format: str
    message_id: str
    subject: str
    from_: Address | None
    envelope_sender: str
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    received: tuple[ReceivedHop, ...]
    authentication_results: tuple[AuthenticationResults, ...]
    text_body: str
    html_body: str
    urls: tuple[Url, ...]
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    warnings: tuple[MailWarning, ...]
    # heron's own DKIM, SPF and ARC checks and the DMARC record, when a record
    # source is configured (see heron.mail.verification).
    verification: Verification | None = None
    # The store's delivered mail about this sender, when heron analyses the message.
    history: SenderHistory | None = None

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc

    @property
    def sending_ip(self) -> str:
        """The first public address in the Received chain, from the top: the host
        that handed the message to the organisation's side ("" when none is public)."""
        for hop in self.received:
            try:
                if hop.ip and ipaddress.ip_address(hop.ip).is_global:
                    return hop.ip
            except ValueError:
                continue
        return ""

    @property
    def answers_earlier(self) -> bool:
        """True when the message names one it answers (In-Reply-To or References)."""
        return bool(self.header("In-Reply-To") or self.header("References"))

    def header(self, name: str) -> list[str]:
        """Every value of one header, in order, matched without regard to case."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def every_url(self) -> list[Url]:
        """The urls of this message and of every message attached to it, at any depth.

        An attached message's urls keep their own origin; a message attached to a
        report or forwarded as a file is evidence like any other part.
        """
        return [url for facts in self._with_attached() for url in facts.urls]

    def every_attachment(self) -> list[Attachment]:
        """The attachments of this message and of every message attached to it,
        with the files inside archives among them."""
        return [
            member
            for facts in self._with_attached()
            for attachment in facts.attachments
            for member in attachment.with_members()
        ]

    def _with_attached(self) -> list[MessageFacts]:
        found, pending = [], [self]
        while pending:
            facts = pending.pop(0)
            found.append(facts)
            pending.extend(
                a.message for a in facts.attachments if a.message is not None
            )
        return found

    def all_warnings(self) -> list[MailWarning]:
        """This message's warnings and those of every attached message."""
        found = list(self.warnings)
        for attachment in self.attachments:
            if attachment.message is not None:
                found.extend(attachment.message.all_warnings())
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the facts, without attachment payloads."""
        result: dict[str, Any] = _jsonable(asdict(self))
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "payload"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value
