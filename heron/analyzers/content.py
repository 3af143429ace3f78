"""What the message says: requests for credentials, pressure, lures, and text hidden
from filters.

Each signal is weak alone and is scored low or medium; together they make a message
suspicious. The words are matched in English, Portuguese, Spanish, German, French and
Dutch (see ``lexicon.py``).
"""

from __future__ import annotations

import re
import unicodedata

from heron.analyzers import lexicon
from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.analyzers.brands import BRANDS
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.lookalike import skeleton
from heron.domain.names import organisational_domain
from heron.domain.verdicts import Severity
from heron.mail.facts import MessageFacts
from heron.mail.urls import visible_text

NAME = "content"
MAX_TEXT = 200_000
# Distinct advance-fee phrases that make the genre (one alone is ordinary speech).
ADVANCE_FEE_PHRASES = 2
# Distinct words of one spam topic that make it the message's subject matter.
SPAM_TOPIC_WORDS = 2
# Share of Latin-1 symbols above which a header was read in the wrong charset.
UNDECODED_SHARE = 0.2
# A word broken by a dot after its first letter ("S.eu e.spaço"), which hides it from
# filters while a reader still reads it.
_DOTTED = re.compile(r"(?<![\w.])[^\W\d_]\.[^\W\d_]{2,}(?![\w.@])")
_WORD = re.compile(r"\w[\w'’]*\w", re.UNICODE)
# Scripts with letters that look like Latin ones; accented Latin letters are not tricks.
_LOOKALIKE_SCRIPTS = ("CYRILLIC", "GREEK", "CHEROKEE", "ARMENIAN", "COPTIC", "LISU")
_ONE_WORD_BRANDS = frozenset(b for b in BRANDS if b.isascii() and " " not in b)


@analyzer(
    NAME,
    accepts=(EntityType.MESSAGE,),
    description="Looks for credential requests, pressure, lures and hidden characters.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    facts, message = context.message, context.entity
    text = readable_text(facts)
    findings = [
        *_phrases(text, message, delivery_report=is_delivery_report(facts)),
        *_advance_fee(text, message),
        *_bitcoin_address(facts, message),
        *_missing_attachment(text, facts, message),
        *_spam_topics(text, message),
        *_reply_elsewhere(text, facts, message),
        *_hidden(facts, message),
        *_disguised(facts, message),
        *_personalised(facts, message),
    ]
    partly = _partly_read(facts, message)
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
    findings.extend(partly)
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=findings[0].summary
    )


def readable_text(facts: MessageFacts) -> str:
    """The sender's name, subject, attachment names and bodies, with those of
    attached messages, as one lower-cased text without invisible characters."""
    name = facts.from_.display_name if facts.from_ else ""
    parts = [name, facts.subject, head_and_tail(facts.text_body)]
    parts.extend(a.filename for a in facts.attachments if a.filename)
    if facts.html_body:
        parts.append(head_and_tail(visible_text(facts.html_body, MAX_TEXT * 5)))
    for attachment in facts.attachments:
        if attachment.message is not None:
            parts.append(readable_text(attachment.message))
    text = lexicon.without_invisible(" ".join(parts)).lower()[: MAX_TEXT * 4]
    return text.replace("_", " ")


def head_and_tail(text: str) -> str:
    """A text no longer than ``MAX_TEXT``: its beginning and its end, when longer, so
    that padding before or after the lure cannot push the lure out of sight."""
    if len(text) <= MAX_TEXT:
        return text
    half = MAX_TEXT // 2
    return f"{text[:half]} … {text[-half:]}"


def _partly_read(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    longest = max(len(facts.text_body), len(facts.html_body))
    if longest <= MAX_TEXT:
        return []
    return [
        Finding(
            NAME,
            message,
            "text-partly-read",
            Severity.INFORMATIONAL,
            f"a body of {longest} characters: its first and last {MAX_TEXT // 2} were "
            "read for phrases, the middle was not",
            {"length": longest, "read": MAX_TEXT},
        )
    ]


def is_delivery_report(facts: MessageFacts) -> bool:
    """A bounce or delay notice in the standard form (RFC 3464): machine-written,
    with "action required" and deadlines of its own."""
    content_type = " ".join(facts.header("Content-Type")).lower()
    return "multipart/report" in content_type and "delivery-status" in content_type


def _phrases(
    text: str, message: EntityRef, *, delivery_report: bool = False
) -> list[Finding]:
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
        (
            lexicon.ACCOUNT_THREAT,
            "account-threat",
            Severity.MEDIUM,
            "says the reader's account is or will be restricted",
        ),
        (lexicon.CRYPTO, "crypto", Severity.LOW, "talks cryptocurrency money"),
        (
            lexicon.FORM_ABUSE,
            "form-abuse",
            Severity.LOW,
            "a site's sign-up or contact form was made to carry a link",
        ),
    )
    findings = []
    for pattern, code, severity, summary in checks:
        if delivery_report and code == "urgency":
            continue
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
    # Text that was never decoded holds stray bytes that only look like soft
    # hyphens; they hide nothing.
    name, subject = (t if not _undecoded(t) else "" for t in (name, facts.subject))
    in_header = lexicon.hidden_between_letters(name) + lexicon.hidden_between_letters(
        subject
    )
    in_body = lexicon.hidden_between_letters(facts.text_body[:MAX_TEXT])
    in_header += len(_DOTTED.findall(f"{name} {subject}"))
    if in_header < 2 and in_body < 5:
        return []
    where = "the sender's name or subject" if in_header >= 2 else "the text"
    # Known limit: dots that break words are counted with invisible characters.
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
    if not named and not facts.recipients:
        # Sent blind (no To or Cc), yet the subject greets someone by address: the
        # reader's, filled in by a mass mailer.
        named = re.findall(lexicon.ADDRESS, subject)[:1]
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


def _advance_fee(text: str, message: EntityRef) -> list[Finding]:
    phrases = sorted(
        {" ".join(m.group(0).split()) for m in lexicon.ADVANCE_FEE.finditer(text)}
    )
    if len(phrases) < ADVANCE_FEE_PHRASES:
        return []
    quoted = ", ".join(f'"{p}"' for p in phrases[:4])
    return [
        Finding(
            NAME,
            message,
            "advance-fee",
            Severity.MEDIUM,
            f"reads like advance-fee fraud ({len(phrases)} telltale phrases: {quoted})",
            {"phrases": phrases[:10]},
        )
    ]


def _spam_topics(text: str, message: EntityRef) -> list[Finding]:
    """Sex, gambling or pills: low for a word, medium when the message dwells on it."""
    best: tuple[str, list[str]] | None = None
    for topic, pattern in lexicon.SPAM_TOPICS.items():
        words = sorted({" ".join(m.group(0).split()) for m in pattern.finditer(text)})
        if words and (best is None or len(words) > len(best[1])):
            best = (topic, words)
    if best is None:
        return []
    topic, words = best
    severity = Severity.MEDIUM if len(words) >= SPAM_TOPIC_WORDS else Severity.LOW
    quoted = ", ".join(f'"{w[:30]}"' for w in words[:4])
    return [
        Finding(
            NAME,
            message,
            "spam-topic",
            severity,
            f"sells what bulk spam sells ({topic}): {quoted}",
            {"topic": topic, "words": words[:10]},
        )
    ]


def _bitcoin_address(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    text = f"{facts.subject} {facts.text_body[:MAX_TEXT]}"
    for match in lexicon.BITCOIN_ADDRESS.finditer(text):
        address = match.group(0)
        if address.startswith("bc1") or (
            any(c.isupper() for c in address) and any(c.islower() for c in address)
        ):
            return [
                Finding(
                    NAME,
                    message,
                    "bitcoin-address",
                    Severity.LOW,
                    f"gives a Bitcoin address to pay: {address}",
                    {"address": address},
                )
            ]
    return []


def _reply_elsewhere(
    text: str, facts: MessageFacts, message: EntityRef
) -> list[Finding]:
    from_org = organisational_domain(facts.from_.domain) if facts.from_ else ""
    for match in lexicon.REPLY_ELSEWHERE.finditer(text):
        address = (match.group(1) or match.group(2) or "").lower().rstrip(".")
        domain = organisational_domain(address.rpartition("@")[2])
        # Scammers answer from free mailboxes; lists name their own -leave and
        # -request addresses, which are no plea.
        if domain in lexicon.FREEMAIL and domain != from_org:
            return [
                Finding(
                    NAME,
                    message,
                    "reply-elsewhere",
                    Severity.MEDIUM,
                    f"asks for an answer at {address}, not at the sender's domain "
                    f"{from_org or '(none)'}",
                    {"address": address},
                )
            ]
    return []


def _undecoded(text: str) -> bool:
    """Replacement characters, or a run of Latin-1 symbols that only 8-bit text read
    in the wrong charset produces (Big5 or GBK bytes shown as "¹dÃû6¤ë")."""
    if "\ufffd" in text:
        return True
    visible = [ch for ch in text if not ch.isspace()]
    high = sum(1 for ch in visible if "\x80" <= ch <= "\xff")
    return bool(visible) and high / len(visible) >= UNDECODED_SHARE


def _disguised(facts: MessageFacts, message: EntityRef) -> list[Finding]:
    """Words in the subject or sender's name written with lookalike letters: Cyrillic
    or Cherokee among Latin ones ("Amаzon"), or a capital I for an l ("PayPaI")."""
    name = facts.from_.display_name if facts.from_ else ""
    for where, text in (("the subject", facts.subject), ("the sender's name", name)):
        for word in _WORD.findall(lexicon.without_invisible(text)[:2000]):
            reads = _disguised_as(word)
            if reads:
                return [
                    Finding(
                        NAME,
                        message,
                        "disguised-word",
                        Severity.MEDIUM,
                        f"{where} writes {word!r} with lookalike letters; it reads "
                        f"as {reads!r}",
                        {"word": word, "reads_as": reads},
                    )
                ]
    return []


def _disguised_as(word: str) -> str | None:
    latin = any(ch.isascii() and ch.isalpha() for ch in word)
    foreign = any(
        ch.isalpha() and unicodedata.name(ch, "").startswith(_LOOKALIKE_SCRIPTS)
        for ch in word
    )
    if latin and foreign:
        shown = skeleton(word)
        if shown.isascii() and shown.isalpha() and shown.lower() != word.lower():
            return shown.lower()
    if word.isascii() and "I" in word[1:]:
        swapped = word[0] + word[1:].replace("I", "l")
        if any(c.islower() for c in word) and swapped.lower() in _ONE_WORD_BRANDS:
            return swapped.lower()
    return None


def _missing_attachment(
    text: str, facts: MessageFacts, message: EntityRef
) -> list[Finding]:
    """ "Please find attached" with nothing attached: the file is behind a link."""
    match = lexicon.ATTACHMENT_CLAIM.search(text)
    if match is None or facts.every_attachment():
        return []
    if facts.answers_earlier:
        return []  # a reply quotes the earlier message's words, not its files
    return [
        Finding(
            NAME,
            message,
            "missing-attachment",
            Severity.LOW,
            f'says "{match.group(0)}" but carries no file',
            {"quote": match.group(0)},
        )
    ]
