"""heron's users and their API tokens.

A token is 32 random bytes, URL-safe, after the prefix ``heron_``. Only its SHA-256
is stored: a token has far more entropy than a password, so a fast hash is enough,
and a lookup is one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from heron.domain.roles import Principal, Role
from heron.errors import InvalidInput, NotFoundError
from heron.store import models as m
from heron.store.models import utcnow

TOKEN_PREFIX = "heron_"
# Letters and digits, with single '.', '_', '@' or '-' between them: no name ends in
# punctuation or doubles it, so none imitates another ("approver.", "system.").
NAME = re.compile(r"^(?=.{1,64}$)[a-z0-9]+(?:[._@-][a-z0-9]+)*$")
# Names the audit trail uses for principals that are not people.
RESERVED = frozenset({"system", "automation", "heron", "unknown", "local"})
MAX_TOKEN = 256


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """A user name in its one form (lower case); names differ whatever their case."""
    name = name.strip().lower()
    if not NAME.match(name):
        raise InvalidInput(
            f"user name {name[:80]!r}: use 1 to 64 letters and digits, with single "
            "'.', '_', '@' or '-' between them"
        )
    if name in RESERVED:
        raise InvalidInput(f"user name {name!r} is reserved for heron's own records")
    return name


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(
            f"role {role[:40]!r}: one of {', '.join(r.value for r in Role)}"
        ) from None


@dataclass(frozen=True)
class NewToken:
    user: str
    token: str
    prefix: str


def add_user(
    session: Session, name: str, role: Role, *, purge: bool, by: str
) -> m.User:
    name = check_name(name)
    if session.scalar(select(m.User).where(m.User.name == name)) is not None:
        raise InvalidInput(f"user {name} exists; `heron users list` shows users")
    row = m.User(name=name, role=role.value, purge=purge, created_by=by)
    session.add(row)
    session.flush()
    return row


def get_user(session: Session, name: str) -> m.User:
    row = session.scalar(select(m.User).where(m.User.name == name.strip().lower()))
    if row is None:
        raise NotFoundError(f"no user {name[:80]!r}; `heron users list` shows users")
    return row


def issue_token(session: Session, user: m.User) -> NewToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = token[: len(TOKEN_PREFIX) + 4]
    session.add(
        m.ApiToken(user_id=user.id, token_hash=token_hash(token), prefix=prefix)
    )
    session.flush()
    return NewToken(user.name, token, prefix)


def revoke_tokens(session: Session, user: m.User) -> int:
    rows = session.scalars(
        select(m.ApiToken).where(
            m.ApiToken.user_id == user.id, m.ApiToken.revoked_at.is_(None)
        )
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def principal(user: m.User) -> Principal:
    return Principal(user.name, Role(user.role), purge=user.purge)


def by_token(session: Session, token: str) -> Principal | None:
    """The active user holding this token, or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    row = session.execute(
        select(m.User, m.ApiToken)
        .join(m.ApiToken, m.ApiToken.user_id == m.User.id)
        .where(
            m.ApiToken.token_hash == token_hash(token),
            m.ApiToken.revoked_at.is_(None),
            m.User.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    user, api_token = row
    now = utcnow()
    if api_token.last_used_at is None or (now - api_token.last_used_at).seconds > 60:
        api_token.last_used_at = now
    return principal(user)


def by_name(session: Session, name: str) -> Principal | None:
    """The active user of this name, or None."""
    user = session.scalar(
        select(m.User).where(
            m.User.name == name.strip().lower(), m.User.disabled_at.is_(None)
        )
    )
    return principal(user) if user is not None else None


def list_users(session: Session) -> list[dict[str, object]]:
    users = session.scalars(select(m.User).order_by(m.User.name)).all()
    counts: dict[int, int] = {}
    for token in session.scalars(
        select(m.ApiToken).where(m.ApiToken.revoked_at.is_(None))
    ):
        counts[token.user_id] = counts.get(token.user_id, 0) + 1
    return [
        {
            "name": u.name,
            "role": u.role,
            "purge": u.purge,
            "active": u.disabled_at is None,
            "tokens": counts.get(u.id, 0),
            "created_at": u.created_at.isoformat(),
            "created_by": u.created_by,
        }
        for u in users
    ]


def active_admins(session: Session) -> int:
    return len(
        session.scalars(
            select(m.User.id).where(
                m.User.role == Role.ADMIN.value, m.User.disabled_at.is_(None)
            )
        ).all()
    )


def any_admin(session: Session) -> bool:
    return (
        session.scalar(
            select(m.User.id)
            .where(m.User.role == Role.ADMIN.value, m.User.disabled_at.is_(None))
            .limit(1)
        )
        is not None
    )
