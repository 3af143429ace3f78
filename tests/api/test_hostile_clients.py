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


def test_a_path_that_climbs_out_of_an_allowed_webhook_is_refused():
    allowed = ["http://127.0.0.1:34181/feed/"]
    for address in (
        "http://127.0.0.1:34181/feed/../admin",
        "http://127.0.0.1:34181/feed/%2e%2e/admin",
        "http://127.0.0.1:34181/feed/./x",
        "http://127.0.0.1:34181/feed/a%2fb",
    ):
        assert not activity.webhook_allowed(address, allowed), address
    assert activity.webhook_allowed("http://127.0.0.1:34181/feed/siem", allowed)


def test_only_an_admin_sets_the_shared_webhook_and_readers_never_see_its_secret(
    heron, client, tokens
):
    heron.settings.feed_webhook_urls.append("https://siem.example.org/hook")
    root = f"{feed_root(heron)}/subscriptions"
    body = {"webhook": {"address": "https://siem.example.org/hook", "authId": "s3cret"}}
    params = {"contentType": "Audit.General"}
    by_reader = client.post(
        f"{root}/start", params=params, json=body, headers=as_user(tokens["reader"])
    )
    assert by_reader.status_code == 403
    by_admin = client.post(
        f"{root}/start", params=params, json=body, headers=as_user(tokens["admin"])
    )
    assert by_admin.json()["webhook"]["authId"] == "s3cret"
    # A collector starting again without a webhook keeps the admin's.
    again = client.post(
        f"{root}/start", params=params, headers=as_user(tokens["reader"])
    )
    assert again.json()["webhook"]["address"] == "https://siem.example.org/hook"
    listed = client.get(f"{root}/list", headers=as_user(tokens["reader"])).json()
    assert listed[0]["webhook"]["authId"] == "(hidden)"


def test_user_names_that_imitate_others_are_refused(heron, client, tokens):
    admin = as_user(tokens["admin"])
    for name in (
        "approver.",
        "approver..",
        "approver-",
        "admin1@",
        "system.",
        ".x",
        "a..b",
    ):
        response = client.post(
            "/api/v1/users", headers=admin, json={"name": name, "role": "reader"}
        )
        assert response.status_code == 422, name
    ok = client.post(
        "/api/v1/users", headers=admin, json={"name": "j.doe", "role": "reader"}
    )
    assert ok.status_code == 201


def test_lists_refuse_public_suffixes_and_all_of_ipv4_in_ipv6_form(
    heron, client, tokens
):
    approver = as_user(tokens["approver"])
    for body in (
        {"list": "block", "kind": "domain", "value": "co.uk"},
        {"list": "block", "kind": "ip", "value": "::ffff:0:0/96"},
        {"list": "block", "kind": "ip", "value": "0.0.0.0/1"},
    ):
        response = client.post("/api/v1/lists", headers=approver, json=body)
        assert response.status_code == 422, body
    narrow = {"list": "block", "kind": "ip", "value": "::ffff:203.0.113.0/120"}
    assert (
        client.post("/api/v1/lists", headers=approver, json=narrow).status_code == 201
    )


def test_automation_never_decides_what_a_person_proposed(heron, organisation):
    from tests.factories import staff

    staff(heron)
    heron.set_automation(
        "block_domain", "automatic", {"malicious_only": False}, by="admin"
    )
    heron.report(sample("payroll"), reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    action = heron.propose_block_domain(
        investigation_id, "payroll-example.test", by="analyst"
    )
    assert heron.automate(investigation_id) == []
    with heron.store.session() as session:
        from heron.store import models as m

        assert session.get(m.Action, action.id).status == "pending"


def test_bulk_decisions_report_each_refusal_and_unknown_types(
    heron, client, tokens, organisation
):
    heron.report(sample("payroll"), reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    url = f"/api/v1/investigations/{investigation_id}/actions"
    soft = client.get(f"{url}/pending", headers=as_user(tokens["reader"])).json()
    soft_id = next(a["id"] for a in soft if a["type"] == "soft_delete")
    client.post(
        url,
        headers=as_user(tokens["analyst"]),
        json={"type": "hard_delete", "after": soft_id},
    )
    bulk = client.post(
        f"{url}/approve",
        headers=as_user(tokens["approver"]),
        json={"type": "hard_delete"},
    )
    assert bulk.status_code == 200
    assert all(o["outcome"].startswith("refused") for o in bulk.json())
    unknown = client.post(
        f"{url}/approve", headers=as_user(tokens["approver"]), json={"type": "nosuch"}
    )
    assert unknown.status_code == 404


def test_two_admins_disabling_each_other_at_once_leave_one(heron):
    import threading

    from heron.errors import HeronError
    from tests.factories import staff

    staff(heron, admin2=("admin", False))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def disable(by: str, whom: str) -> None:
        barrier.wait()
        try:
            heron.disable_user(whom, by=by)
            outcomes.append("done")
        except HeronError:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=disable, args=("admin", "admin2")),
        threading.Thread(target=disable, args=("admin2", "admin")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from heron.store import users

    with heron.store.session() as session:
        assert users.active_admins(session) == 1, outcomes


def test_a_hostile_subject_or_reporter_never_blocks_the_notifications(settings):
    from heron.config import SmtpSettings
    from heron.engine import notify
    from heron.engine.service import Heron
    from heron.store import models as m

    heron = Heron(settings.model_copy(update={
        "smtp": SmtpSettings(host="127.0.0.1", port=1, tls="none", sender="h@example.org"),
        "reporter_feedback": True,
    }))  # fmt: skip
    try:
        with heron.store.session() as session:
            session.add(m.Notification(
                key="a" * 40, channel="email", target="alice@example.org",
                event="reporter.feedback",
                payload={"subject": "Invoice\u2028due\r\nBcc: x@example.org", "body": "b"},
            ))  # fmt: skip
            session.add(m.Notification(
                key="b" * 40, channel="email", target="bob@example.org",
                event="reporter.feedback", payload={"subject": "fine", "body": "b"},
            ))  # fmt: skip
        sent: list[str] = []

        def send(note: m.Notification) -> None:
            if note.target.startswith("alice"):
                raise ValueError("Header values may not contain linefeed")
            sent.append(note.target)

        result = notify.deliver(heron.store.session, send)
        assert sent == ["bob@example.org"] and result.failed == 1
        assert notify._one_line("Invoice\u2028due\r\nBcc: x") == "Invoice due  Bcc: x"
        assert not notify.plausible_address("evil\r\nbcc:x@example.org")
        assert not notify.plausible_address("dave@example.org.")
        assert not notify.plausible_address("evil(@example.org")
    finally:
        heron.close()
