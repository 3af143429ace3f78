"""Factories for domain and mail values used across the tests."""

from __future__ import annotations

import hashlib
from typing import Any

from heron.mail.facts import (
    Address,
    Attachment,
    AuthenticationResults,
    AuthResult,
    MessageFacts,
    Url,
)


def address(text: str, name: str = "") -> Address:
    return Address(text.lower(), name)


def attachment(
    filename: str,
    payload: bytes = b"data",
    true_type: str = "application/octet-stream",
    declared_type: str = "application/octet-stream",
    **extra: Any,
) -> Attachment:
    return Attachment(
        filename=filename,
        declared_type=declared_type,
        true_type=true_type,
        size=len(payload),
        md5=hashlib.md5(payload).hexdigest(),
        sha1=hashlib.sha1(payload).hexdigest(),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
        **extra,
    )


def url(text: str, origin: str = "text", anchor_text: str = "") -> Url:
    from urllib.parse import urlsplit

    return Url(text, origin, (urlsplit(text).hostname or ""), anchor_text=anchor_text)


def auth(
    text: str, authserv_id: str = "mx.example.org", index: int = 0
) -> AuthenticationResults:
    """Authentication-Results from a compact form such as
    ``"spf=pass smtp.mailfrom=a.test; dkim=none"``."""
    results = []
    for clause in filter(None, (c.strip() for c in text.split(";"))):
        head, *pairs = clause.split()
        method, _, result = head.partition("=")
        properties = dict(p.split("=", 1) for p in pairs if "=" in p)
        results.append(AuthResult(method, result, properties))
    return AuthenticationResults(
        index, authserv_id, tuple(results), f"{authserv_id}; {text}"
    )


def facts(**overrides: Any) -> MessageFacts:
    values: dict[str, Any] = dict(
        sha256=hashlib.sha256(repr(sorted(overrides.items())).encode()).hexdigest(),
        size=100,
        format="eml",
        message_id="m1@example.test",
        subject="Hello",
        from_=address("someone@sender.test", "Someone"),
        envelope_sender="someone@sender.test",
        sender=None,
        reply_to=(),
        to=(address("alice@example.org"),),
        cc=(),
        date=None,
        received=(),
        authentication_results=(),
        text_body="hello",
        html_body="",
        urls=(),
        attachments=(),
        headers=(),
        warnings=(),
    )
    values.update(overrides)
    return MessageFacts(**values)


# The people tests decide as: name -> (role, purge permission).
STAFF = {
    "approver": ("approver", False),
    "alice-approver": ("approver", False),
    "bob": ("approver", False),
    "rejecter": ("approver", False),
    "purger": ("approver", True),
    "analyst": ("analyst", False),
    "reader": ("reader", False),
    "admin": ("admin", False),
}


def staff(heron: Any, **more: tuple[str, bool]) -> dict[str, str]:
    """Add the standard test users (and ``more``) to a heron; returns their tokens."""
    from heron.domain.roles import Role
    from heron.store import users

    tokens: dict[str, str] = {}
    with heron.store.session() as session:
        for name, (role, purge) in {**STAFF, **more}.items():
            if users.by_name(session, name) is not None:
                continue
            row = users.add_user(session, name, Role(role), purge=purge, by="tests")
            tokens[name] = users.issue_token(session, row).token
    return tokens
