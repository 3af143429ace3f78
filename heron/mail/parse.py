"""Reading one raw message (RFC 5322 or Outlook MSG) into ``MessageFacts``.

``parse_message`` is the entry point of the mail layer. Outlook files (CFB magic)
go to ``heron.mail.outlook``; everything else is read by the stdlib ``email``
package with the ``compat32`` policy, the one that never raises on a bad header
and keeps header bytes as written. MIME parts are walked without recursion, bounded
by ``Limits``; every defect becomes a ``MailWarning`` whose ``where`` is a part
path (``0`` is the message itself, ``1.2`` the second child of its first child).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import io
import logging
import quopri
import re
from email import errors, policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser

from heron.errors import MailParseError
from heron.mail.assemble import Body, assemble
from heron.mail.attachments import build_attachment
from heron.mail.budget import Budget, Warnings
from heron.mail.facts import Attachment, Limits, MessageFacts
from heron.mail.headers import bound_headers, read_header_facts
from heron.mail.text import decode_bytes, decode_words, unsurrogate

log = logging.getLogger(__name__)

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BODY_TYPES = ("text/plain", "text/html")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_MEDIA_TYPE = re.compile(r"\s*[\w!#$&^.+-]+/[\w!#$&^.+-]+\s*(;|$)")
_KNOWN_ENCODINGS = {
    "",
    "7bit",
    "8bit",
    "binary",
    "base64",
    "quoted-printable",
    "x-uuencode",
    "uuencode",
    "x-uue",
    "uue",
}


def parse_message(
    raw: bytes, limits: Limits = Limits(), *, depth: int = 0
) -> MessageFacts:
    """Read one message (RFC 5322 text or Outlook .msg) into facts.

    ``depth`` is how deep this message is attached inside another; attached
    messages deeper than ``limits.max_depth`` are kept as plain attachments. Every
    defect becomes a warning on the facts. Raises ``MailParseError`` only for input
    that is not mail at all: empty or blank bytes, bytes without a single header
    line, or an unreadable Outlook file.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MailParseError(
            f"expected bytes, got {type(raw).__name__}; pass raw mail bytes"
        )
    data = bytes(raw)
    if not data.strip():
        raise MailParseError("empty input is not a message; check the source file")
    facts = read_message(data, Budget(limits), depth)
    if facts.format == "eml" and not facts.headers:
        raise MailParseError(
            "no header lines: this is not an email message (is it the right file?)"
        )
    return facts


def read_message(raw: bytes, budget: Budget, depth: int) -> MessageFacts:
    """Read one message within a budget shared with the message that holds it."""
    if raw.startswith(CFB_MAGIC):
        from heron.mail.outlook import read_msg

        return read_msg(raw, budget, depth)
    warnings = Warnings()
    data = raw
    if len(raw) > budget.limits.max_bytes:
        warnings.add(
            "size-limit",
            "0",
            f"{len(raw)} bytes; only the first {budget.limits.max_bytes} were read",
        )
        data = raw[: budget.limits.max_bytes]
    if data.startswith(b"\xef\xbb\xbf"):
        # A text editor's byte-order mark before the first header: mail has none.
        warnings.add(
            "byte-order-mark", "0", "a UTF-8 byte-order mark before the headers"
        )
        data = data[3:]
    message = _parse_bytes(data, warnings)
    return facts_from_message(message, raw, budget, depth, warnings)


def _parse_bytes(data: bytes, warnings: Warnings) -> Message:
    try:
        return BytesParser(policy=policy.compat32).parsebytes(data)
    except RecursionError:
        # Known limit: the stdlib MIME parser recurses once per nesting level and
        # gives up near a thousand levels; such a message is read as headers plus
        # one unsplit body. A bounded iterative MIME splitter would read its parts.
        warnings.add("mime-too-deep", "0", "MIME nesting too deep; body read unsplit")
    except Exception as error:
        warnings.add(
            "parse-failed", "0", f"MIME structure unreadable ({error}); body unsplit"
        )
    try:
        return BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)
    except Exception as error:
        raise MailParseError(f"bytes cannot be read as mail at all: {error}") from error


def facts_from_message(
    message: Message, raw: bytes, budget: Budget, depth: int, warnings: Warnings
) -> MessageFacts:
    """The facts of an already parsed ``email`` message whose bytes are ``raw``."""
    items = [(str(name), str(value)) for name, value in message.raw_items()]
    headers = read_header_facts(
        bound_headers(items, budget.limits, warnings, "0"), warnings
    )
    for required in ("From", "Date"):
        if headers.first(required) is None:
            warnings.add(
                "header-missing", f"header:{required}", f"no {required} header"
            )
    walker = _Walker(budget, depth, warnings)
    walker.walk(message)
    return assemble(
        raw,
        "eml",
        headers,
        walker.text.text(),
        walker.html.text(),
        walker.attachments,
        warnings,
        budget,
    )


class _Walker:
    """Walks the MIME tree of one message without recursion, within the budget."""

    def __init__(self, budget: Budget, depth: int, warnings: Warnings) -> None:
        self.budget = budget
        self.limits = budget.limits
        self.depth = depth
        self.warnings = warnings
        self.text = Body("text", self.limits.max_body_chars, warnings)
        self.html = Body("html", self.limits.max_body_chars, warnings)
        self.attachments: list[Attachment] = []

    def walk(self, root: Message) -> None:
        """Visit every part in document order, stopping at the time or part limit."""
        stack: list[tuple[Message, str, int]] = [(root, "0", 0)]
        while stack:
            if self._out_of_budget(len(stack), stack[-1][1]):
                return
            part, path, level = stack.pop()
            children = self._visit(part, path, level)
            stack.extend(reversed(children))

    def _out_of_budget(self, pending: int, where: str) -> bool:
        if self.budget.expired():
            self.warnings.add(
                "time-limit", where, f"time limit reached; {pending} parts not read"
            )
            return True
        if not self.budget.take_part():
            self.warnings.add(
                "part-limit",
                where,
                f"more than {self.limits.max_parts} parts; {pending} not read",
            )
            return True
        return False

    def _visit(
        self, part: Message, path: str, level: int
    ) -> list[tuple[Message, str, int]]:
        children: list[tuple[Message, str, int]] = []
        try:
            children = self._read_part(part, path, level)
        except Exception as error:
            # Hostile input reaches corners of the stdlib parser that raise; one bad
            # part becomes a warning and the walk goes on.
            log.debug("part %s unreadable", path, exc_info=True)
            self.warnings.add(
                "part-unreadable", path, f"{type(error).__name__}: {error}"
            )
        for defect in part.defects:
            self.warnings.add("mime-defect", path, _describe(defect))
        return children

    def _read_part(
        self, part: Message, path: str, level: int
    ) -> list[tuple[Message, str, int]]:
        content_type = part.get_content_type()
        self._check_mime_headers(part, path)
        if part.get_content_maintype() == "message":
            self._read_message_part(part, path, content_type)
            return []
        if part.is_multipart():
            return self._children(part, path, level)
        if part.get_content_maintype() == "multipart":
            self.warnings.add(
                "multipart-unsplit", path, "multipart without parts; read as text"
            )
            self._read_body(part, path, "text/plain")
        elif content_type in BODY_TYPES and not _is_attachment(part):
            self._read_body(part, path, content_type)
        else:
            self._read_attachment(part, path, content_type)
        return []

    def _check_mime_headers(self, part: Message, path: str) -> None:
        declared = part.get_all("Content-Type") or []
        if len(declared) > 1:
            self.warnings.add(
                "header-duplicate", path, f"{len(declared)} Content-Type headers"
            )
        if declared and not _MEDIA_TYPE.match(unsurrogate(str(declared[0]))):
            self.warnings.add(
                "content-type-invalid",
                path,
                f"not a media type: {str(declared[0])[:80]!r}",
            )
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if part.get_content_maintype() in ("multipart", "message") and encoding in (
            "base64",
            "quoted-printable",
        ):
            self.warnings.add(
                "transfer-encoding",
                path,
                f"{encoding} on a {part.get_content_type()} part",
            )

    def _children(
        self, part: Message, path: str, level: int
    ) -> list[tuple[Message, str, int]]:
        payload = part.get_payload()
        children = payload if isinstance(payload, list) else []
        prefix = "" if path == "0" else f"{path}."
        if level + 1 > self.limits.max_depth:
            self.warnings.add(
                "depth-limit",
                path,
                f"MIME nesting deeper than {self.limits.max_depth}; "
                f"{len(children)} parts not read",
            )
            return []
        return [
            (child, f"{prefix}{index}", level + 1)
            for index, child in enumerate(children, 1)
        ]

    def _read_body(self, part: Message, path: str, content_type: str) -> None:
        payload = self._payload(part, path)
        text, problem = decode_bytes(payload, part.get_content_charset())
        if problem:
            self.warnings.add("charset", path, problem)
        body = self.html if content_type == "text/html" else self.text
        body.add(text, path)

    def _payload(self, part: Message, path: str) -> bytes:
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if encoding not in _KNOWN_ENCODINGS:
            self.warnings.add(
                "transfer-encoding",
                path,
                f"unknown transfer encoding {encoding[:40]!r}",
            )
        payload = part.get_payload(decode=True)
        if encoding == "base64" and any(
            isinstance(defect, errors.InvalidBase64LengthDefect)
            for defect in part.defects
        ):
            # The stdlib hands back the undecoded text here; keep what decodes.
            return lenient_base64(_to_bytes(part.get_payload()))
        if isinstance(payload, bytes):
            return payload
        return _to_bytes(part.get_payload())

    def _read_attachment(self, part: Message, path: str, content_type: str) -> None:
        payload = self._payload(part, path)
        filename = _filename(part, self.warnings, path)
        message = self._file_message(payload, filename, content_type, path)
        self._keep(part, payload, filename, content_type, message)

    def _read_message_part(self, part: Message, path: str, content_type: str) -> None:
        payload = self._message_bytes(part, path)
        filename = _filename(part, self.warnings, path)
        message = None
        if content_type in ("message/rfc822", "message/global"):
            filename = filename or "attached-message.eml"
            message = self._attached(payload, path)
        self._keep(part, payload, filename, content_type, message)

    def _keep(
        self,
        part: Message,
        payload: bytes,
        filename: str,
        content_type: str,
        message: MessageFacts | None,
    ) -> None:
        self.attachments.append(
            build_attachment(
                payload,
                filename=filename,
                declared_type=content_type,
                warnings=self.warnings,
                inline=part.get_content_disposition() == "inline",
                content_id=_content_id(part),
                message=message,
            )
        )

    def _message_bytes(self, part: Message, path: str) -> bytes:
        payload = part.get_payload()
        inner = (
            [sub for sub in payload if isinstance(sub, Message)]
            if isinstance(payload, list)
            else []
        )
        data = b"\n".join(serialize(sub, self.warnings, path) for sub in inner)
        if not inner:
            data = _to_bytes(payload)
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if encoding in ("base64", "quoted-printable"):
            # Not allowed by RFC 2046 but sent anyway: the parser took the encoded
            # text for the message, so decode it and read it again.
            self.warnings.add(
                "mime-defect", path, f"message part encoded as {encoding}"
            )
            data = _decode_transfer(data, encoding, self.warnings, path)
        return data

    def _attached(self, payload: bytes, path: str) -> MessageFacts | None:
        if self.depth + 1 > self.limits.max_depth:
            self.warnings.add(
                "depth-limit",
                path,
                f"attached message deeper than {self.limits.max_depth}; not read",
            )
            return None
        if not payload.strip():
            self.warnings.add(
                "attached-message-empty", path, "attached message is empty"
            )
            return None
        try:
            return read_message(payload, self.budget, self.depth + 1)
        except MailParseError as error:
            self.warnings.add("attached-message-unreadable", path, str(error))
            return None

    def _file_message(
        self, payload: bytes, filename: str, content_type: str, path: str
    ) -> MessageFacts | None:
        if not looks_like_message_file(payload, filename, content_type):
            return None
        return self._attached(payload, path)


def looks_like_message_file(payload: bytes, filename: str, content_type: str) -> bool:
    """True for an attached file that holds a whole message (.eml or Outlook .msg)."""
    name = filename.lower()
    if payload.startswith(CFB_MAGIC):
        return name.endswith(".msg") or content_type == "application/vnd.ms-outlook"
    if not name.endswith(".eml"):
        return False
    first_line = payload[:1000].split(b"\n", 1)[0]
    name_part, colon, _ = first_line.partition(b":")
    return bool(colon) and name_part.strip() != b"" and b" " not in name_part.strip()


def serialize(message: Message, warnings: Warnings, where: str) -> bytes:
    """The bytes of a parsed message, as close to how they were written as the
    ``compat32`` generator gets."""
    # Known limit: the stdlib keeps no offsets, so an attached message's bytes are
    # rebuilt by the generator and can differ from the wire bytes (line endings);
    # its sha256 is of the rebuilt bytes. Slice the raw input by offsets to fix it.
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=policy.compat32).flatten(
            message
        )
        return buffer.getvalue()
    except Exception as error:
        warnings.add(
            "serialize-failed", where, f"attached message not rebuilt: {error}"
        )
    try:
        return message.as_string().encode("utf-8", errors="surrogateescape")
    except Exception:
        return b""


def _decode_transfer(
    data: bytes, encoding: str, warnings: Warnings, where: str
) -> bytes:
    if encoding == "quoted-printable":
        return quopri.decodestring(data)
    try:
        return lenient_base64(data)
    except (binascii.Error, ValueError) as error:
        warnings.add("base64", where, f"attached message not decodable: {error}")
        return data


def lenient_base64(data: bytes) -> bytes:
    """Decode as much of damaged base64 as can be: alphabet only, whole quanta."""
    text = _NOT_BASE64.sub(b"", data)
    usable = len(text) - len(text) % 4
    decoded = base64.b64decode(text[:usable]) if usable else b""
    rest = text[usable:]
    if len(rest) >= 2:
        decoded += base64.b64decode(rest + b"=" * (4 - len(rest)))
    return decoded


def _is_attachment(part: Message) -> bool:
    if part.get_content_disposition() == "attachment":
        return True
    return bool(
        part.get_param("filename", header="content-disposition")
        or part.get_param("name")
    )


def _filename(part: Message, warnings: Warnings, where: str) -> str:
    try:
        raw = _eight_bit_filename(part) or part.get_filename() or ""
    except Exception as error:
        warnings.add("filename", where, f"filename unreadable: {error}")
        return ""
    text, problems = decode_words(unsurrogate(str(raw)))
    for problem in problems:
        warnings.add("encoded-word", where, problem)
    return text.strip().replace("\x00", "")


def _eight_bit_filename(part: Message) -> str:
    """A file name written in raw UTF-8 (RFC 6532), which ``get_filename`` would
    turn into replacement characters, hiding a right-to-left override among them."""
    for header, name in (("content-disposition", "filename"), ("content-type", "name")):
        raw = next((str(v) for k, v in part.raw_items() if k.lower() == header), "")
        if not any("\udc80" <= ch <= "\udcff" for ch in raw):
            continue
        holder = Message()
        holder[header] = unsurrogate(raw)
        value = holder.get_param(name, None, header)
        if isinstance(value, str):
            return email.utils.unquote(value)
    return ""


def _content_id(part: Message) -> str:
    value = unsurrogate(str(part.get("Content-ID", ""))).strip()
    return (
        value[1:-1].strip() if value.startswith("<") and value.endswith(">") else value
    )


def _to_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def _describe(defect: object) -> str:
    name = type(defect).__name__
    text = str(defect)
    return f"{name}: {text}" if text and text != name else name
