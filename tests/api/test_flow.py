"""The main job through the API: report, read every part of the investigation,
decide, export, and the limits on hostile requests."""

from __future__ import annotations

import csv
import io
import json

import stix2

from tests.api.conftest import as_user, sample


def reported(client, tokens) -> int:
    response = client.post(
        "/api/v1/reports",
        params={"reporter": "alice@example.org"},
        content=sample("payroll"),
        headers={**as_user(tokens["analyst"]), "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202, response.text
    [investigation_id] = response.json()["investigations"]
    return investigation_id


def test_every_part_of_an_investigation_reads_back(client, tokens, organisation):
    investigation_id = reported(client, tokens)
    reader = as_user(tokens["reader"])
    base = f"/api/v1/investigations/{investigation_id}"
    summary = client.get(base, headers=reader).json()
    assert summary["verdict"] == "malicious" and summary["pending_actions"] > 0
    for part in (
        "alerts",
        "messages",
        "clusters",
        "mailboxes",
        "entities",
        "log",
        "audit",
    ):
        response = client.get(f"{base}/{part}", headers=reader)
        assert response.status_code == 200, part
        assert response.json(), f"{part} is empty"
    mailboxes = {
        b["mailbox"] for b in client.get(f"{base}/mailboxes", headers=reader).json()
    }
    assert mailboxes == {"alice@example.org", "bob@example.org", "carol@example.org"}
    entities = client.get(f"{base}/entities", headers=reader).json()
    assert any(e["findings"] for e in entities)
    graph = client.get(f"{base}/graph", headers=reader).json()
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"alert", "message", "cluster", "mailbox", "action", "url"} <= kinds
    ids = {n["id"] for n in graph["nodes"]}
    assert graph["edges"] and all(
        e["source"] in ids and e["target"] in ids for e in graph["edges"]
    )


def test_decide_by_type_undo_and_the_history(client, tokens, organisation):
    investigation_id = reported(client, tokens)
    base = f"/api/v1/investigations/{investigation_id}"
    approved = client.post(
        f"{base}/actions/approve",
        headers=as_user(tokens["approver"]),
        json={"type": "soft_delete", "comment": "campaign"},
    )
    assert approved.status_code == 200, approved.text
    outcomes = approved.json()
    assert outcomes and all(o["outcome"] == "completed" for o in outcomes)
    rejected = client.post(
        f"{base}/actions/reject",
        headers=as_user(tokens["approver"]),
        json={"type": "block_sender"},
    )
    assert [o["outcome"] for o in rejected.json()] == ["rejected"]
    pending = client.get(f"{base}/actions/pending", headers=as_user(tokens["reader"]))
    assert pending.json() == []
    first = outcomes[0]["id"]
    undone = client.post(
        f"/api/v1/actions/{first}/undo", headers=as_user(tokens["approver"])
    )
    assert undone.json()["status"] == "undone"
    again = client.post(
        f"/api/v1/actions/{first}/undo", headers=as_user(tokens["approver"])
    )
    assert again.status_code == 409
    history = client.get(
        f"{base}/actions/history", headers=as_user(tokens["reader"])
    ).json()
    assert {a["status"] for a in history} >= {"undone", "rejected"}
    comment = client.post(
        f"{base}/comments",
        headers=as_user(tokens["analyst"]),
        json={"comment": "user confirmed"},
    )
    assert comment.status_code == 201
    log = client.get(f"{base}/log", headers=as_user(tokens["reader"])).json()
    assert any(e["summary"] == "analyst: user confirmed" for e in log)


def test_csv_exports_quote_what_a_spreadsheet_would_run(client, tokens, organisation):
    investigation_id = reported(client, tokens)
    client.post(
        f"/api/v1/investigations/{investigation_id}/comments",
        headers=as_user(tokens["analyst"]),
        json={"comment": '=HYPERLINK("http://evil.test")'},
    )
    log = client.get(
        f"/api/v1/investigations/{investigation_id}/log.csv",
        headers=as_user(tokens["reader"]),
    )
    assert log.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(log.text)))
    assert rows and {"step", "status", "summary"} <= set(rows[0])
    actions = client.get(
        f"/api/v1/investigations/{investigation_id}/actions.csv",
        headers=as_user(tokens["reader"]),
    )
    listed = list(csv.DictReader(io.StringIO(actions.text)))
    assert {r["type"] for r in listed} >= {"soft_delete", "block_sender"}
    # A summary starting with "=" would not be: it starts with the analyst's name.
    assert all(not r["summary"].startswith("=") for r in rows)


def test_the_stix_bundle_parses_as_stix_2_1(client, tokens, organisation):
    investigation_id = reported(client, tokens)
    response = client.get(
        f"/api/v1/investigations/{investigation_id}/stix",
        headers=as_user(tokens["reader"]),
    )
    bundle = stix2.parse(json.dumps(response.json()), allow_custom=False)
    kinds = [o.type for o in bundle.objects]
    assert kinds.count("identity") == 1 and "report" in kinds
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert any(
        "url:value = 'https://payroll-example.test" in i.pattern for i in indicators
    )
    again = client.get(
        f"/api/v1/investigations/{investigation_id}/stix",
        headers=as_user(tokens["reader"]),
    ).json()
    assert [o["id"] for o in again["objects"]] == [
        o["id"] for o in response.json()["objects"]
    ]


def test_stix_patterns_escape_quotes_and_backslashes():
    from heron.engine.stix import _pattern

    pattern = _pattern("url", "https://evil.test/a'b\\c")
    assert pattern == "[url:value = 'https://evil.test/a\\'b\\\\c']"
    from stix2patterns.validator import run_validator

    assert run_validator(pattern) == []


def test_explorer_lists_and_manual_investigations(client, tokens, organisation):
    found = client.get(
        "/api/v1/explorer",
        params={"recipient": "bob@example.org"},
        headers=as_user(tokens["reader"]),
    ).json()
    assert found["total"] >= 2 and all(
        c["mailbox"] == "bob@example.org" for c in found["copies"]
    )
    started = client.post(
        "/api/v1/investigations",
        headers=as_user(tokens["analyst"]),
        json={"messages": [found["copies"][0]["message"]]},
    )
    assert started.status_code == 201, started.text
    assert started.json()["matched_messages"] == 1
    empty = client.post(
        "/api/v1/investigations", headers=as_user(tokens["analyst"]), json={}
    )
    assert empty.status_code == 422
    added = client.post(
        "/api/v1/lists",
        headers=as_user(tokens["approver"]),
        json={"list": "block", "kind": "domain", "value": "evil.test"},
    )
    assert added.status_code == 201, added.text
    listed = client.get("/api/v1/lists", headers=as_user(tokens["reader"])).json()
    assert {"list": "block", "kind": "domain", "value": "evil.test"}.items() <= listed[
        0
    ].items()
    removed = client.delete(
        "/api/v1/lists/block/domain",
        params={"value": "evil.test"},
        headers=as_user(tokens["approver"]),
    )
    assert removed.status_code == 200
    gone = client.delete(
        "/api/v1/lists/block/domain",
        params={"value": "evil.test"},
        headers=as_user(tokens["approver"]),
    )
    assert gone.status_code == 404


def test_audit_records_upload_raises_the_alert(client, tokens):
    record = {
        "CreationTime": "2026-11-05T10:00:00",
        "Id": "11111111-2222-3333-4444-555555555555",
        "Operation": "New-InboxRule",
        "RecordType": 1,
        "UserId": "bob@example.org",
        "Workload": "Exchange",
        "ResultStatus": "True",
        "Parameters": [
            {"Name": "Name", "Value": "fwd"},
            {"Name": "ForwardTo", "Value": "drop@attacker.test"},
        ],
    }
    response = client.post(
        "/api/v1/audit-records",
        params={"format": "json"},
        content=json.dumps([record]).encode(),
        headers=as_user(tokens["analyst"]),
    )
    assert response.status_code == 202, response.text
    assert response.json()["stored"] == 1
    alerts = client.get("/api/v1/alerts", headers=as_user(tokens["reader"])).json()
    assert any(a["name"] == "Suspicious email forwarding activity" for a in alerts)
    broken = client.post(
        "/api/v1/audit-records",
        params={"format": "jsonl"},
        content=b"{not json\n\xff\xfe\n",
        headers=as_user(tokens["analyst"]),
    )
    assert broken.status_code == 202 and broken.json()["warnings"]


def test_bodies_over_the_limit_are_refused_before_they_are_read(settings, tmp_path):
    from fastapi.testclient import TestClient

    from heron.api.app import create_app
    from heron.engine.service import Heron
    from tests.factories import staff

    heron = Heron(settings.model_copy(update={"api_max_body_bytes": 4096}))
    try:
        tokens = staff(heron)
        client = TestClient(create_app(heron))
        big = client.post(
            "/api/v1/reports",
            content=b"x" * 5000,
            headers={**as_user(tokens["analyst"]), "Content-Type": "message/rfc822"},
        )
        assert big.status_code == 413

        def chunks():
            for _ in range(10):
                yield b"y" * 1000

        streamed = client.post(
            "/api/v1/reports", content=chunks(), headers=as_user(tokens["analyst"])
        )
        assert streamed.status_code == 413
        # A reader's oversized body is refused for the role first.
        refused = client.post(
            "/api/v1/reports", content=b"x" * 5000, headers=as_user(tokens["reader"])
        )
        assert refused.status_code == 403
    finally:
        heron.close()


def test_jobs_and_whoami_read_back(heron, client, tokens):
    me = client.get("/api/v1/whoami", headers=as_user(tokens["purger"])).json()
    assert me.pop("tenant") == heron.feed.tenant
    assert me.pop("activity_feed").endswith(
        f"/api/v1.0/{heron.feed.tenant}/activity/feed"
    )
    assert me == {
        "name": "purger",
        "role": "approver",
        "purge": True,
        "permissions": sorted(
            ["read", "investigate", "comment", "propose", "decide", "manage_lists"]
        ),
    }
    run = client.post("/api/v1/jobs/expire/run", headers=as_user(tokens["admin"]))
    assert run.status_code == 200 and run.json()["outcome"] == "completed"
    jobs = {
        j["name"]: j
        for j in client.get("/api/v1/jobs", headers=as_user(tokens["reader"])).json()
    }
    assert jobs["expire"]["last_outcome"] == "completed" and jobs["expire"]["runs"] == 1
    assert jobs["poll"]["last_started_at"] is None
    verify = client.get("/api/v1/audit/verify", headers=as_user(tokens["admin"])).json()
    assert verify["intact"] and verify["records"] >= 1
    assert client.get("/api/v1/health").json()["status"] == "ok"
