"""Reading inside attachments: documents, archives, images, calendar invites, shortcuts.

Each attachment's bytes are recognised by their leading bytes (not by the name an
attacker chose) and read by the reader of that kind. A reader records what matters for
a verdict as ``FileFlag`` values (codes below), adds the links it finds to the
message's urls (origin ``attachment:NAME``; ``qr:attachment:NAME`` for a decoded QR
code), and, for an archive, returns the files inside as attachments of their own, read
in turn up to ``Limits.max_archive_depth``. Every reader runs inside the message's
budget; a file that cannot be read whole gets a warning and the flag ``unreadable``.

Flag codes: ``vba-macro``, ``macro-autoexec``, ``macro-suspicious``, ``xlm-macro``,
``dde``, ``remote-template``, ``ole-object``, ``rtf-object``, ``pdf-javascript``,
``pdf-open-action``, ``pdf-launch``, ``pdf-embedded-file``, ``pdf-submit-form``,
``encrypted``, ``password-found``, ``path-traversal``, ``risky-carrier``,
``archive-limit``, ``unopened-member``, ``could-not-check``, ``unreadable``, ``qr-code``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace

from heron.mail.attachments import build_attachment
from heron.mail.budget import Budget, Warnings
from heron.mail.facts import Attachment, FileContents, FileFlag
from heron.mail.urls import UrlCollector, collect_text_urls

log = logging.getLogger(__name__)

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ONENOTE_MAGIC = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
LNK_MAGIC = b"L\x00\x00\x00\x01\x14\x02\x00"


class FileScan:
    """The state one message's file reading shares: budget, warnings, the url
    collector, candidate passwords from the message text, and counters."""

    def __init__(
        self,
        budget: Budget,
        warnings: Warnings,
        collector: UrlCollector,
        passwords: list[str],
    ) -> None:
        self.budget = budget
        self.limits = budget.limits
        self.warnings = warnings
        self.collector = collector
        self.passwords = passwords
        self.images = 0
        self.unpacked = 0

    def links(self, text: str, where: str) -> int:
        """Add the urls written in ``text`` to the message; how many were new."""
        before = len(self.collector)
        collect_text_urls(text, where, self.collector)
        return len(self.collector) - before

    def member(self, data: bytes, name: str, where: str, depth: int) -> Attachment:
        """A file found inside another, read in its turn one level deeper."""
        attachment = build_attachment(
            data,
            filename=name,
            declared_type="application/octet-stream",
            warnings=self.warnings,
        )
        return inspect(attachment, self, f"{where}/{name}", depth + 1)


class Found:
    """What one reader found in one file, gathered as it goes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.flags: list[FileFlag] = []
        self.members: list[Attachment] = []
        self.password = ""
        self.links = 0

    def flag(self, code: str, detail: str) -> None:
        if all((f.code, f.detail) != (code, detail) for f in self.flags):
            self.flags.append(FileFlag(code, detail))


Reader = Callable[[bytes, Found, FileScan, str, int], None]


def inspect_attachments(
    attachments: list[Attachment], scan: FileScan
) -> list[Attachment]:
    """Every attachment (attached messages aside) with what reading its bytes found."""
    return [
        a if a.message is not None else inspect(a, scan, _where(a), 0)
        for a in attachments
    ]


def inspect(
    attachment: Attachment, scan: FileScan, where: str, depth: int
) -> Attachment:
    """``attachment`` with its ``contents``; never raises on hostile bytes."""
    data = attachment.payload
    kind, reader = recognise(
        data, attachment.filename, attachment.true_type, attachment.declared_type
    )
    found = Found(kind)
    if reader is not None and not scan.budget.expired():
        try:
            reader(data, found, scan, where, depth)
        except Exception as error:
            # Third-party readers meet hostile files; a failure in one is a warning
            # and a flag on that file, never a crash of the whole read.
            log.debug("reading %s failed", where, exc_info=True)
            scan.warnings.add(
                "file-unreadable",
                where,
                f"{kind} not read: {type(error).__name__}: {error}",
            )
            found.flag("unreadable", f"{kind}: {type(error).__name__}")
    elif reader is not None:
        scan.warnings.add("time-limit", where, f"time limit reached; {kind} not read")
        found.flag("unreadable", "time limit reached")
    contents = FileContents(
        kind=kind,
        flags=tuple(found.flags),
        members=tuple(found.members),
        password=found.password,
        tlsh=fuzzy_hash(data),
        links=found.links,
    )
    return replace(attachment, contents=contents)


def recognise(
    data: bytes, filename: str, true_type: str, declared_type: str = ""
) -> tuple[str, Reader | None]:
    """The kind of a file from its first bytes (and, for text kinds, its types)."""
    from heron.mail.files import archives, documents, images, pdf, shortcuts

    head = data[:8]
    name = filename.lower()
    if b"%PDF" in data[:1024]:
        return "pdf", pdf.read
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if documents.is_ooxml(data):
            return "office-ooxml", documents.read_ooxml
        return "zip", archives.read_zip
    if head.startswith(CFB_MAGIC):
        return "office-ole", documents.read_ole
    if data[:5].lower() == b"{\\rtf":
        return "rtf", documents.read_rtf
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z", archives.read_7z
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar", archives.read_rar
    if head.startswith(b"\x1f\x8b"):
        return "gzip", archives.read_gzip
    if data[:16] == ONENOTE_MAGIC:
        return "onenote", _carrier
    if head == LNK_MAGIC:
        return "lnk", _carrier
    if data[0x8001:0x8006] == b"CD001" or data[0x9001:0x9006] == b"CD001":
        return "iso", archives.read_iso
    if true_type.startswith("image/") and true_type != "image/svg+xml":
        return "image", images.read
    if shortcuts.is_calendar(data, true_type, name):
        return "calendar", shortcuts.read_calendar
    if shortcuts.is_shortcut(data, name):
        return "internet-shortcut", shortcuts.read_shortcut
    if _is_html(name, true_type) or declared_type in (
        "text/html",
        "application/xhtml+xml",
    ):
        return "html", _read_html
    if true_type.startswith("text/"):
        return "text", _read_text
    return "", None


def _is_html(name: str, true_type: str) -> bool:
    return true_type in ("text/html", "image/svg+xml") or name.endswith(
        (".htm", ".html", ".shtml", ".xhtml", ".svg")
    )


def _read_html(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    from heron.mail.text import decode_bytes
    from heron.mail.urls import collect_html_urls

    html, _ = decode_bytes(_bounded(data, scan, where), "utf-8")
    before = len(scan.collector)
    collect_html_urls(html, scan.collector, origin=where)
    found.links += len(scan.collector) - before


def _read_text(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    from heron.mail.text import decode_bytes

    text, _ = decode_bytes(_bounded(data, scan, where), "utf-8")
    found.links += scan.links(text, where)


def _bounded(data: bytes, scan: FileScan, where: str) -> bytes:
    limit = scan.limits.max_body_chars
    if len(data) > limit:
        scan.warnings.add(
            "body-limit", where, f"only the first {limit} bytes read for links"
        )
    return data[:limit]


def _carrier(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    # Known limit: raw disk images (.img), shortcuts and OneNote files are not
    # opened; that they arrived by mail at all is the signal. ISO images are listed
    # and read (archives.read_iso).
    found.flag("risky-carrier", f"{found.kind} file, a common carrier of malware")


def fuzzy_hash(data: bytes) -> str:
    """The TLSH of ``data``, or "" when it is too short or too uniform to have one."""
    if len(data) < 50:
        return ""
    import tlsh

    digest = str(tlsh.hash(data))
    return "" if digest in ("", "TNULL") else digest


_PASSWORD_WORDS = re.compile(
    r"(?:password|passwort|kennwort|wachtwoord|mot de passe|contrase(?:ñ|n)a|senha|"
    r"parola|has(?:ł|l)o|pass(?:code|phrase)?|pwd?|code|密码|パスワード)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\s\"'<>«»“”‘’:,;]{3,32}")


def passwords_in(text: str, limit: int) -> list[str]:
    """Candidate archive passwords: the words written after a password keyword.

    A message carrying an encrypted archive states its password in the text so the
    reader can open it ("Password: 1234"); heron tries those words, nothing else.
    """
    found: list[str] = []
    for match in _PASSWORD_WORDS.finditer(text):
        tail = text[match.end() : match.end() + 80]
        tail = re.sub(r"^\s*(?:is|ist|est|:|=|-|：)?\s*", "", tail, flags=re.IGNORECASE)
        token = _TOKEN.match(tail)
        if token:
            word = token.group(0).rstrip(".!?)")
            if word and word not in found:
                found.append(word)
        if len(found) >= limit:
            break
    return found


def _where(attachment: Attachment) -> str:
    if not attachment.filename and attachment.content_id:
        return f"cid:{attachment.content_id}"
    return f"attachment:{attachment.filename or attachment.sha256[:12]}"
