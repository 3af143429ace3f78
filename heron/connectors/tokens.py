"""Access tokens by msal's client-credentials flow, for the Microsoft connectors.

msal is reached on the first token asked for, not when a connector is built, so
that a tenant out of reach fails only the operations that need it. msal caches
the token and renews it when it expires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from heron.errors import ConnectorError

TokenSource = Callable[[], str]


def client_credentials(
    name: str,
    *,
    what: str,
    tenant_id: str,
    client_id: str,
    secret: str,
    authority: str,
    scope: str,
) -> TokenSource:
    """A function giving a bearer token for ``scope``; ConnectorError, naming
    connector ``name`` and never the secret, when none can be had."""
    app: Any = None

    def token() -> str:
        nonlocal app
        try:
            if app is None:
                import msal

                app = msal.ConfidentialClientApplication(
                    client_id,
                    authority=f"{authority.rstrip('/')}/{tenant_id}",
                    client_credential=secret,
                )
            result = app.acquire_token_for_client(scopes=[scope])
        except Exception as exc:  # msal and requests raise their own kinds
            raise ConnectorError(
                f"{name}: no {what} from {authority}: {type(exc).__name__}: "
                f"{str(exc)[:200]}"
            ) from None
        if "access_token" not in result:
            raise ConnectorError(
                f"{name}: no {what}: {result.get('error', '?')}: "
                f"{str(result.get('error_description', ''))[:200]}"
            )
        return str(result["access_token"])

    return token
