"""The Management Activity API client against a local server that implements the
documented endpoints: subscriptions list and start, content listing with
NextPageUri paging, and content blobs."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from heron.config import ManagementApiSettings
from heron.connectors.management_api import ManagementApiConnector
from heron.engine.service import Heron
from heron.errors import ConnectorError
from tests.ingest.test_audit import FORWARD, RULE

TENANT = "41463f53-8812-40f4-890f-865bf6e35190"
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


class Feed(BaseHTTPRequestHandler):
    """One tenant's feed: two content blobs on two pages, for Audit.Exchange."""

    started: list[str]
    requests: list[str]
    base: str

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        type(self).requests.append(f"{self.command} {url.path}?{url.query}")
        if self.headers.get("Authorization") != "Bearer api-token":
            self.send_response(401)
            self.end_headers()
            return
        feed = f"/api/v1.0/{TENANT}/activity/feed"
        if url.path == f"{feed}/subscriptions/list":
            self._send(
                [
                    {"contentType": t, "status": "enabled", "webhook": None}
                    for t in self.started
                ]
            )
        elif url.path == f"{feed}/subscriptions/start" and self.command == "POST":
            type(self).started.append(query["contentType"][0])
            self._send({"contentType": query["contentType"][0], "status": "enabled"})
        elif url.path == f"{feed}/subscriptions/content":
            kind = query.get("contentType", ["Audit.Exchange"])[0]
            if kind != "Audit.Exchange":
                self._send([])
                return
            page = query.get("nextPage", ["1"])[0]
            blob = {
                "contentType": kind,
                "contentId": f"blob-{page}",
                "contentUri": f"{self.base}/blobs/{page}",
                "contentCreated": "2026-11-03T10:00:00.000Z",
                "contentExpiration": "2026-11-10T10:00:00.000Z",
            }
            headers = {}
            if page == "1":
                headers["NextPageUri"] = (
                    f"{self.base}{feed}/subscriptions/content?contentType={kind}"
                    f"&startTime={query['startTime'][0]}&endTime={query['endTime'][0]}"
                    "&nextPage=2"
                )
            self._send([blob], headers)
        elif url.path.startswith("/blobs/"):
            self._send([RULE] if url.path.endswith("1") else [FORWARD])
        else:
            self.send_response(404)
            self.end_headers()

    do_GET = _route
    do_POST = _route


@pytest.fixture
def feed():
    Feed.started, Feed.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    Feed.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Feed
    server.shutdown()


def client(feed, **extra) -> ManagementApiConnector:
    settings = ManagementApiSettings(
        type="management-api",
        name="o365",
        tenant_id=TENANT,
        client_id="app",
        api_url=feed.base,
        content_types=["Audit.Exchange", "Audit.General"],
        **extra,
    )
    return ManagementApiConnector(settings, token=lambda: "api-token", now=lambda: NOW)


def test_the_client_subscribes_pages_and_reads_every_blob(feed):
    connector = client(feed)
    pulled = [(name, text) for name, text, _ in connector.fetch_audit({}) if text]
    assert feed.started == ["Audit.Exchange", "Audit.General"]
    assert [name for name, _ in pulled] == [
        "o365:Audit.Exchange:blob-1",
        "o365:Audit.Exchange:blob-2",
    ]
    assert json.loads(pulled[0][1])[0]["Id"] == "rule-1"
    assert any("nextPage=2" in r for r in feed.requests)
    listing = next(r for r in feed.requests if "subscriptions/content" in r)
    assert (
        "startTime=2026-11-02T12%3A00%3A00" in listing
        or "startTime=2026-11-02T12:00:00" in listing
    )


def test_the_engine_pulls_stores_once_and_alerts(feed, settings):
    heron = Heron(settings)
    try:
        heron._connectors = {"o365": client(feed)}
        first = heron.poll_audit()
        assert (first.records, first.stored) == (2, 2)
        assert all("read as UTC" in w for w in first.warnings)
        assert heron.poll_audit().records == 0  # the windows read are remembered
        heron.process()
        with heron.store.session() as session:
            from heron.engine import views

            policies = {a["policy"] for a in views.list_alerts(session)}
        assert "Suspicious email forwarding activity" in policies
    finally:
        heron.close()


def test_an_address_outside_the_api_never_gets_the_token(feed):
    connector = client(feed)
    with pytest.raises(ConnectorError, match="outside the API"):
        connector._blob("https://collector.evil.test/blob")
