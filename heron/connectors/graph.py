"""Microsoft 365 connector over Microsoft Graph: find, move, soft delete, hard
delete and restore copies, and read and turn off inbox rules that forward.

The app authenticates with the client-credentials flow (msal) and needs the Graph
application permissions Mail.ReadWrite and MailboxSettings.ReadWrite. A copy's
locator is its Graph message id; Graph gives a moved message a new id, which the
move's response carries. Copies are found by their Internet Message-ID: Graph's
copy of a message is not byte for byte what was delivered, so the content hash is
not compared.

This connector has been tested only against responses written in the shapes
Graph's documentation gives; it has not run against a live tenant.

Known limits: mailbox-level forwarding (ForwardingSmtpAddress) and mailbox
delegations are Exchange settings Graph does not expose, so they are neither read
nor changed here; the analyzedEmails remediate API of Defender for Office 365 is
not used: it is a beta API, names messages by a network message id the message
resource lacks, and remediates asynchronously, while heron verifies each copy. An
inbox rule that forwards outside is turned off as a whole, its other actions with
it.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import httpx

from heron.config import GraphSettings
from heron.connectors import sieve
from heron.connectors.base import (
    Connector,
    CopyRef,
    ForwardRule,
    Operation,
    Outcome,
    OutcomeStatus,
)
from heron.connectors.secrets import read_secret
from heron.connectors.tokens import TokenSource, client_credentials
from heron.domain.verdicts import Location
from heron.errors import ConnectorError

log = logging.getLogger(__name__)

# Graph's well-known folder names for heron's locations.
WELL_KNOWN = {
    Location.INBOX: "inbox",
    Location.JUNK: "junkemail",
    Location.DELETED: "recoverableitemsdeletions",
    Location.QUARANTINE: "junkemail",
}
_FOLDER_LOCATIONS = (
    ("inbox", Location.INBOX),
    ("junkemail", Location.JUNK),
    ("deleteditems", Location.DELETED),
    ("recoverableitemsdeletions", Location.DELETED),
)
RETRIES = 3
MAX_WAIT = 30.0
MAX_PAGES = 100


class GraphConnector(Connector):
    kind = "graph"
    operations = frozenset(
        {
            Operation.LIST_MAILBOXES,
            Operation.FIND,
            Operation.MOVE,
            Operation.SOFT_DELETE,
            Operation.HARD_DELETE,
            Operation.RESTORE,
            Operation.READ_FORWARDING,
            Operation.DISABLE_FORWARDING,
        }
    )

    def __init__(
        self,
        settings: GraphSettings,
        *,
        token: TokenSource | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self._token = token or self._msal_token()
        self._http = httpx.Client(
            base_url=settings.graph_url.rstrip("/") + "/",
            timeout=settings.timeout,
            transport=transport,
        )
        self._folders: dict[str, dict[str, str]] = {}

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
            what="Graph token",
            tenant_id=self.settings.tenant_id,
            client_id=self.settings.client_id,
            secret=secret,
            authority=self.settings.authority,
            scope="https://graph.microsoft.com/.default",
        )

    # -- HTTP ------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One Graph call, retried when throttled (429) or unavailable (503)."""
        for attempt in range(RETRIES + 1):
            try:
                response = self._http.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {self._token()}"},
                    **kwargs,
                )
            except httpx.HTTPError as exc:
                raise ConnectorError(f"{self.name}: {method} {path}: {exc}") from None
            if response.status_code in (429, 503) and attempt < RETRIES:
                time.sleep(_retry_after(response))
                continue
            if response.status_code == 404:
                raise _NotFound(path)
            if response.status_code >= 400:
                raise ConnectorError(
                    f"{self.name}: {method} {path} answered {response.status_code}: "
                    f"{_graph_error(response)}"
                )
            if not response.content:
                return {}
            try:
                body = response.json()
            except ValueError:
                raise ConnectorError(
                    f"{self.name}: {method} {path} answered something not JSON"
                ) from None
            return body if isinstance(body, dict) else {}
        raise ConnectorError(f"{self.name}: {method} {path}: still throttled")

    def _pages(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        body = self._call("GET", path, params=params)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            values = body.get("value")
            if isinstance(values, list):
                items.extend(v for v in values if isinstance(v, dict))
            link = body.get("@odata.nextLink")
            if not link:
                return items
            link = str(link)
            if link in seen or not link.startswith(self.settings.graph_url):
                # A link back to a page already read, or to another host (which
                # must never receive heron's token): the listing stops here.
                log.warning(
                    "%s: %s: next page %r not followed", self.name, path, link[:200]
                )
                return items
            seen.add(link)
            body = self._call("GET", str(link))
        log.warning(
            "%s: %s has more than %d pages; the rest is not read",
            self.name,
            path,
            MAX_PAGES,
        )
        return items

    # -- mailboxes and copies --------------------------------------------------------

    def list_mailboxes(self) -> list[str]:
        if self.settings.users:
            return sorted({u.strip().lower() for u in self.settings.users})
        users = self._pages("users", {"$select": "mail,userPrincipalName"})
        return sorted(
            {
                str(u.get("mail") or u.get("userPrincipalName") or "").lower()
                for u in users
            }
            - {""}
        )

    def find(self, mailbox: str, sha256: str, message_id: str = "") -> list[CopyRef]:
        if not message_id:
            raise ConnectorError(
                f"{self.name}: a copy is found by its Message-ID, and this message has none"
            )
        # heron keeps Message-IDs without their angle brackets; Graph keeps them.
        bracketed = message_id if message_id.startswith("<") else f"<{message_id}>"
        escaped = bracketed.replace("'", "''")
        found = self._pages(
            f"users/{_segment(mailbox)}/messages",
            {
                "$filter": f"internetMessageId eq '{escaped}'",
                "$select": "id,parentFolderId,internetMessageId",
            },
        )
        folders = self._folder_ids(mailbox)
        return [
            CopyRef(
                mailbox,
                str(item["id"]),
                folders.get(str(item.get("parentFolderId")), Location.INBOX),
            )
            for item in found
            if item.get("id")
        ]

    def move(
        self,
        copy: CopyRef,
        destination: Location,
        sha256: str,
        message_id: str = "",
        origin: str = "",
    ) -> Outcome:
        here = self._locate(copy, message_id)
        if here is None:
            return Outcome(OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}")
        target = WELL_KNOWN[destination]
        if here.location is destination:
            return Outcome(OutcomeStatus.ALREADY_THERE, here)
        moved = self._call(
            "POST",
            f"users/{_segment(copy.mailbox)}/messages/{_segment(here.locator)}/move",
            json={"destinationId": target},
        )
        new_id = str(moved.get("id") or "")
        if not new_id:
            return Outcome(OutcomeStatus.FAILED, copy, "Graph returned no message id")
        return Outcome(OutcomeStatus.DONE, CopyRef(copy.mailbox, new_id, destination))

    def purge(self, copy: CopyRef, sha256: str, message_id: str = "") -> Outcome:
        here = self._locate(copy, message_id)
        if here is None:
            return Outcome(OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}")
        self._call(
            "POST",
            f"users/{_segment(copy.mailbox)}/messages/{_segment(here.locator)}/permanentDelete",
        )
        return Outcome(OutcomeStatus.DONE, CopyRef(copy.mailbox, "", Location.GONE))

    def _locate(self, copy: CopyRef, message_id: str) -> CopyRef | None:
        if copy.locator:
            try:
                parent = self._parent(copy.mailbox, copy.locator)
                location = self._folder_ids(copy.mailbox).get(parent, Location.INBOX)
                return CopyRef(copy.mailbox, copy.locator, location)
            except _NotFound:
                pass  # moved since: Graph gave it a new id
        found = self.find(copy.mailbox, "", message_id) if message_id else []
        return found[0] if found else None

    def _parent(self, mailbox: str, message: str) -> str:
        body = self._call(
            "GET",
            f"users/{_segment(mailbox)}/messages/{_segment(message)}",
            params={"$select": "id,parentFolderId"},
        )
        return str(body.get("parentFolderId", ""))

    def _folder_ids(self, mailbox: str) -> dict[str, Location]:
        """Folder id to location for the well-known folders, read once per mailbox."""
        if mailbox not in self._folders:
            ids: dict[str, str] = {}
            for name, _ in _FOLDER_LOCATIONS:
                try:
                    body = self._call(
                        "GET",
                        f"users/{_segment(mailbox)}/mailFolders/{name}",
                        params={"$select": "id"},
                    )
                except _NotFound:
                    continue
                if body.get("id"):
                    ids[name] = str(body["id"])
            self._folders[mailbox] = ids
        locations = dict(_FOLDER_LOCATIONS)
        return {
            folder_id: locations[name]
            for name, folder_id in self._folders[mailbox].items()
        }

    # -- inbox rules -----------------------------------------------------------------

    def _rules(self, mailbox: str) -> list[dict[str, Any]]:
        return self._pages(
            f"users/{_segment(mailbox)}/mailFolders/inbox/messageRules", {}
        )

    def forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> list[ForwardRule]:
        found = []
        for rule in self._rules(mailbox):
            actions = rule.get("actions")
            if not isinstance(actions, dict) or not rule.get("id"):
                continue
            targets = tuple(
                _address(recipient)
                for key in ("forwardTo", "redirectTo", "forwardAsAttachmentTo")
                for recipient in _list(actions.get(key))
            )
            targets = tuple(t for t in targets if t)
            if not targets:
                continue
            found.append(
                ForwardRule(
                    mailbox=mailbox,
                    ident=f"rule:{rule.get('id', '')}",
                    kind="redirect" if actions.get("redirectTo") else "forward",
                    targets=targets,
                    external=tuple(
                        t for t in targets if sieve.is_external(t, org_domains)
                    ),
                    enabled=rule.get("isEnabled", True) is not False
                    and rule.get("isEnabled") != "false",
                    keeps_copy=not actions.get("redirectTo"),
                    description=f"inbox rule {str(rule.get('displayName', ''))[:100]!r} "
                    f"sends to {', '.join(targets)}",
                )
            )
        return found

    def save_forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> dict[str, Any]:
        """The rules turning forwarding off would change: those sending outside."""
        return {
            "rules": {
                rule.ident.partition(":")[2]: rule.enabled
                for rule in self.forwarding(mailbox, org_domains)
                if rule.external
            }
        }

    def disable_forwarding(self, mailbox: str, org_domains: frozenset[str]) -> Outcome:
        turned = 0
        for rule in self.forwarding(mailbox, org_domains):
            if not (rule.external and rule.enabled):
                continue
            rule_id = rule.ident.partition(":")[2]
            self._call(
                "PATCH",
                f"users/{_segment(mailbox)}/mailFolders/inbox/messageRules/{_segment(rule_id)}",
                json={"isEnabled": False},
            )
            turned += 1
        if not turned:
            return Outcome(
                OutcomeStatus.ALREADY_THERE,
                detail="no forwarding outside the organisation",
            )
        return Outcome(OutcomeStatus.DONE, detail=f"{turned} inbox rule(s) turned off")

    def restore_forwarding(self, mailbox: str, saved: dict[str, Any]) -> Outcome:
        current = {
            str(r.get("id")): bool(r.get("isEnabled", True))
            for r in self._rules(mailbox)
        }
        restored = 0
        for rule_id, enabled in saved.get("rules", {}).items():
            if rule_id in current and current[rule_id] != enabled:
                self._call(
                    "PATCH",
                    f"users/{_segment(mailbox)}/mailFolders/inbox/messageRules/{_segment(rule_id)}",
                    json={"isEnabled": enabled},
                )
                restored += 1
        return Outcome(OutcomeStatus.DONE, detail=f"{restored} inbox rule(s) put back")


class _NotFound(ConnectorError):
    def __init__(self, path: str) -> None:
        super().__init__(f"Graph has nothing at {path}")


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _address(recipient: Any) -> str:
    if isinstance(recipient, dict):
        email = recipient.get("emailAddress") or {}
        if isinstance(email, dict):
            return str(email.get("address") or "").strip().lower()
    return ""


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_WAIT, max(0.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _graph_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('code', '')}: {str(error.get('message', ''))[:200]}"
    except (ValueError, AttributeError):
        return response.text[:200]
