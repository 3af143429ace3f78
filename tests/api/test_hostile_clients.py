"""What an attack on the API found, each kept from coming back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from heron.api import security
from heron.engine import activity
from tests.api.conftest import as_user, sample


def feed_root(heron) -> str:
    return f"/api/v1.0/{heron.feed.tenant}/activity/feed"


def started(client, heron, tokens) -> dict[str, str]:
    reader = as_user(tokens["reader"])
    client.post(
        f"{feed_root(heron)}/subscriptions/start",
        params={"contentType": "Audit.General"},
        headers=reader,
    )
    return reader


@pytest.mark.parametrize(
    "params",
    [
        {
            "startTime": "9999-12-31T23:00:00-05:00",
            "endTime": "9999-12-31T23:59:59.999999-23:59",
        },
        {"startTime": "0001-01-01T00:00:00+14:00", "endTime": "0001-01-01T01:00:00"},
        {"nextPage": "9" * 40},
        {"nextPage": "\u00b2"},
        {"nextPage": "\u0661\u0661"},
    ],
)
def test_feed_listing_refuses_windows_and_pages_it_never_gave(
    heron, client, tokens, params
):
    reader = started(client, heron, tokens)
    response = client.get(
        f"{feed_root(heron)}/subscriptions/content",
        params={"contentType": "Audit.General", **params},
        headers=reader,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "AF20055"


def test_a_listing_of_another_content_type_holds_none_of_heron_s_blobs(
    heron, client, tokens, organisation
):
    reader = started(client, heron, tokens)
    client.post(
        f"{feed_root(heron)}/subscriptions/start",
        params={"contentType": "Audit.Exchange"},
        headers=reader,
    )
    heron.report(sample("payroll"), reporter="alice@example.org", unwrap=False)
    heron.process()
    general = client.get(
        f"{feed_root(heron)}/subscriptions/content",
        params={"contentType": "Audit.General"},
        headers=reader,
    ).json()
    exchange = client.get(
        f"{feed_root(heron)}/subscriptions/content",
        params={"contentType": "Audit.Exchange"},
        headers=reader,
    ).json()
    assert general and exchange == []


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("https://siem.example.org/hook", True),
        ("https://siem.example.org/hook/deeper", True),
        ("https://siem.example.org@127.0.0.1:18999/ssrf", False),
        ("https://siem.example.org.attacker.test/hook", False),
        ("https://siem.example.org:8443/hook", False),
        ("http://siem.example.org/hook", False),
        ("https://siem.example.org/hookery", False),
        ("https://user:pw@siem.example.org/hook", False),
        ("file:///etc/passwd", False),
        ("https://siem.example.org:99999/hook", False),
    ],
)
def test_a_feed_webhook_must_lie_under_an_allowed_address(address, allowed):
    assert (
        activity.webhook_allowed(address, ["https://siem.example.org/hook"]) is allowed
    )


def test_subscription_changes_are_audited_and_only_an_admin_stops_one(
    heron, client, tokens
):
    reader = started(client, heron, tokens)
    stop = f"{feed_root(heron)}/subscriptions/stop"
    assert (
        client.post(
            stop, params={"contentType": "Audit.General"}, headers=reader
        ).status_code
        == 403
    )
    stopped = client.post(
        stop, params={"contentType": "Audit.General"}, headers=as_user(tokens["admin"])
    )
    assert stopped.status_code == 200
    audit = client.get("/api/v1/audit", headers=reader).json()
    verbs = [(r["verb"], r["actor"]) for r in audit]
    assert ("feed.subscription_started", "reader") in verbs
    assert ("feed.subscription_stopped", "admin") in verbs


def test_names_of_heron_s_own_principals_and_case_twins_are_refused(
    heron, client, tokens
):
    admin = as_user(tokens["admin"])
    for name in ("system", "System", "automation", "heron"):
        response = client.post(
            "/api/v1/users", headers=admin, json={"name": name, "role": "approver"}
        )
        assert response.status_code == 422, (name, response.text)
    twin = client.post(
        "/api/v1/users", headers=admin, json={"name": "READER", "role": "admin"}
    )
    assert twin.status_code == 422
    last = client.post("/api/v1/users/admin/disable", headers=admin)
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]


def test_without_a_token_no_route_is_revealed_and_no_body_is_read(heron, client):
    for method, path in (
        ("PUT", "/api/v1/users/admin/disable"),  # a real path, a wrong method
        ("POST", "/openapi.json"),
        ("GET", "/api/v1/nothing-here"),
    ):
        response = client.request(method, path, content=b"x" * 1000)
        assert response.status_code in (401, 405), (method, path)
        assert "allow" not in response.headers
    assert client.get("/openapi.json").status_code == 200


def test_a_body_that_never_finishes_is_cut_off(monkeypatch):
    monkeypatch.setattr(security, "BODY_SECONDS", 0.2)
    sent: list[dict] = []

    async def app(scope, receive, send):  # pragma: no cover - never reached
        raise AssertionError("the route must not run")

    guard = security.Guard(
        app, routes=lambda: [], authenticate=lambda token: None, max_body=1000
    )

    async def receive():
        await asyncio.sleep(10)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    asyncio.run(guard._with_body(scope, receive, send))
    assert sent[0]["status"] == 408


def test_log_lines_cannot_be_forged_through_the_path():
    forged = "/api/v1/alerts/1\n2026-12-04 INFO heron.api.security: admin POST /x: 200"
    assert "\n" not in security._printable(forged)


def test_lists_refuse_entries_that_take_in_everything(heron, client, tokens):
    approver = as_user(tokens["approver"])
    for body in (
        {"list": "block", "kind": "ip", "value": "0.0.0.0/0"},
        {"list": "allow", "kind": "ip", "value": "::/0"},
        {"list": "block", "kind": "domain", "value": "example.org"},
    ):
        response = client.post("/api/v1/lists", headers=approver, json=body)
        assert response.status_code == 422, (body, response.text)
    ok = {"list": "allow", "kind": "domain", "value": "partner.test"}
    assert client.post("/api/v1/lists", headers=approver, json=ok).status_code == 201
    assert client.post("/api/v1/lists", headers=approver, json=ok).status_code == 201
    both = client.post("/api/v1/lists", headers=approver, json={**ok, "list": "block"})
    assert both.status_code == 422
    audit = client.get("/api/v1/audit", headers=approver, params={"verb": "list.added"})
    assert len(audit.json()) == 1  # adding it again changed nothing


def test_bad_values_are_422_and_unknown_names_404(heron, client, tokens, organisation):
    admin = as_user(tokens["admin"])
    unknown = client.put(
        "/api/v1/automation/nosuch", headers=admin, json={"level": "off"}
    )
    assert unknown.status_code == 404
    for body in (
        {"level": "automatic", "malicious_only": "yes"},
        {"level": "automatic", "cluster_kinds": ["((a+)+)+$"]},
    ):
        response = client.put(
            "/api/v1/automation/soft_delete", headers=admin, json=body
        )
        assert response.status_code == 422, body
    assert (
        client.get(
            "/api/v1/actions", params={"status": "bogus"}, headers=admin
        ).status_code
        == 422
    )
    heron.report(sample("payroll"), reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    bad = client.post(
        f"/api/v1/investigations/{investigation_id}/actions",
        headers=admin,
        json={"type": "block_domain", "domain": "=cmd|' /C calc'!A0"},
    )
    assert bad.status_code == 422


def test_a_decided_proposal_cannot_be_proposed_again(
    heron, client, tokens, organisation
):
    heron.report(sample("payroll"), reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    propose = {"type": "block_domain", "domain": "payroll-example.test"}
    url = f"/api/v1/investigations/{investigation_id}/actions"
    first = client.post(url, headers=as_user(tokens["analyst"]), json=propose)
    assert first.status_code == 201
    again = client.post(url, headers=as_user(tokens["analyst"]), json=propose)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    client.post(
        f"/api/v1/actions/{first.json()['id']}/reject",
        headers=as_user(tokens["approver"]),
    )
    after = client.post(url, headers=as_user(tokens["analyst"]), json=propose)
    assert after.status_code == 409 and "rejected" in after.json()["detail"]


def test_uploads_are_read_as_bytes_whatever_their_content_type(
    heron, client, tokens, organisation
):
    analyst = as_user(tokens["analyst"])
    mail = client.post(
        "/api/v1/reports",
        params={"reporter": "alice@example.org"},
        content=sample("payroll"),
        headers={**analyst, "Content-Type": "application/json"},
    )
    assert mail.status_code == 202, mail.text
    records = client.post(
        "/api/v1/audit-records",
        params={"format": "json"},
        content=json.dumps([]).encode(),
        headers={**analyst, "Content-Type": "application/json"},
    )
    assert records.status_code == 202, records.text


def test_csv_cells_hiding_a_formula_behind_spaces_or_quotes_are_quoted():
    from heron.api.app import _cell

    for value in ("=1+1", " =1+1", '"\n=1+1', "\t@SUM(A1)", "-2+3"):
        assert _cell(value).startswith("'"), value
    assert _cell("plain text") == "plain text"


def test_a_changed_time_column_breaks_the_chain(heron):
    from sqlalchemy import update

    from heron.store import models as m
    from heron.store import trail

    with heron.store.session() as session:
        trail.append(session, "admin", "job.run", "job", "x")
    with heron.store.session() as session:
        session.execute(
            update(m.AuditTrailRecord).values(
                occurred_at=datetime.now(UTC) - timedelta(days=3)
            )
        )
    with heron.store.session() as session:
        assert "occurred_at" in " ".join(trail.verify(session).problems)
