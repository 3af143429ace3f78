"""Reading Outlook .msg files (MS-OXMSG, a CFB container) into ``MessageFacts``.

Uses olefile only (extract-msg is GPL). Each MAPI property is a stream named
``__substg1.0_IIIITTTT`` (property id, type) or a fixed-size entry in the
``__properties_version1.0`` stream. When the file keeps its transport headers
(property 007D) they are read as RFC 5322 headers and win over the properties for
the header facts; the properties fill whatever the headers lack.
"""

from __future__ import annotations

import io
import logging
import struct
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import Parser

import olefile

from heron.errors import MailParseError
from heron.mail.assemble import Body, assemble
from heron.mail.attachments import build_attachment
from heron.mail.budget import Budget, Warnings
from heron.mail.facts import Address, Attachment, MessageFacts
from heron.mail.headers import HeaderFacts, bound_headers, read_header_facts
from heron.mail.text import codec_for, decode_bytes

log = logging.getLogger(__name__)

PROPERTIES = "__properties_version1.0"
SUBSTORAGE = "__substg1.0_"
RECIPIENT_PREFIX = "__recip_version1.0_#"
ATTACHMENT_PREFIX = "__attach_version1.0_#"
EMBEDDED = "__substg1.0_3701000D"
MSG_TYPE = "application/vnd.ms-outlook"

# Property ids (MS-OXPROPS).
SUBJECT = 0x0037
CLIENT_SUBMIT_TIME = 0x0039
SENT_REPRESENTING_NAME = 0x0042
SENT_REPRESENTING_ADDRESS = 0x0065
TRANSPORT_HEADERS = 0x007D
SENDER_NAME = 0x0C1A
SENDER_ADDRESS = 0x0C1F
RECIPIENT_TYPE = 0x0C15
DELIVERY_TIME = 0x0E06
BODY = 0x1000
RTF_COMPRESSED = 0x1009
HTML = 0x1013
MESSAGE_ID = 0x1035
DISPLAY_NAME = 0x3001
EMAIL_ADDRESS = 0x3003
DATA = 0x3701
SHORT_FILENAME = 0x3704
ATTACH_METHOD = 0x3705
LONG_FILENAME = 0x3707
MIME_TAG = 0x370E
CONTENT_ID = 0x3712
SMTP_ADDRESS = 0x39FE
INTERNET_CPID = 0x3FDE
MESSAGE_CODEPAGE = 0x3FFD
SENDER_SMTP = 0x5D01
SENT_REPRESENTING_SMTP = 0x5D02
HIDDEN = 0x7FFE

UNICODE, STRING8, BINARY = 0x001F, 0x001E, 0x0102
_SPECIAL_CODEPAGES = {
    65001: "utf-8",
    20127: "ascii",
    28591: "latin-1",
    1200: "utf-16-le",
    50220: "iso2022_jp",
    50221: "iso2022_jp",
    51932: "euc_jp",
}
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def read_msg(raw: bytes, budget: Budget, depth: int) -> MessageFacts:
    """The facts of one Outlook .msg file; ``MailParseError`` if it is no message."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(raw))
    except Exception as error:
        raise MailParseError(f"not a readable Outlook file: {error}") from error
    try:
        entries = ["/".join(path) for path in ole.listdir(streams=True, storages=True)]
        meter = _Meter(max(8 * len(raw), 4 * 1024 * 1024))
        store = _Store(ole, "", 32, entries, meter)
        if not store.has_properties():
            raise MailParseError(
                "CFB file holds no MAPI message; not an Outlook message"
            )
        return _read_store(store, raw, budget, depth)
    finally:
        ole.close()


class _Meter:
    """Bytes read from one file's streams. Streams may share sectors or declare sizes
    they do not have, so a small file can claim gigabytes; reads stop at ``limit``
    (eight times the file's size: embedded messages are read as a whole and again
    property by property, at each level of nesting)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True


class _Store:
    """The properties of one message, recipient or attachment storage."""

    def __init__(
        self,
        ole: olefile.OleFileIO,
        prefix: str,
        header: int,
        entries: list[str],
        meter: _Meter,
    ) -> None:
        self.ole = ole
        self.meter = meter
        self.prefix = prefix
        self.entries = entries
        self.names = {
            e[len(prefix) :]
            for e in entries
            if e.startswith(prefix) and "/" not in e[len(prefix) :]
        }
        self.problems: list[tuple[str, str]] = []
        self._by_child: dict[str, list[str]] | None = None
        self.codec = "cp1252"
        self.fixed = self._fixed(header)
        self.codec = _codepage(
            self.integer(INTERNET_CPID) or self.integer(MESSAGE_CODEPAGE)
        )

    def has_properties(self) -> bool:
        return PROPERTIES in self.names or any(
            n.startswith(SUBSTORAGE) for n in self.names
        )

    def child(self, name: str, header: int) -> _Store:
        """The storage ``name`` below this one."""
        prefix = f"{self.prefix}{name}/"
        store = _Store(
            self.ole, prefix, header, self._groups().get(name, []), self.meter
        )
        store.codec = self.codec if store.codec == "cp1252" else store.codec
        return store

    def storages(self, start: str) -> list[str]:
        """Names of the direct child storages whose names start with ``start``."""
        groups = self._groups()
        return sorted(n for n in groups if n.startswith(start))

    def _groups(self) -> dict[str, list[str]]:
        # Entries below this storage, by the name of the child they belong to, built
        # once so that reading N attachments stays linear in the number of entries.
        if self._by_child is None:
            self._by_child = {}
            for entry in self.entries:
                rest = entry[len(self.prefix) :]
                if entry.startswith(self.prefix) and "/" in rest:
                    self._by_child.setdefault(rest.split("/", 1)[0], []).append(entry)
        return self._by_child

    def read(self, name: str) -> bytes | None:
        if name not in self.names:
            return None
        try:
            size = self.ole.get_size(self.prefix + name)
            if not self.meter.take(size):
                self.problems.append(
                    (
                        self.prefix + name,
                        f"stream of {size} bytes not read: the file's streams add up "
                        f"to more than {self.meter.limit} bytes (shared or lying sizes)",
                    )
                )
                return None
            return bytes(self.ole.openstream(self.prefix + name).read())
        except Exception as error:
            self.problems.append((self.prefix + name, f"stream unreadable: {error}"))
            return None

    def string(self, prop: int) -> str:
        """A string property (unicode or 8-bit), "" when absent."""
        data = self.read(f"{SUBSTORAGE}{prop:04X}{UNICODE:04X}")
        if data is not None:
            return data.decode("utf-16-le", errors="replace").rstrip("\x00")
        data = self.read(f"{SUBSTORAGE}{prop:04X}{STRING8:04X}")
        if data is None:
            return ""
        text, problem = decode_bytes(data.rstrip(b"\x00"), self.codec)
        if problem:
            self.problems.append((f"{self.prefix}{prop:04X}", problem))
        return text

    def binary(self, prop: int) -> bytes | None:
        return self.read(f"{SUBSTORAGE}{prop:04X}{BINARY:04X}")

    def integer(self, prop: int) -> int | None:
        value = self.fixed.get(prop)
        return struct.unpack_from("<i", value)[0] if value is not None else None

    def time(self, prop: int) -> datetime | None:
        value = self.fixed.get(prop)
        if value is None:
            return None
        ticks = struct.unpack_from("<q", value)[0]
        try:
            return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
        except OverflowError:
            return None

    def _fixed(self, header: int) -> dict[int, bytes]:
        data = self.read(PROPERTIES)
        if data is None:
            return {}
        values: dict[int, bytes] = {}
        for offset in range(header, len(data) - 15, 16):
            tag = struct.unpack_from("<I", data, offset)[0]
            values[tag >> 16] = data[offset + 8 : offset + 16]
        return values


def _codepage(number: int | None) -> str:
    if number is None:
        return "cp1252"
    if number in _SPECIAL_CODEPAGES:
        return _SPECIAL_CODEPAGES[number]
    return codec_for(f"cp{number}") or "cp1252"


def _read_store(store: _Store, raw: bytes, budget: Budget, depth: int) -> MessageFacts:
    warnings = Warnings()
    headers = _headers(store, budget, warnings)
    text = Body("text", budget.limits.max_body_chars, warnings)
    html = Body("html", budget.limits.max_body_chars, warnings)
    text.add(store.string(BODY), "body")
    html.add(_html(store), "html")
    if not text.length and not html.length and store.binary(RTF_COMPRESSED):
        # Known limit: a body kept only as compressed RTF (property 1009) is not
        # read; decompress it (MS-OXRTFCP) and take the HTML it wraps.
        warnings.add("msg-rtf-body", "body", "body is compressed RTF only; not read")
    attachments = _attachments(store, budget, depth, warnings)
    for where, problem in store.problems:
        warnings.add("msg-property", where or "0", problem)
    return assemble(
        raw, "msg", headers, text.text(), html.text(), attachments, warnings, budget
    )


def _headers(store: _Store, budget: Budget, warnings: Warnings) -> HeaderFacts:
    transport = store.string(TRANSPORT_HEADERS)
    items: list[tuple[str, str]] = []
    if transport.strip():
        parsed = Parser(policy=policy.compat32).parsestr(transport, headersonly=True)
        items = [(str(name), str(value)) for name, value in parsed.raw_items()]
    facts = read_header_facts(
        bound_headers(items, budget.limits, warnings, "0"), warnings
    )
    facts.subject = store.string(SUBJECT) or facts.subject
    facts.message_id = facts.message_id or store.string(MESSAGE_ID).strip().strip("<>")
    facts.date = (
        facts.date or store.time(CLIENT_SUBMIT_TIME) or store.time(DELIVERY_TIME)
    )
    _fill_senders(store, facts, warnings)
    if not facts.to and not facts.cc:
        facts.to, facts.cc = _recipients(store, budget, warnings)
    return facts


def _fill_senders(store: _Store, facts: HeaderFacts, warnings: Warnings) -> None:
    sender = _address(
        store.string(SENDER_SMTP) or store.string(SENDER_ADDRESS),
        store.string(SENDER_NAME),
    )
    representing = _address(
        store.string(SENT_REPRESENTING_SMTP) or store.string(SENT_REPRESENTING_ADDRESS),
        store.string(SENT_REPRESENTING_NAME),
    )
    if facts.from_ is None:
        facts.from_ = representing or sender
        if facts.from_ is not None and "@" not in facts.from_.address:
            warnings.add("from-unparsable", "header:From", "sender has no SMTP address")
    if facts.sender is None and sender is not None and sender != facts.from_:
        facts.sender = sender


def _address(address: str, name: str) -> Address | None:
    address = address.strip()
    if not address and not name.strip():
        return None
    return Address(address.lower(), name.strip())


def _recipients(
    store: _Store, budget: Budget, warnings: Warnings
) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    to: list[Address] = []
    cc: list[Address] = []
    for name in store.storages(RECIPIENT_PREFIX):
        if not budget.take_part():
            warnings.add("part-limit", name, "part limit reached; recipients not read")
            break
        recipient = store.child(name, 8)
        smtp = recipient.string(SMTP_ADDRESS)
        fallback = recipient.string(EMAIL_ADDRESS)
        address = _address(smtp or fallback, recipient.string(DISPLAY_NAME))
        if address is None:
            continue
        kind = recipient.integer(RECIPIENT_TYPE)
        if kind == 2:
            cc.append(address)
        elif kind != 3:
            to.append(address)
        # Known limit: Bcc recipients (type 3) are left out because MessageFacts has
        # no Bcc field; add one to the facts if analyzers come to need it.
        store.problems.extend(recipient.problems)
    return tuple(to), tuple(cc)


def _html(store: _Store) -> str:
    data = store.binary(HTML)
    if data is None:
        return store.string(HTML)
    text, problem = decode_bytes(data, store.codec)
    if problem:
        store.problems.append(("html", problem))
    return text


def _attachments(
    store: _Store, budget: Budget, depth: int, warnings: Warnings
) -> list[Attachment]:
    found: list[Attachment] = []
    for name in store.storages(ATTACHMENT_PREFIX):
        if budget.expired():
            warnings.add("time-limit", name, "time limit reached; attachments not read")
            break
        if not budget.take_part():
            warnings.add("part-limit", name, "part limit reached; attachments not read")
            break
        attachment = _attachment(store.child(name, 8), name, budget, depth, warnings)
        if attachment is not None:
            found.append(attachment)
    return found


def _attachment(
    store: _Store, where: str, budget: Budget, depth: int, warnings: Warnings
) -> Attachment | None:
    filename = (
        store.string(LONG_FILENAME)
        or store.string(SHORT_FILENAME)
        or store.string(DISPLAY_NAME)
    )
    declared = (store.string(MIME_TAG) or "application/octet-stream").strip().lower()
    content_id = store.string(CONTENT_ID).strip().strip("<>")
    inline = bool(store.integer(HIDDEN))
    if EMBEDDED in store.names:
        return _embedded(store, where, filename, budget, depth, warnings)
    data = store.binary(DATA)
    for problem_where, problem in store.problems:
        warnings.add("msg-property", problem_where, problem)
    if data is None:
        warnings.add(
            "msg-attachment-empty", where, f"attachment {filename!r} has no data"
        )
        data = b""
    return build_attachment(
        data,
        filename=filename,
        declared_type=declared,
        warnings=warnings,
        inline=inline,
        content_id=content_id,
        message=_file_message(data, filename, declared, where, budget, depth, warnings),
    )


def _file_message(
    data: bytes,
    filename: str,
    declared: str,
    where: str,
    budget: Budget,
    depth: int,
    warnings: Warnings,
) -> MessageFacts | None:
    from heron.mail.parse import looks_like_message_file, read_message

    if not looks_like_message_file(data, filename, declared):
        return None
    if depth + 1 > budget.limits.max_depth:
        warnings.add("depth-limit", where, "attached message too deep; not read")
        return None
    try:
        return read_message(data, budget, depth + 1)
    except MailParseError as error:
        warnings.add("attached-message-unreadable", where, str(error))
        return None


def _embedded(
    store: _Store,
    where: str,
    filename: str,
    budget: Budget,
    depth: int,
    warnings: Warnings,
) -> Attachment:
    inner = store.child(EMBEDDED, 24)
    if not inner.has_properties():
        warnings.add(
            "msg-ole-attachment", where, "embedded OLE object is not a message"
        )
        payload = _stream_bytes(inner)
        return build_attachment(
            payload,
            filename=filename,
            declared_type="application/x-oleobject",
            warnings=warnings,
        )
    # Known limit: an embedded message has no file of its own inside the .msg, so
    # its payload and hashes are of its streams joined in path order, not of a
    # standalone .msg; write it out as a CFB file to get comparable hashes.
    payload = _stream_bytes(inner)
    message = None
    if depth + 1 > budget.limits.max_depth:
        warnings.add("depth-limit", where, "embedded message too deep; not read")
    else:
        message = _read_store(inner, payload, budget, depth + 1)
    name = (
        filename or f"{(message.subject if message else '') or 'embedded-message'}.msg"
    )
    attachment = build_attachment(
        payload,
        filename=name,
        declared_type=MSG_TYPE,
        warnings=warnings,
        message=message,
    )
    return attachment


def _stream_bytes(store: _Store) -> bytes:
    chunks: list[bytes] = []
    for entry in sorted(e for e in store.entries if e.startswith(store.prefix)):
        if store.ole.get_type(entry) == olefile.STGTY_STREAM:
            size = store.ole.get_size(entry)
            if not store.meter.take(size):
                store.problems.append(
                    (entry, f"stream of {size} bytes left out: the read limit is spent")
                )
                continue
            chunks.append(entry[len(store.prefix) :].encode())
            chunks.append(store.ole.openstream(entry).read())
    return b"".join(chunks)
