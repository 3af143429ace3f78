"""The activity feed read the way the Management Activity API's documentation says a
collector reads it: start a subscription, list content for a time window following
NextPageUri, fetch each blob."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from heron.config import ManagementApiSettings
from heron.connectors.management_api import ManagementApiConnector
from heron.engine import activity
from heron.engine.scheduler import Scheduler
from tests.api.conftest import as_user, sample


class Collector:
    """What a SIEM's collector does, step by step from the documentation."""

    def __init__(self, client: TestClient, tenant: str, token: str) -> None:
        self.client = client
        self.root = f"/api/v1.0/{tenant}/activity/feed"
        self.headers = as_user(token)

    def start(self) -> dict:
        response = self.client.post(
            f"{self.root}/subscriptions/start",
            params={"contentType": "Audit.General"},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def records(self, start: datetime, end: datetime) -> list[dict]:
        url: str | None = f"{self.root}/subscriptions/content"
        params: dict | None = {
            "contentType": "Audit.General",
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "endTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        found: list[dict] = []
        pages = 0
        while url:
            response = self.client.get(url, params=params, headers=self.headers)
            assert response.status_code == 200, response.text
            pages += 1
            for blob in response.json():
                assert set(blob) >= {
                    "contentType",
                    "contentId",
                    "contentUri",
                    "contentCreated",
                    "contentExpiration",
                }
                fetched = self.client.get(blob["contentUri"], headers=self.headers)
                assert fetched.status_code == 200, fetched.text
                found.extend(fetched.json())
            url, params = response.headers.get("NextPageUri"), None
        self.pages = pages
        return found


def walk(heron, client, tokens) -> int:
    """A report, its investigation, one approval, one rejection, one undo."""
    response = client.post(
        "/api/v1/reports",
        params={"reporter": "alice@example.org"},
        content=sample("payroll"),
        headers={**as_user(tokens["analyst"]), "Content-Type": "message/rfc822"},
    )
    [investigation_id] = response.json()["investigations"]
    pending = client.get(
        f"/api/v1/investigations/{investigation_id}/actions/pending",
        headers=as_user(tokens["reader"]),
    ).json()
    soft = [a for a in pending if a["type"] == "soft_delete"]
    first = client.post(
        f"/api/v1/actions/{soft[0]['id']}/approve",
        headers=as_user(tokens["approver"]),
        json={"comment": "confirmed"},
    )
    assert first.status_code == 200
    for other in pending:
        if other["id"] != soft[0]["id"]:
            client.post(
                f"/api/v1/actions/{other['id']}/reject",
                headers=as_user(tokens["bob"]),
                json={"comment": "one is enough"},
            )
    undone = client.post(
        f"/api/v1/actions/{soft[0]['id']}/undo", headers=as_user(tokens["approver"])
    )
    assert undone.status_code == 200
    return investigation_id


def test_a_collector_reads_every_status_change_and_every_approval(
    heron, client, tokens, organisation, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(activity, "PAGE_SIZE", 1)  # every blob on a page of its own
    monkeypatch.setattr(activity, "MAX_BLOB_RECORDS", 2)  # and many blobs
    collector = Collector(client, heron.feed.tenant, tokens["reader"])
    assert collector.start()["status"] == "enabled"
    before = datetime.now(UTC) - timedelta(minutes=1)
    # Records appear between listings too: some blobs are sealed mid-way.
    investigation_id = walk(heron, client, tokens)
    records = collector.records(before, datetime.now(UTC) + timedelta(minutes=1))
    assert collector.pages > 1

    mine = [r for r in records if r["InvestigationId"] == str(investigation_id)]
    statuses = [r["Status"] for r in mine]
    # Every status the investigation went through, in order, and nothing twice in a row.
    with heron.store.session() as session:
        from heron.store import trail

        trail_verbs = [r["verb"] for r in trail.records(session, limit=1000)]
    assert statuses[0] in ("Queued", "Running")
    assert "Pending Action" in statuses
    assert statuses[-1] == "Terminated By User"
    for record in mine:
        assert record["RecordType"] in (64, 89)
        assert record["OrganizationId"] == heron.feed.tenant
        assert record["Workload"] == activity.WORKLOADS[record["RecordType"]]
        assert record["DeeplinkURL"].endswith(f"/investigations/{investigation_id}")
        data = json.loads(record["Data"])
        assert data["Entities"]
    # Every approval is in the feed with ApprovedBy, every rejection with RejectedBy.
    approvals = {
        (a["ID"], a["ApprovedBy"])
        for r in mine
        for a in r["Actions"]
        if a["ActionStatus"] in ("Approved", "Completed", "Undone")
    }
    assert trail_verbs.count("action.approved") == len({a for a, _ in approvals})
    assert all(by == "approver" for _, by in approvals)
    decided = [r for r in mine if r["RecordType"] == 89]
    assert {r["UserId"] for r in decided} == {"approver", "bob"}
    last = mine[-1]["Actions"]
    assert {a["ActionStatus"] for a in last} == {"Undone", "Rejected"}
    assert all(
        a["RejectedBy"] == "bob" for a in last if a["ActionStatus"] == "Rejected"
    )
    # The same listing again gives the same blobs: content never changes once listed.
    assert (
        collector.records(before, datetime.now(UTC) + timedelta(minutes=1)) == records
    )


def test_heron_reads_its_own_feed_through_its_management_api_connector(
    heron, client, tokens, organisation
):
    walk(heron, client, tokens)
    # The feed job seals records into blobs, as `heron serve` does every minute; a
    # blob is listed in the window holding the moment it was sealed.
    assert Scheduler(heron).run("feed", force=True).outcome == "completed"
    settings = ManagementApiSettings(
        type="management-api",
        name="self",
        tenant_id=heron.feed.tenant,
        client_id="collector",
        api_url=heron.settings.public_url,  # the test client answers for any host
    )
    connector = ManagementApiConnector(
        settings,
        token=lambda: tokens["reader"],
        transport=client._transport,  # the test client's way into the app
        # The connector lists whole minutes up to its "now": a later pull reads the
        # blobs sealed this minute. Here the pull happens two minutes on.
        now=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    try:
        texts = [text for key, text, _ in connector.fetch_audit({}) if key]
    finally:
        connector.close()
    records = [record for text in texts for record in json.loads(text)]
    assert records, "the connector read no record"
    assert {r["RecordType"] for r in records} == {64, 89}
    assert any(a["ApprovedBy"] == "approver" for r in records for a in r["Actions"])


def test_the_feed_refuses_what_microsofts_refuses(heron, client, tokens):
    root = f"/api/v1.0/{heron.feed.tenant}/activity/feed"
    reader = as_user(tokens["reader"])
    listing = client.get(
        f"{root}/subscriptions/content",
        params={"contentType": "Audit.General"},
        headers=reader,
    )
    assert listing.status_code == 400
    assert listing.json()["error"]["code"] == "AF20022"  # no subscription yet
    client.post(
        f"{root}/subscriptions/start",
        params={"contentType": "Audit.General"},
        headers=reader,
    )
    now = datetime.now(UTC)
    for start, end in (
        (now - timedelta(hours=30), now),  # longer than 24 hours
        (now - timedelta(days=8), now - timedelta(days=7, hours=23)),  # too old
        (now, now - timedelta(hours=1)),  # backwards
    ):
        refused = client.get(
            f"{root}/subscriptions/content",
            params={
                "contentType": "Audit.General",
                "startTime": start.isoformat(),
                "endTime": end.isoformat(),
            },
            headers=reader,
        )
        assert refused.status_code == 400, (start, end)
    other = client.get(
        "/api/v1.0/00000000-0000-0000-0000-000000000000/activity/feed/subscriptions/list",
        headers=reader,
    )
    assert other.status_code == 400
    hook = client.post(
        f"{root}/subscriptions/start",
        params={"contentType": "Audit.General"},
        json={"webhook": {"address": "http://169.254.169.254/latest"}},
        headers=as_user(tokens["admin"]),
    )
    assert hook.status_code == 400  # only addresses allowed in the settings
    assert client.get(f"{root}/audit/none", headers=reader).status_code == 404
