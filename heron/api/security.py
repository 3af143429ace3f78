"""Who is asking, and may they: checked before FastAPI reads, validates or looks up
anything.

``Guard`` is ASGI middleware in front of the whole application. For each request
it finds the route, reads the bearer token, and answers:
- 401 when the route needs a user and no valid token came (``WWW-Authenticate``);
- 403 when the user's role lacks the route's permission, whatever the body or ids;
- 413 when the body is larger than ``api_max_body_bytes`` (the body is read here,
  up to the limit, before the route sees it), and 408 when it takes longer than
  ``BODY_SECONDS`` to arrive.

A request that matches no route fully (an unknown path, a wrong method) needs a
user like any other, so no one learns the routes or sends a body without a token.

Every route declares its permission with ``needs``; a route without one is refused
at start-up. Each request is logged once, with the user, method, path and status.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heron.domain.roles import Permission, Principal
from heron.store import users

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
# The pages FastAPI serves itself: public, read-only.
FASTAPI_PAGES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# How long a request body may take to arrive, whole.
BODY_SECONDS = 60.0


def needs(permission: Permission | str) -> Callable[[F], F]:
    """Declare what a route needs: a permission, or PUBLIC."""

    def mark(function: F) -> F:
        function.heron_permission = permission  # type: ignore[attr-defined]
        return function

    return mark


def permission_of(endpoint: Any) -> Permission | str | None:
    return getattr(endpoint, "heron_permission", None)


async def _answer(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], list[Any]],
        authenticate: Callable[[str], Principal | None],
        max_body: int,
    ) -> None:
        self.app = app
        self.routes = routes
        self.authenticate = authenticate
        self.max_body = max_body

    def _permission(self, scope: Scope) -> Permission | str | None:
        """The permission of the route the request fully matches; PUBLIC for the
        pages FastAPI serves itself; None when no route matches fully (a wrong
        method, an unknown path), which needs a user like any route."""
        for route in self.routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                declared = permission_of(getattr(route, "endpoint", None))
                if declared is None and getattr(route, "path", "") in FASTAPI_PAGES:
                    return PUBLIC
                return declared
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: dict[str, int] = {"code": 0}

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        who = await self._guard(scope, receive, logged)
        client = scope.get("client") or ("-", 0)
        log.info(
            "%s from %s: %s %s: %s (%.0f ms)",
            who,
            _printable(str(client[0])[:64]),
            _printable(str(scope.get("method", ""))[:16]),
            _printable(str(scope.get("path", ""))[:300]),
            status["code"],
            (time.monotonic() - started) * 1000,
        )

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> str:
        permission = self._permission(scope)
        if permission == PUBLIC:
            if scope.get("method") not in ("GET", "HEAD"):
                await _answer(send, 405, "public pages are read with GET")
                return "-"
            await self.app(scope, receive, send)
            return "-"
        token = _bearer(scope)
        principal = (
            await anyio.to_thread.run_sync(self.authenticate, token) if token else None
        )
        if principal is None:
            await _answer(
                send,
                401,
                "a valid API token is needed: send `Authorization: Bearer TOKEN` "
                "(`heron users add` prints one)",
                {"WWW-Authenticate": 'Bearer realm="heron"'},
            )
            return "-"
        if isinstance(permission, Permission) and not principal.may(permission):
            await _answer(
                send,
                403,
                f"{principal.name} ({principal.role.value}) may not {permission.value}",
            )
            return principal.name
        scope.setdefault("state", {})["principal"] = principal
        await self._with_body(scope, receive, send)
        return principal.name

    async def _with_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, 413, f"the body is over {self.max_body} bytes")
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(BODY_SECONDS) as waited:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await _answer(send, 413, f"the body is over {self.max_body} bytes")
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if waited.cancelled_caught:
            await _answer(send, 408, f"the body did not arrive within {BODY_SECONDS} s")
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _printable(text: str) -> str:
    """Text for a log line: control characters escaped, so that a request cannot
    forge a line of its own."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _bearer(scope: Scope) -> str:
    value = _header(scope, b"authorization").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    token = token.strip()
    return token if 0 < len(token) <= users.MAX_TOKEN else ""
