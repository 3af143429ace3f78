"""Every route against every role: the role decides before the body or the id does."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from heron.api.app import create_app
from heron.api.security import PUBLIC, permission_of
from heron.domain.roles import Role, grants
from tests.api.conftest import as_user, sample
from tests.factories import staff

ROLE_USER = {
    Role.READER: "reader",
    Role.ANALYST: "analyst",
    Role.APPROVER: "approver",
    Role.ADMIN: "admin",
}
# Path parameters filled with values that name nothing, or something harmless.
FILL = {
    "list_": "block",
    "kind": "domain",
    "name": "nobody",
    "action_type": "soft_delete",
    "content_id": "none",
}
# Starting the feed's subscription is the collector's own bookkeeping: any user who
# may read the feed does it. It changes nothing else in heron (stopping needs admin).
FEED_WRITES = {"/subscriptions/start"}


def routes(heron) -> list[tuple[str, str, object]]:
    app = create_app(heron)
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        for method in sorted(route.methods):
            found.append((method, route.path, permission_of(route.endpoint)))
    return found


def concrete(path: str, tenant: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return tenant if name == "tenant" else FILL.get(name, "1")

    return re.sub(r"\{(\w+)\}", value, path)


def test_every_route_declares_a_permission(heron):
    listed = routes(heron)
    assert len(listed) > 50
    assert all(p is not None for _, _, p in listed)


@pytest.mark.parametrize("role", list(Role))
def test_the_role_by_route_matrix(heron, client, role):
    token = staff(heron)[ROLE_USER[role]]
    allowed = grants(role)
    checked = 0
    for method, path, permission in routes(heron):
        url = concrete(path, heron.feed.tenant)
        # A body of the wrong shape, and ids that name nothing: the role answers first.
        response = client.request(
            method, url, headers=as_user(token), json={"unexpected": ["x"] * 3}
        )
        if permission == PUBLIC:
            assert response.status_code < 500, (method, path)
            continue
        if permission in allowed:
            assert response.status_code not in (401, 403) or (
                response.status_code == 403
                and "may not" not in response.json().get("detail", "")
            ), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
        if role is Role.READER and method != "GET":
            feed_write = any(path.endswith(w) for w in FEED_WRITES)
            assert response.status_code == 403 or feed_write, (method, path)
        assert response.status_code < 500, (role, method, path, response.text)
        checked += 1
    assert checked > 50


def test_no_token_is_401_and_a_wrong_token_is_401_on_every_route(heron, client):
    staff(heron)
    for method, path, permission in routes(heron):
        if permission == PUBLIC:
            continue
        url = concrete(path, heron.feed.tenant)
        missing = client.request(method, url, json={})
        assert missing.status_code == 401, (method, path)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = client.request(
            method, url, json={}, headers=as_user("heron_" + "x" * 43)
        )
        assert wrong.status_code == 401, (method, path)


def test_a_disabled_user_is_refused_at_once(heron, client):
    tokens = staff(heron)
    assert (
        client.get("/api/v1/whoami", headers=as_user(tokens["reader"])).status_code
        == 200
    )
    heron.disable_user("reader", by="admin")
    assert (
        client.get("/api/v1/whoami", headers=as_user(tokens["reader"])).status_code
        == 401
    )


def test_an_analyst_cannot_approve_whatever_the_body(heron, client, organisation):
    tokens = staff(heron)
    report = client.post(
        "/api/v1/reports?reporter=alice@example.org",
        content=sample("payroll"),
        headers={**as_user(tokens["analyst"]), "Content-Type": "message/rfc822"},
    )
    assert report.status_code == 202, report.text
    [investigation_id] = report.json()["investigations"]
    pending = client.get(
        f"/api/v1/investigations/{investigation_id}/actions/pending",
        headers=as_user(tokens["analyst"]),
    ).json()
    action_id = pending[0]["id"]
    for body in ({"comment": "ok"}, {"junk": 1}, None):
        refused = client.post(
            f"/api/v1/actions/{action_id}/approve",
            headers=as_user(tokens["analyst"]),
            json=body,
        )
        assert refused.status_code == 403
    still = client.get(
        f"/api/v1/actions/{action_id}", headers=as_user(tokens["reader"])
    )
    assert still.json()["status"] == "pending"
    approved = client.post(
        f"/api/v1/actions/{action_id}/approve",
        headers=as_user(tokens["approver"]),
        json={"comment": "confirmed"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "completed"
    assert approved.json()["decided_by"] == "approver"


def test_an_approver_cannot_approve_a_hard_delete_without_the_purge_permission(
    heron, client, organisation
):
    tokens = staff(heron)
    report = client.post(
        "/api/v1/reports",
        content=sample("payroll"),
        headers={**as_user(tokens["analyst"]), "Content-Type": "message/rfc822"},
        params={"reporter": "alice@example.org"},
    )
    [investigation_id] = report.json()["investigations"]
    soft = next(
        a
        for a in client.get(
            f"/api/v1/investigations/{investigation_id}/actions/pending",
            headers=as_user(tokens["reader"]),
        ).json()
        if a["type"] == "soft_delete"
    )
    proposed = client.post(
        f"/api/v1/investigations/{investigation_id}/actions",
        headers=as_user(tokens["analyst"]),
        json={"type": "hard_delete", "after": soft["id"]},
    )
    assert proposed.status_code == 201, proposed.text
    hard = proposed.json()["id"]
    refused = client.post(
        f"/api/v1/actions/{hard}/approve", headers=as_user(tokens["approver"]), json={}
    )
    assert refused.status_code == 403
    assert "purge permission" in refused.json()["detail"]
    done = client.post(
        f"/api/v1/actions/{hard}/approve", headers=as_user(tokens["purger"]), json={}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"


def test_with_the_two_person_rule_the_proposer_may_not_approve(
    settings, organisation, tmp_path
):
    from fastapi.testclient import TestClient

    from heron.engine.service import Heron

    heron = Heron(settings.model_copy(update={"two_person_rule": True}))
    try:
        heron.ingest(organisation.values())
        tokens = staff(heron)
        client = TestClient(create_app(heron))
        submission = heron.report(
            sample("payroll"), reporter="alice@example.org", unwrap=False
        )
        assert submission.sha256
        [investigation_id] = heron.process()
        proposed = client.post(
            f"/api/v1/investigations/{investigation_id}/actions",
            headers=as_user(tokens["approver"]),
            json={"type": "block_domain", "domain": "payroll-example.test"},
        )
        assert proposed.status_code == 201, proposed.text
        action_id = proposed.json()["id"]
        refused = client.post(
            f"/api/v1/actions/{action_id}/approve",
            headers=as_user(tokens["approver"]),
            json={},
        )
        assert refused.status_code == 403
        assert "two-person rule" in refused.json()["detail"]
        other = client.post(
            f"/api/v1/actions/{action_id}/approve",
            headers=as_user(tokens["bob"]),
            json={},
        )
        assert other.status_code == 200, other.text

        started = client.post(
            "/api/v1/investigations",
            headers=as_user(tokens["approver"]),
            json={"recipient": "bob@example.org"},
        )
        assert started.status_code == 201, started.text
        manual = started.json()["id"]
        for action in client.get(
            f"/api/v1/investigations/{manual}/actions/pending",
            headers=as_user(tokens["reader"]),
        ).json():
            own = client.post(
                f"/api/v1/actions/{action['id']}/approve",
                headers=as_user(tokens["approver"]),
                json={},
            )
            assert own.status_code == 403
    finally:
        heron.close()
