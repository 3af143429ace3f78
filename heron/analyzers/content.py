"""What the message says: requests for credentials, pressure, lures, and text hidden
from filters.

Each signal is weak alone and is scored low or medium; together they make a message
suspicious. The words are matched in English, Portuguese, Spanish, German, French and
Dutch (see ``lexicon.py``).
"""

from __future__ import annotations

from heron.analyzers import lexicon
from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import Severity
from heron.mail.facts import MessageFacts
from heron.mail.urls import visible_text

NAME = "content"
MAX_TEXT = 200_000


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE,),
    description="Looks for credential requests, pressure, lures and hidden characters.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    text = readable_text(facts)
    findings = [
        *_phrases(text, message),
        *_hidden(facts, message),
        *_personalised(facts, message),
    ]
    summary = "; ".join(f.summary for f in findings)
    if not findings:
        findings.append(
            Finding(
                NAME,
                message,
                "content-ok",
                Severity.INFORMATIONAL,
                "no credential request, pressure or lure in the text",
            )
        )
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=findings[-1].summary
    )


def readable_text(facts: MessageFacts) -> str:
    """Subject and bodies, with those of attached messages, as one lower-cased text
    without invisible characters."""
    parts = [facts.subject, facts.text_body[:MAX_TEXT]]
    if facts.html_body:
        parts.append(visible_text(facts.html_body, MAX_TEXT))
    for attachment in facts.attachments:
        if attachment.message is not None:
            parts.append(readable_text(attachment.message))
    return lexicon.without_invisible(" ".join(parts)).lower()[: MAX_TEXT * 4]


def _phrases(text: str, message: EntityRef) -> list[Finding]:
    checks = (
        (
            lexicon.CREDENTIAL_REQUEST,
            "credential-request",
            Severity.MEDIUM,
            "asks the reader to confirm an account or password",
        ),
        (
            lexicon.URGENCY,
            "urgency",
            Severity.LOW,
            "presses the reader with a threat or deadline",
        ),
        (lexicon.LURE, "lure", Severity.LOW, "dangles a prize, payment or reward"),
    )
    findings = []
    for pattern, code, severity, summary in checks:
        match = pattern.search(text)
        if match:
            quote = " ".join(match.group(0).split())[:80]
            findings.append(
                Finding(
                    NAME,
                    message,
                    code,
                    severity,
                    f'{summary}: "{quote}"',
                    {"quote": quote},
                )
            )
    return findings


def _hidden(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    name = facts.from_.display_name if facts.from_ else ""
    in_header = lexicon.hidden_between_letters(name) + lexicon.hidden_between_letters(
        facts.subject
    )
    in_body = lexicon.hidden_between_letters(facts.text_body[:MAX_TEXT])
    if in_header < 2 and in_body < 5:
        return []
    where = "the sender's name or subject" if in_header >= 2 else "the text"
    return [
        Finding(
            NAME,
            message,
            "hidden-characters",
            Severity.MEDIUM,
            f"invisible characters split words in {where}, which hides them from filters",
            {"in_headers": in_header, "in_body": in_body},
        )
    ]


def _personalised(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    subject = facts.subject.lower()
    named = [a.address for a in facts.recipients if a.address and a.address in subject]
    if not named:
        return []
    return [
        Finding(
            NAME,
            message,
            "address-in-subject",
            Severity.LOW,
            f"the subject names the recipient's address {named[0]}",
        )
    ]
