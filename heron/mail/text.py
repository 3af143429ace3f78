"""Turning the bytes and encoded words of a message into text.

Charsets named in mail are often wrong, unknown or hostile (``punycode`` decodes in
quadratic time). ``decode_bytes`` never raises: it falls back to UTF-8, then
Windows-1252, and says so through the returned problem text.
"""

from __future__ import annotations

import binascii
import codecs
import re

# Names seen in real mail that Python does not know, or knows as a smaller set.
_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-user-defined": "latin-1",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "tis-620": "cp874",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
}
# Text codecs that are legal in Python but never a mail charset, or slow on big input.
_REFUSED = {"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"}
# Charsets that say "no charset": decode as UTF-8 with the usual fallback.
_UNSTATED = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "8bit"}

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SPACE_ONLY = re.compile(r"\s*")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a mail charset name, or None when it names no usable one.

    None is also returned for the names that state no charset at all (us-ascii,
    unknown-8bit); callers then try UTF-8.
    """
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNSTATED:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str]:
    """Decode ``data`` stated to be in ``charset``; never raises.

    Returns the text and a problem description, empty when the charset worked.
    """
    stated = (charset or "").strip().strip("\"'").lower()
    codec = codec_for(stated)
    if codec is not None:
        try:
            return data.decode(codec), ""
        except (UnicodeError, ValueError, LookupError):
            text = _fallback(data)
            return text, f"bytes are not valid {stated}; decoded as best effort"
    unknown = stated not in _UNSTATED
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _fallback(data)
    else:
        return text, (
            f"unknown charset {stated!r}; decoded as utf-8" if unknown else ""
        )
    if not unknown:
        shown = stated or "none"
        return text, f"8-bit bytes with charset {shown}; decoded as windows-1252"
    return text, f"unknown charset {stated!r}; decoded as best effort"


def _fallback(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def unsurrogate(value: str) -> str:
    """Turn the surrogate-escaped 8-bit bytes the email parser leaves into text."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", errors="surrogateescape")
        return _fallback(raw)


def unfold(value: str) -> str:
    """Undo header folding: drop the line breaks before whitespace."""
    if "\n" not in value:
        return value
    return _FOLD.sub("", value).replace("\r", "").replace("\n", " ")


def decode_words(value: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded words in a header value; never raises.

    Adjacent encoded words in one charset are joined as bytes before decoding, so a
    character split between two words survives. Returns the text and problems.
    """
    value = unsurrogate(unfold(value))
    if "=?" not in value:
        return value, []
    problems: list[str] = []
    pieces: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0]
        data = _decode_word(match.group(2), match.group(3), problems)
        if pending and (
            not _SPACE_ONLY.fullmatch(between) or charset != pending_charset
        ):
            pieces.append(_decode_pending(pending, pending_charset, problems))
            pending = []
        if not pending:
            pieces.append(between)
        pending.append(data)
        pending_charset = charset
        position = match.end()
    if pending:
        pieces.append(_decode_pending(pending, pending_charset, problems))
    pieces.append(value[position:])
    return "".join(pieces), problems


def _decode_word(encoding: str, payload: str, problems: list[str]) -> bytes:
    try:
        if encoding in "bB":
            if _NOT_BASE64.search(payload):
                problems.append("encoded word holds characters outside base64")
            padded = payload + "=" * (-len(payload) % 4)
            return binascii.a2b_base64(padded.encode("ascii", errors="replace"))
        return binascii.a2b_qp(payload.encode("ascii", errors="replace"), header=True)
    except (binascii.Error, ValueError) as error:
        problems.append(f"encoded word not decodable: {error}")
        return payload.encode("utf-8", errors="replace")


def _decode_pending(pending: list[bytes], charset: str, problems: list[str]) -> str:
    text, problem = decode_bytes(b"".join(pending), charset)
    if problem:
        problems.append(problem)
    return text
