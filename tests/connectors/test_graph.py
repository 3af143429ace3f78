"""The Microsoft 365 connector against responses in the shapes Graph documents
(message, mailFolder, messageRule and error resources), served by httpx's mock
transport. No tenant is reached."""

from __future__ import annotations

import json

import httpx
import pytest

from heron.config import GraphSettings
from heron.connectors.base import CopyRef, Operation, OutcomeStatus
from heron.connectors.graph import GraphConnector
from heron.domain.verdicts import Location
from heron.errors import ConnectorError

USER = "ann@contoso.test"
MID = "<campaign7@payroll-check.test>"
FOLDERS = {
    "inbox": "AAMkAGI2-inbox",
    "junkemail": "AAMkAGI2-junk",
    "deleteditems": "AAMkAGI2-deleted",
    "recoverableitemsdeletions": "AAMkAGI2-recoverable",
}


class FakeGraph:
    """One mailbox as Graph would show it; every request is kept."""

    def __init__(self) -> None:
        self.messages = {"AAMkAGI2-msg1": FOLDERS["inbox"]}
        self.message_ids = {"AAMkAGI2-msg1": MID}
        self.rules = [
            {
                "@odata.type": "#microsoft.graph.messageRule",
                "id": "AQAAAJ5dZqA=",
                "displayName": "Invoices to my home account",
                "sequence": 2,
                "isEnabled": True,
                "conditions": {"subjectContains": ["invoice"]},
                "actions": {
                    "forwardTo": [
                        {
                            "emailAddress": {
                                "name": "Me",
                                "address": "ann.home@mail.test",
                            }
                        }
                    ],
                    "stopProcessingRules": True,
                },
            },
            {
                "id": "AQAAAJ5dZqB=",
                "displayName": "Team copy",
                "isEnabled": True,
                "actions": {
                    "redirectTo": [{"emailAddress": {"address": "desk@contoso.test"}}]
                },
            },
        ]
        self.requests: list[httpx.Request] = []
        self.throttle_once = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1.0/")
        assert request.headers["Authorization"] == "Bearer token-1"
        if path == f"users/{USER}/messages" and request.method == "GET":
            if self.throttle_once:
                self.throttle_once = False
                return httpx.Response(429, headers={"Retry-After": "0"})
            wanted = request.url.params["$filter"]
            assert wanted.startswith("internetMessageId eq '")
            mid = wanted.removeprefix("internetMessageId eq '")[:-1].replace("''", "'")
            return httpx.Response(
                200,
                json={
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                    "#users('ann')/messages(id,parentFolderId,internetMessageId)",
                    "value": [
                        {"id": i, "parentFolderId": f, "internetMessageId": mid}
                        for i, f in self.messages.items()
                        if self.message_ids.get(i) == mid
                    ],
                },
            )
        for name, folder_id in FOLDERS.items():
            if path == f"users/{USER}/mailFolders/{name}":
                return httpx.Response(200, json={"id": folder_id, "displayName": name})
        if path.startswith(f"users/{USER}/messages/") and path.endswith("/move"):
            old = path.split("/")[3]
            target = FOLDERS[json.loads(request.content)["destinationId"]]
            self.messages.pop(old)
            new = f"{old}-m{len(self.requests)}"
            self.messages[new] = target
            self.message_ids[new] = self.message_ids.pop(old)
            return httpx.Response(201, json={"id": new, "parentFolderId": target})
        if path.startswith(f"users/{USER}/messages/") and path.endswith(
            "/permanentDelete"
        ):
            self.messages.pop(path.split("/")[3])
            self.message_ids.pop(path.split("/")[3])
            return httpx.Response(204)
        if path.startswith(f"users/{USER}/messages/"):
            message = path.split("/")[3]
            if message not in self.messages:
                return httpx.Response(
                    404,
                    json={
                        "error": {"code": "ErrorItemNotFound", "message": "not found"}
                    },
                )
            return httpx.Response(
                200, json={"id": message, "parentFolderId": self.messages[message]}
            )
        if path == f"users/{USER}/mailFolders/inbox/messageRules":
            return httpx.Response(200, json={"value": self.rules})
        if path.startswith(f"users/{USER}/mailFolders/inbox/messageRules/"):
            rule = next(r for r in self.rules if r["id"] == path.rsplit("/", 1)[1])
            rule.update(json.loads(request.content))
            return httpx.Response(200, json=rule)
        return httpx.Response(
            400, json={"error": {"code": "BadRequest", "message": f"unexpected {path}"}}
        )


@pytest.fixture
def graph() -> tuple[GraphConnector, FakeGraph]:
    fake = FakeGraph()
    settings = GraphSettings(
        type="graph", name="m365", tenant_id="contoso", client_id="app", users=[USER]
    )
    connector = GraphConnector(
        settings, token=lambda: "token-1", transport=httpx.MockTransport(fake.handler)
    )
    return connector, fake


def test_graph_finds_a_copy_by_message_id_after_a_throttled_call(graph):
    connector, fake = graph
    (copy,) = connector.find(USER, "", MID)
    assert copy.locator == "AAMkAGI2-msg1" and copy.location is Location.INBOX
    assert sum(r.url.path.endswith("/messages") for r in fake.requests) == 2


def test_graph_soft_deletes_restores_and_reports_a_second_move_as_done(graph):
    connector, fake = graph
    copy = CopyRef(USER, "AAMkAGI2-msg1", Location.INBOX)
    moved = connector.move(copy, Location.DELETED, "", MID)
    assert moved.status is OutcomeStatus.DONE
    assert fake.messages == {moved.copy.locator: FOLDERS["recoverableitemsdeletions"]}
    # Run again with the old id: Graph no longer knows it; found by Message-ID.
    again = connector.move(copy, Location.DELETED, "", MID)
    assert again.status is OutcomeStatus.ALREADY_THERE
    back = connector.move(moved.copy, Location.INBOX, "", MID)
    assert back.status is OutcomeStatus.DONE
    assert list(fake.messages.values()) == [FOLDERS["inbox"]]


def test_graph_hard_delete_removes_the_copy(graph):
    connector, fake = graph
    done = connector.purge(CopyRef(USER, "AAMkAGI2-msg1", Location.INBOX), "", MID)
    assert done.status is OutcomeStatus.DONE and fake.messages == {}
    gone = connector.purge(CopyRef(USER, "AAMkAGI2-msg1", Location.INBOX), "", MID)
    assert gone.status is OutcomeStatus.NOT_FOUND


def test_graph_inbox_rules_forwarding_outside_are_turned_off_and_put_back(graph):
    connector, fake = graph
    org = frozenset({"contoso.test"})
    rules = connector.forwarding(USER, org)
    assert [r.external for r in rules] == [("ann.home@mail.test",), ()]
    saved = connector.save_forwarding(USER, org)
    assert saved == {"rules": {"AQAAAJ5dZqA=": True}}  # only the rule sending outside
    assert connector.disable_forwarding(USER, org).status is OutcomeStatus.DONE
    assert [r["isEnabled"] for r in fake.rules] == [False, True]
    assert connector.disable_forwarding(USER, org).status is OutcomeStatus.ALREADY_THERE
    connector.restore_forwarding(USER, saved)
    assert [r["isEnabled"] for r in fake.rules] == [True, True]


def test_graph_states_what_it_cannot_do(graph):
    connector, _ = graph
    assert not connector.supports(Operation.READ_DELEGATIONS)
    assert not connector.supports(Operation.BLOCK_SENDER)
    with pytest.raises(ConnectorError, match="cannot read delegations"):
        connector.delegations(USER)
    with pytest.raises(ConnectorError, match="Message-ID"):
        connector.find(USER, "abc", "")


def test_graph_errors_name_the_call_and_graphs_reason(graph):
    connector, _ = graph
    with pytest.raises(ConnectorError, match="BadRequest"):
        connector.forwarding("nobody@contoso.test", frozenset())


def test_graph_message_ids_are_looked_up_with_their_angle_brackets(graph):
    connector, _ = graph
    (copy,) = connector.find(USER, "", MID.strip("<>"))  # as heron stores them
    assert copy.locator == "AAMkAGI2-msg1"


def test_graph_listings_that_loop_or_leave_graph_are_not_followed(graph):
    connector, fake = graph
    pages = {"value": fake.rules[:1], "@odata.nextLink": ""}
    looping = "https://graph.microsoft.com/v1.0/users/ann@contoso.test/page2"
    elsewhere = "https://collector.evil.test/steal"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host != "graph.microsoft.com":
            raise AssertionError("heron's token went to another host")
        return httpx.Response(200, json={**pages, "@odata.nextLink": looping})

    connector._http = httpx.Client(
        base_url="https://graph.microsoft.com/v1.0/",
        transport=httpx.MockTransport(handler),
    )
    assert len(connector.forwarding(USER, frozenset())) == 2  # first page and one more
    pages["@odata.nextLink"] = elsewhere

    def leaving(request: httpx.Request) -> httpx.Response:
        if request.url.host != "graph.microsoft.com":
            raise AssertionError("heron's token went to another host")
        return httpx.Response(200, json={"value": None, "@odata.nextLink": elsewhere})

    connector._http = httpx.Client(
        base_url="https://graph.microsoft.com/v1.0/",
        transport=httpx.MockTransport(leaving),
    )
    assert connector.forwarding(USER, frozenset()) == []


def test_an_unreachable_login_service_is_a_connector_error_when_used(monkeypatch):
    monkeypatch.setenv("GRAPH_TEST_SECRET", "s3cret-value")
    connector = GraphConnector(  # building it reaches nothing
        GraphSettings(
            type="graph",
            name="m365",
            tenant_id="contoso",
            client_id="app",
            secret_env="GRAPH_TEST_SECRET",
            authority="http://127.0.0.1:9",
            timeout=5,
        )
    )
    with pytest.raises(ConnectorError, match="no Graph token") as caught:
        connector.find(USER, "", MID)
    assert "s3cret-value" not in str(caught.value)
