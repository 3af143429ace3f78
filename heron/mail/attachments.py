"""Building ``Attachment`` facts: hashes and the type found from the bytes.

The true type comes from libmagic through python-magic. When libmagic cannot be
loaded the type is ``application/octet-stream`` and the message gets one warning.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from heron.mail.budget import Warnings
from heron.mail.facts import Attachment, MessageFacts

log = logging.getLogger(__name__)

SNIFF_BYTES = 65536
UNKNOWN_TYPE = "application/octet-stream"

_sniffer: Callable[[bytes], str] | None = None
_sniffer_error = ""


def _load_sniffer() -> Callable[[bytes], str] | None:
    global _sniffer, _sniffer_error
    if _sniffer is not None or _sniffer_error:
        return _sniffer
    try:
        import magic

        magic.from_buffer(b"probe", mime=True)
    except Exception as error:  # ImportError, or libmagic failing to load its db
        _sniffer_error = f"libmagic not available: {error}"
        log.warning("true file types are unknown: %s", _sniffer_error)
        return None

    def sniff(data: bytes) -> str:
        return str(magic.from_buffer(data, mime=True))

    _sniffer = sniff
    return _sniffer


def true_type(payload: bytes, warnings: Warnings) -> str:
    """The media type libmagic finds in the first 64 KiB of ``payload``."""
    sniffer = _load_sniffer()
    if sniffer is None:
        warnings.once("libmagic-missing", "attachments", _sniffer_error)
        return UNKNOWN_TYPE
    try:
        return sniffer(payload[:SNIFF_BYTES]) or UNKNOWN_TYPE
    except Exception as error:  # libmagic errors surface as magic.MagicException
        warnings.add("libmagic-failed", "attachments", f"type not found: {error}")
        return UNKNOWN_TYPE


def build_attachment(
    payload: bytes,
    *,
    filename: str,
    declared_type: str,
    warnings: Warnings,
    inline: bool = False,
    content_id: str = "",
    message: MessageFacts | None = None,
) -> Attachment:
    """An ``Attachment`` with hashes and true type computed from ``payload``."""
    return Attachment(
        filename=filename,
        declared_type=declared_type,
        true_type=true_type(payload, warnings),
        size=len(payload),
        md5=hashlib.md5(payload, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(payload, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(payload).hexdigest(),
        inline=inline,
        content_id=content_id,
        message=message,
        payload=payload,
    )
