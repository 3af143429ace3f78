"""Putting the pieces of one message together into ``MessageFacts``.

Both readers (RFC 5322 in ``parse``, Outlook in ``outlook``) gather headers, body
texts and attachments, then hand them here: bodies are joined within the body
limit and urls are collected from the bodies and from attached HTML files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from heron.mail.budget import Budget, Warnings
from heron.mail.facts import Attachment, MessageFacts
from heron.mail.files import FileScan, inspect_attachments, passwords_in
from heron.mail.headers import HeaderFacts
from heron.mail.urls import (
    UrlCollector,
    collect_html_urls,
    collect_text_urls,
    visible_text,
)

log = logging.getLogger(__name__)


class Body:
    """One body (text or HTML) built from parts, bounded by ``max_body_chars``."""

    def __init__(self, kind: str, limit: int, warnings: Warnings) -> None:
        self.kind = kind
        self.limit = limit
        self.warnings = warnings
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str, where: str) -> None:
        """Append the text of one part, cutting it at the limit with a warning."""
        room = self.limit - self.length
        if len(text) > room:
            self.warnings.add(
                "body-limit",
                where,
                f"{self.kind} body cut at {self.limit} characters; "
                f"{len(text) - max(room, 0)} characters not read",
            )
            text = text[: max(room, 0)]
        if text:
            self.parts.append(text)
            self.length += len(text)

    def text(self) -> str:
        """The parts joined by a line break."""
        return "\n".join(self.parts)


def assemble(
    raw: bytes,
    fmt: str,
    headers: HeaderFacts,
    text_body: str,
    html_body: str,
    attachments: list[Attachment],
    warnings: Warnings,
    budget: Budget,
) -> MessageFacts:
    """The ``MessageFacts`` of one message from what its reader gathered."""
    urls = UrlCollector(budget.limits.max_urls, budget.deadline)
    attachments = _read_files(text_body, html_body, attachments, urls, warnings, budget)
    _collect_urls(text_body, html_body, urls, warnings)
    return MessageFacts(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        format=fmt,
        message_id=headers.message_id,
        subject=headers.subject,
        from_=headers.from_,
        envelope_sender=headers.envelope_sender,
        sender=headers.sender,
        reply_to=headers.reply_to,
        to=headers.to,
        cc=headers.cc,
        date=headers.date,
        received=headers.received,
        authentication_results=headers.authentication_results,
        text_body=text_body,
        html_body=html_body,
        urls=tuple(urls.urls()),
        attachments=tuple(attachments),
        headers=tuple(headers.headers),
        warnings=tuple(warnings.items),
    )


def _read_files(
    text_body: str,
    html_body: str,
    attachments: list[Attachment],
    collector: UrlCollector,
    warnings: Warnings,
    budget: Budget,
) -> list[Attachment]:
    """The attachments with what their bytes hold; their links go to ``collector``."""
    if all(a.message is not None or not a.payload for a in attachments):
        return attachments
    limit = budget.limits.max_body_chars
    text = text_body[:limit] + "\n" + visible_text(html_body[:limit], limit)
    scan = FileScan(
        budget, warnings, collector, passwords_in(text, budget.limits.max_passwords)
    )
    return inspect_attachments(attachments, scan)


def _collect_urls(
    text_body: str, html_body: str, collector: UrlCollector, warnings: Warnings
) -> None:
    _guarded(lambda: collect_text_urls(text_body, "text", collector), "text", warnings)
    _guarded(lambda: collect_html_urls(html_body, collector), "html", warnings)
    for code, problem in collector.problems:
        warnings.add(code, "urls", problem)
    if collector.truncated:
        warnings.add(
            "url-limit", "urls", f"more than {collector.limit} urls; rest not read"
        )
    if collector.timed_out:
        warnings.add("time-limit", "urls", "time limit reached while reading urls")


def _guarded(step: Callable[[], None], where: str, warnings: Warnings) -> None:
    # The HTML parser is third-party C code fed hostile input; a failure there must
    # become a warning, never a crash of the whole read.
    try:
        step()
    except Exception as error:
        log.debug("url extraction failed at %s", where, exc_info=True)
        warnings.add("url-extraction-failed", where, f"{type(error).__name__}: {error}")
