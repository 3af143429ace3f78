"""The Office 365 Management Activity API: audit records pulled from a tenant.

The client follows the API's documented flow:
- it starts a subscription for each configured content type, when the list of
  subscriptions lacks one;
- it lists the content published since the last pull, following ``NextPageUri``
  from one page to the next, in windows of at most 24 hours (the API's limit);
- it fetches each content blob: a JSON array of records.

Tokens come from msal's client-credentials flow, with the scope
``https://manage.office.com/.default``. What a pull has stored is remembered
per content type: the end of the last window fully read, and the ids of the blobs
read in it.

Like the Graph connector, this one has been tested only against a local server
that implements the documented endpoints, never against a live tenant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from heron.config import ManagementApiSettings
from heron.connectors.base import Connector, Operation
from heron.connectors.secrets import read_secret
from heron.connectors.tokens import TokenSource, client_credentials
from heron.errors import ConnectorError

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MAX_PAGES = 1000
RETRIES = 3
MAX_BLOB = 256 * 1024 * 1024


class ManagementApiConnector(Connector):
    kind = "management-api"
    operations = frozenset({Operation.AUDIT})

    def __init__(
        self,
        settings: ManagementApiSettings,
        *,
        token: Callable[[], str] | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self._token = token or self._msal_token()
        self._now = now or (lambda: datetime.now(UTC))
        self._http = httpx.Client(timeout=settings.timeout, transport=transport)
        self._feed = f"{settings.api_url.rstrip('/')}/api/v1.0/{settings.tenant_id}/activity/feed"

    def close(self) -> None:
        self._http.close()

    def _msal_token(self) -> TokenSource:
        secret = read_secret(
            f"connector {self.settings.name}",
            self.settings.secret_env,
            self.settings.secret_file,
        )
        return client_credentials(
            self.name,
            what="Management API token",
            tenant_id=self.settings.tenant_id,
            client_id=self.settings.client_id,
            secret=secret,
            authority=self.settings.authority,
            scope="https://manage.office.com/.default",
        )

    def _get(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if not url.startswith(self.settings.api_url):
            # A next page or content address elsewhere never receives the token.
            raise ConnectorError(
                f"{self.name}: refusing an address outside the API: {url[:200]}"
            )
        for attempt in range(RETRIES + 1):
            try:
                response = self._http.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {self._token()}"},
                    **kwargs,
                )
            except httpx.HTTPError as exc:
                raise ConnectorError(
                    f"{self.name}: {method} {url[:200]}: {exc}"
                ) from None
            if response.status_code in (429, 503) and attempt < RETRIES:
                time.sleep(
                    min(30.0, float(response.headers.get("Retry-After", "1") or 1))
                )
                continue
            if response.status_code >= 400:
                raise ConnectorError(
                    f"{self.name}: {method} {url[:200]} answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
            return response
        raise ConnectorError(f"{self.name}: {method} {url[:200]}: still throttled")

    def ensure_subscriptions(self) -> list[str]:
        """Start the subscriptions the list lacks; returns those started."""
        listed = self._get("GET", f"{self._feed}/subscriptions/list").json()
        enabled = {
            str(item.get("contentType"))
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict)
            and str(item.get("status", "")).lower() == "enabled"
        }
        started = []
        for content_type in self.settings.content_types:
            if content_type not in enabled:
                self._get(
                    "POST",
                    f"{self._feed}/subscriptions/start",
                    params={"contentType": content_type},
                )
                started.append(content_type)
        return started

    def fetch_audit(
        self, state: dict[str, Any]
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        self.ensure_subscriptions()
        now = self._now()
        for content_type in self.settings.content_types:
            kept = dict(state.get(content_type, {}))
            start = _parse(kept.get("until")) or now - timedelta(
                hours=self.settings.first_hours
            )
            start = max(start, now - timedelta(days=7) + timedelta(minutes=5))
            seen = set(kept.get("seen", []))
            while start < now:
                end = min(start + WINDOW, now)
                fresh: list[str] = []
                for blob in self._content(content_type, start, end):
                    ident = str(blob.get("contentId", ""))
                    if ident in seen:
                        continue
                    text = self._blob(str(blob.get("contentUri", "")))
                    seen.add(ident)
                    fresh.append(ident)
                    yield (
                        f"{self.name}:{content_type}:{ident}",
                        text,
                        {
                            **state,
                            content_type: {"until": _iso(start), "seen": sorted(seen)},
                        },
                    )
                # The window is read: the next pull starts where it ended.
                state = {
                    **state,
                    content_type: {"until": _iso(end), "seen": fresh[-1000:]},
                }
                seen = set(fresh)
                yield "", "", state
                start = end

    def _content(
        self, content_type: str, start: datetime, end: datetime
    ) -> Iterator[dict[str, Any]]:
        url = f"{self._feed}/subscriptions/content"
        params: dict[str, str] | None = {
            "contentType": content_type,
            "startTime": _iso(start),
            "endTime": _iso(end),
        }
        visited: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._get("GET", url, params=params)
            listing = response.json()
            for item in listing if isinstance(listing, list) else []:
                if isinstance(item, dict):
                    yield item
            following = response.headers.get("NextPageUri", "")
            if not following or following in visited:
                return
            visited.add(following)
            url, params = following, None
        log.warning(
            "%s: more than %d pages of content; the rest waits", self.name, MAX_PAGES
        )

    def _blob(self, uri: str) -> str:
        response = self._get("GET", uri)
        if len(response.content) > MAX_BLOB:
            raise ConnectorError(
                f"{self.name}: a content blob is larger than {MAX_BLOB} bytes"
            )
        return response.text


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _parse(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    except ValueError:
        return None
