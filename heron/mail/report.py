"""Unwrapping a user's report to find the suspicious message inside it.

People report phish in three shapes: an ARF feedback report (RFC 5965,
``multipart/report; report-type=feedback-report``) from a report button or a
provider; a forward with the message attached (message/rfc822, or an attached
.eml or .msg file); or the message itself. ``unwrap_report`` tells them apart and
returns the original bytes for ``parse_message``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from heron.mail.budget import Warnings
from heron.mail.facts import Attachment, Limits, MailWarning, MessageFacts
from heron.mail.parse import CFB_MAGIC, looks_like_message_file, parse_message

log = logging.getLogger(__name__)

_FEEDBACK_TYPE = re.compile(rb"(?im)^feedback-type:[ \t]*([^\s;]+)")
_ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers")


@dataclass(frozen=True)
class Report:
    """What a report wraps.

    ``kind`` is ``arf`` (RFC 5965 feedback report), ``attached`` (a forward with the
    message attached) or ``none`` (nothing wrapped: ``original`` is the input).
    ``reporter`` is the wrapper's header From in lower case. ``feedback_type`` is
    the ARF Feedback-Type (``abuse``, ``fraud``...), "" otherwise.
    """

    original: bytes
    reporter: str
    kind: str
    feedback_type: str = ""
    warnings: tuple[MailWarning, ...] = ()


def unwrap_report(raw: bytes, limits: Limits = Limits()) -> Report:
    """Find the reported message inside ``raw``; see ``Report`` for the kinds.

    Raises ``MailParseError`` only when ``raw`` is not mail at all.
    """
    wrapper = parse_message(raw, limits)
    warnings = Warnings()
    warnings.extend(wrapper.warnings)
    reporter = wrapper.from_.address if wrapper.from_ else ""
    if _is_arf(wrapper):
        return _arf(wrapper, raw, reporter, warnings)
    original = _attached_original(wrapper, warnings)
    if original is not None:
        return Report(original, reporter, "attached", "", tuple(warnings.items))
    return Report(raw, reporter, "none", "", tuple(warnings.items))


def _is_arf(wrapper: MessageFacts) -> bool:
    values = wrapper.header("Content-Type")
    if not values:
        return False
    holder = Message()
    holder["Content-Type"] = values[0]
    report_type = str(holder.get_param("report-type") or "").lower()
    return (
        holder.get_content_type() == "multipart/report"
        and report_type == "feedback-report"
    )


def _arf(
    wrapper: MessageFacts, raw: bytes, reporter: str, warnings: Warnings
) -> Report:
    feedback_type = ""
    original: bytes | None = None
    for attachment in wrapper.attachments:
        if attachment.declared_type == "message/feedback-report" and not feedback_type:
            match = _FEEDBACK_TYPE.search(attachment.payload)
            feedback_type = (
                match.group(1).decode("ascii", "replace").lower() if match else ""
            )
        elif attachment.declared_type in _ORIGINAL_TYPES and original is None:
            original = attachment.payload
    if not feedback_type:
        warnings.add(
            "arf-no-feedback-type", "report", "ARF report without a Feedback-Type"
        )
    if not original or not original.strip():
        warnings.add(
            "arf-no-original", "report", "ARF report holds no original message"
        )
        return Report(raw, reporter, "arf", feedback_type, tuple(warnings.items))
    return Report(original, reporter, "arf", feedback_type, tuple(warnings.items))


def _attached_original(wrapper: MessageFacts, warnings: Warnings) -> bytes | None:
    for attachment in wrapper.attachments:
        if _is_message_attachment(attachment):
            if attachment.message is None:
                warnings.add(
                    "report-unreadable-original",
                    attachment.filename,
                    "attached message could not be read; the report is taken as it is",
                )
                continue
            if _has_own_bytes(attachment):
                return attachment.payload
            # Known limit: a message embedded inside an Outlook .msg has no bytes of
            # its own, so it cannot be handed on; write it out as a CFB file first.
            warnings.add(
                "report-embedded-msg",
                attachment.filename,
                "attached Outlook message has no standalone bytes; not unwrapped",
            )
    return None


def _is_message_attachment(attachment: Attachment) -> bool:
    if attachment.declared_type in ("message/rfc822", "message/global"):
        return True
    if attachment.message is not None:
        return True
    return looks_like_message_file(
        attachment.payload, attachment.filename, attachment.declared_type
    )


def _has_own_bytes(attachment: Attachment) -> bool:
    if (
        attachment.true_type == "application/vnd.ms-outlook"
        or attachment.declared_type == ("application/vnd.ms-outlook")
    ):
        return attachment.payload.startswith(CFB_MAGIC)
    return bool(attachment.payload.strip())
