"""Dovecot connector: IMAP for mail and delegations, ManageSieve for forwarding.

heron logs in to each mailbox as ``user*master`` (Dovecot's master user login; the
separator is a setting), so one credential reaches every mailbox. The master user
needs the user's own rights, which Dovecot's ACL plugin grants with
``plugin { acl_user = %u }`` or a global ACL file (see docs/connectors.md).

A copy's locator is ``UIDVALIDITY:UID:FOLDER``. A copy is never trusted by its UID
alone: before it is moved or deleted, its bytes are fetched and their sha256 must
be the message's. A copy that is no longer at its UID (the user moved it, or an
earlier run moved it and stopped before recording so) is looked for by Message-ID
in every folder, which makes every operation safe to run again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sievelib.managesieve import Client as SieveClient
from sievelib.managesieve import Error as SieveError

from heron.config import DovecotSettings, plausible_login
from heron.connectors import sieve
from heron.connectors.base import (
    Connector,
    CopyRef,
    Delegation,
    FetchedMail,
    ForwardRule,
    Operation,
    Outcome,
    OutcomeStatus,
)
from heron.connectors.secrets import read_secret
from heron.domain.verdicts import Location
from heron.errors import ConnectorError

log = logging.getLogger(__name__)

# Folders users and mail clients put mail in themselves, by name and special use.
_ALIASES: dict[str, Location] = {
    "trash": Location.DELETED,
    "deleted items": Location.DELETED,
    "deleted messages": Location.DELETED,
    "spam": Location.JUNK,
    "junk e-mail": Location.JUNK,
}
_SPECIAL_USE = {b"\\Junk": Location.JUNK, b"\\Trash": Location.DELETED}
FETCH_CHUNK = 50
# A Message-ID imapclient can send in SEARCH as it is.
_SEARCHABLE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`.@<>|~:;,\[\]]{1,900}")
_LITERAL = re.compile(r"\{\d+\}")
# ACL identifiers that are the mailbox itself, not a delegate.
_OWNER_IDS = ("owner",)


@dataclass(frozen=True)
class Locator:
    uidvalidity: int
    uid: int
    folder: str

    def __str__(self) -> str:
        return f"{self.uidvalidity}:{self.uid}:{self.folder}"

    @classmethod
    def parse(cls, text: str) -> Locator | None:
        validity, _, rest = text.partition(":")
        uid, _, folder = rest.partition(":")
        if not (validity.isdigit() and uid.isdigit() and folder):
            return None
        return cls(int(validity), int(uid), folder)


class _Sieve(SieveClient):  # type: ignore[misc]
    """sievelib's client with heron's TLS context: sievelib builds its own default
    context, which cannot be pointed at a CA file."""

    context: ssl.SSLContext | None = None
    sock: Any
    srvaddr: str

    def _Client__enable_ssl(self, keyfile: Any = None, certfile: Any = None) -> None:
        assert self.context is not None
        try:
            self.sock = self.context.wrap_socket(
                self.sock, server_hostname=self.srvaddr
            )
        except ssl.SSLError as exc:
            raise SieveError(f"TLS: {exc}") from None


class DovecotConnector(Connector):
    """Mailboxes on a Dovecot server."""

    kind = "dovecot"
    operations = frozenset(
        {
            Operation.LIST_MAILBOXES,
            Operation.INGEST,
            Operation.FIND,
            Operation.MOVE,
            Operation.SOFT_DELETE,
            Operation.HARD_DELETE,
            Operation.RESTORE,
            Operation.READ_FORWARDING,
            Operation.DISABLE_FORWARDING,
            Operation.READ_DELEGATIONS,
            Operation.REMOVE_DELEGATION,
        }
    )

    def __init__(self, settings: DovecotSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._password = read_secret(
            f"connector {settings.name}", settings.password_env, settings.password_file
        )
        self._context = _tls_context(settings.ca_file)

    # -- connections -------------------------------------------------------------

    @contextmanager
    def _imap(self, mailbox: str) -> Iterator[IMAPClient]:
        cfg = self.settings
        try:
            client = IMAPClient(
                cfg.host,
                port=cfg.imap_port,
                ssl=cfg.imap_tls == "implicit",
                ssl_context=self._context,
                timeout=cfg.timeout,
            )
            if cfg.imap_tls == "starttls":
                client.starttls(self._context)
            client.login(self._login(mailbox), self._password)
        except (IMAPClientError, OSError, ssl.SSLError) as exc:
            raise ConnectorError(
                f"{self.name}: IMAP login to {cfg.host}:{cfg.imap_port} for "
                f"{mailbox} failed: {_clean(exc)}"
            ) from None
        try:
            yield client
        except (IMAPClientError, OSError, UnicodeError, ValueError) as exc:
            # A refused command, a dropped or timed-out connection, or a reply
            # imapclient cannot read: the operation failed, and says why.
            raise ConnectorError(
                f"{self.name}: IMAP for {mailbox}: {_clean(exc)}"
            ) from None
        finally:
            with suppress(IMAPClientError, OSError):
                client.logout()

    @contextmanager
    def _sieve(self, mailbox: str) -> Iterator[SieveClient]:
        cfg = self.settings
        # sievelib reads its timeout from its own class, for every client at once.
        SieveClient.read_timeout = max(1, int(cfg.timeout))
        client = _Sieve(cfg.host, cfg.sieve_port)
        client.context = self._context
        try:
            with warnings.catch_warnings():
                # Plain text was allowed explicitly (allow_plaintext); sievelib's
                # warning about it would only repeat that choice on every login.
                warnings.simplefilter("ignore", UserWarning)
                ok = client.connect(
                    self._login(mailbox),
                    self._password,
                    starttls=cfg.sieve_tls == "starttls",
                    ssl=cfg.sieve_tls == "implicit",
                    authmech="PLAIN",
                )
        except (SieveError, OSError) as exc:
            raise ConnectorError(
                f"{self.name}: ManageSieve to {cfg.host}:{cfg.sieve_port} for "
                f"{mailbox} failed: {_clean(exc)}"
            ) from None
        if not ok:
            raise ConnectorError(
                f"{self.name}: ManageSieve refused the login for {mailbox}"
            )
        try:
            yield client
        except (SieveError, OSError, UnicodeError, ValueError) as exc:
            raise ConnectorError(
                f"{self.name}: ManageSieve for {mailbox}: {_clean(exc)}"
            ) from None
        finally:
            with suppress(SieveError, OSError):
                client.logout()

    def _login(self, mailbox: str) -> str:
        cfg = self.settings
        return f"{mailbox}{cfg.master_separator}{cfg.master_user}"

    # -- mailboxes and mail --------------------------------------------------------

    def list_mailboxes(self) -> list[str]:
        users = [u.strip().lower() for u in self.settings.users if u.strip()]
        if self.settings.users_file is not None:
            try:
                text = self.settings.users_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConnectorError(
                    f"{self.name}: users_file {self.settings.users_file}: {exc.strerror}"
                ) from None
            users += [
                line.split(":", 1)[0].strip().lower()
                for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        usable = {
            u for u in users if plausible_login(u, self.settings.master_separator)
        }
        for user in sorted(set(users) - usable)[:20]:
            log.warning(
                "%s: users_file line %r is not a login; skipped", self.name, user[:80]
            )
        return sorted(usable)

    def fetch_new(
        self, mailbox: str, state: dict[str, Any]
    ) -> Iterator[tuple[FetchedMail | None, dict[str, Any]]]:
        """Mail in every folder above the last UID seen there. A folder whose
        UIDVALIDITY changed is read again from the start (the store drops what it
        already holds)."""
        limit = self.settings.max_message_bytes
        with self._imap(mailbox) as client:
            folders = self._folders(client)
            for folder, location in folders.items():
                seen = state.get(folder, {})
                try:
                    info = client.select_folder(folder, readonly=True)
                except IMAPClientError as exc:
                    # One folder heron may not read (its owner took the right
                    # away) must not stop the rest of the mailbox being read.
                    yield (
                        FetchedMail(
                            mailbox,
                            folder,
                            location,
                            "",
                            b"",
                            f"folder cannot be read: {_clean(exc)}",
                        ),
                        state,
                    )
                    continue
                validity = int(info.get(b"UIDVALIDITY", 0))
                last = (
                    int(seen.get("uid", 0))
                    if seen.get("uidvalidity") == validity
                    else 0
                )
                uids = sorted(
                    u for u in client.search(["UID", f"{last + 1}:*"]) if u > last
                )
                for start in range(0, len(uids), FETCH_CHUNK):
                    chunk = uids[start : start + FETCH_CHUNK]
                    sizes = client.fetch(chunk, ["RFC822.SIZE"])
                    wanted = [
                        u
                        for u in chunk
                        if sizes.get(u, {}).get(b"RFC822.SIZE", 0) <= limit
                    ]
                    for uid in chunk:
                        after = {**state, folder: {"uidvalidity": validity, "uid": uid}}
                        state = after
                        locator = str(Locator(validity, uid, folder))
                        # One body at a time: a chunk of large messages never
                        # sits in memory together.
                        raw = (
                            client.fetch([uid], ["BODY.PEEK[]"])
                            .get(uid, {})
                            .get(b"BODY[]")
                            if uid in wanted
                            else None
                        )
                        if raw is None:
                            size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
                            error = (
                                f"larger than {limit} bytes ({size}); not read"
                                if size > limit
                                else "the server returned no body"
                            )
                            yield (
                                FetchedMail(
                                    mailbox, folder, location, locator, b"", error
                                ),
                                after,
                            )
                            continue
                        yield (
                            FetchedMail(mailbox, folder, location, locator, raw),
                            after,
                        )
                if not uids and seen.get("uidvalidity") != validity:
                    state = {**state, folder: {"uidvalidity": validity, "uid": last}}
                    yield None, state

    def find(self, mailbox: str, sha256: str, message_id: str = "") -> list[CopyRef]:
        with self._imap(mailbox) as client:
            return self._find(client, mailbox, sha256, message_id)

    def move(
        self,
        copy: CopyRef,
        destination: Location,
        sha256: str,
        message_id: str = "",
        origin: str = "",
    ) -> Outcome:
        with self._imap(copy.mailbox) as client:
            folders = self._folders(client)
            came_from = Locator.parse(origin)
            if came_from is not None and folders.get(came_from.folder) is destination:
                target = came_from.folder  # back where it was, an archive folder say
            else:
                target = self._folder_for(client, folders, destination)
            here = self._locate(client, copy, sha256, message_id)
            if here is None:
                return Outcome(
                    OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}"
                )
            if here.folder == target:
                return Outcome(
                    OutcomeStatus.ALREADY_THERE,
                    CopyRef(copy.mailbox, str(here), destination),
                )
            client.select_folder(here.folder)
            client.move([here.uid], target)
            log.info("dovecot moved a copy in %s to %s", copy.mailbox, target)
            moved = self._find_in(
                client, copy.mailbox, target, destination, sha256, message_id
            )
            found_at = CopyRef(
                copy.mailbox, str(here), folders.get(here.folder, Location.INBOX)
            )
            if not moved:
                # The server took the MOVE; the copy's new UID is unknown, and the
                # next operation on it looks for it by content.
                return Outcome(
                    OutcomeStatus.DONE,
                    CopyRef(copy.mailbox, "", destination),
                    f"moved to {target}; its new UID was not found",
                    origin=found_at,
                )
            return Outcome(OutcomeStatus.DONE, moved[0], origin=found_at)

    def purge(self, copy: CopyRef, sha256: str, message_id: str = "") -> Outcome:
        with self._imap(copy.mailbox) as client:
            here = self._locate(client, copy, sha256, message_id)
            if here is None:
                return Outcome(
                    OutcomeStatus.NOT_FOUND, None, f"no copy in {copy.mailbox}"
                )
            client.select_folder(here.folder)
            client.add_flags([here.uid], [b"\\Deleted"])
            client.uid_expunge(
                [here.uid]
            )  # only this message, even if others are flagged
            log.info("dovecot deleted a copy in %s for good", copy.mailbox)
            return Outcome(OutcomeStatus.DONE, CopyRef(copy.mailbox, "", Location.GONE))

    # -- forwarding (ManageSieve) --------------------------------------------------

    def forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> list[ForwardRule]:
        found: list[ForwardRule] = []
        for name, (text, active) in self._scripts(mailbox).items():
            if text is None:
                # A script heron cannot read may forward anywhere: an active one
                # counts as forwarding outside, so that it is seen and alerted.
                found.append(
                    ForwardRule(
                        mailbox=mailbox,
                        ident=f"sieve:{name}:unreadable",
                        kind="redirect",
                        targets=("?",),
                        external=("?",),
                        enabled=active,
                        description=f"sieve script {name[:100]!r}"
                        + (" (active)" if active else " (not active)")
                        + " cannot be read through ManageSieve; what it does is "
                        "unknown",
                    )
                )
                continue
            found.extend(
                sieve.forwards(mailbox, name, text, org_domains, active=active)
            )
        return found

    def save_forwarding(
        self, mailbox: str, org_domains: frozenset[str]
    ) -> dict[str, Any]:
        """The scripts turning forwarding off would change, as they are now.
        Undo puts back only these: a script heron never touched keeps the edits
        its owner made since."""
        scripts = self._scripts(mailbox)
        return {
            "scripts": {
                name: text
                for name, (text, _) in scripts.items()
                if text is not None
                and sieve.has_external_forwards(name, text, org_domains)
            },
            "org_domains": sorted(org_domains),
            "active": next((n for n, (_, a) in scripts.items() if a), ""),
        }

    def disable_forwarding(self, mailbox: str, org_domains: frozenset[str]) -> Outcome:
        changed = 0
        with self._sieve(mailbox) as client:
            active, names = _list_scripts(client)
            unchanged = []
            for name in [active, *names] if active else names:
                try:
                    text = _script(client, name)
                except ConnectorError as exc:
                    if name == active:
                        unchanged.append(f"{exc}; turn it off by hand")
                    continue
                try:
                    new, count = sieve.without_external_forwards(
                        name, text, org_domains
                    )
                except ConnectorError as exc:
                    if sieve.has_external_forwards(name, text, org_domains):
                        unchanged.append(str(exc))
                    continue
                if not count:
                    continue
                if not client.putscript(name, new):
                    return Outcome(
                        OutcomeStatus.FAILED,
                        detail=f"the server refused the changed script {name!r}: "
                        f"{_sieve_error(client)}",
                    )
                changed += count
        if unchanged:
            return Outcome(
                OutcomeStatus.FAILED,
                detail=f"{changed} redirect(s) turned off, but a script heron cannot "
                f"rewrite still forwards outside: {'; '.join(unchanged)[:500]}",
            )
        if not changed:
            return Outcome(
                OutcomeStatus.ALREADY_THERE,
                detail="no forwarding outside the organisation",
            )
        return Outcome(
            OutcomeStatus.DONE,
            detail=f"{changed} redirect(s) outside the organisation turned off",
        )

    def restore_forwarding(self, mailbox: str, saved: dict[str, Any]) -> Outcome:
        """Put back each script heron changed, if it is still as heron left it. A
        script its owner edited or deleted since is left as the owner made it,
        and which script is active is never changed."""
        scripts: dict[str, str] = saved.get("scripts", {})
        org = frozenset(saved.get("org_domains", []))
        restored, left = 0, []
        with self._sieve(mailbox) as client:
            for name, original in scripts.items():
                try:
                    current = _script(client, name)
                except ConnectorError:
                    left.append(f"{name!r} is gone")
                    continue
                if _same_script(current, original):
                    continue
                expected, _ = sieve.without_external_forwards(name, original, org)
                if not _same_script(current, expected):
                    left.append(
                        f"{name!r} changed after heron turned its forwarding off"
                    )
                    continue
                if not client.putscript(name, original):
                    return Outcome(
                        OutcomeStatus.FAILED,
                        detail=f"the server refused script {name!r}: {_sieve_error(client)}",
                    )
                restored += 1
        if left:
            return Outcome(
                OutcomeStatus.FAILED,
                detail=f"{restored} script(s) put back; not put back, to keep what "
                f"the mailbox's owner did since: {'; '.join(left)}",
            )
        return Outcome(OutcomeStatus.DONE, detail=f"{restored} script(s) put back")

    def _scripts(self, mailbox: str) -> dict[str, tuple[str | None, bool]]:
        """Each script's text (None for one sievelib cannot fetch by its name)
        and whether it is the active one."""
        found: dict[str, tuple[str | None, bool]] = {}
        with self._sieve(mailbox) as client:
            active, names = _list_scripts(client)
            for name in ([active] if active else []) + names:
                try:
                    found[name] = (_script(client, name), name == active)
                except ConnectorError:
                    found[name] = (None, name == active)
        return found

    # -- delegations (IMAP ACL, RFC 4314) ------------------------------------------

    def delegations(self, mailbox: str) -> list[Delegation]:
        found = []
        with self._imap(mailbox) as client:
            for folder in self._folders(client):
                for who, rights in client.getacl(folder):
                    grantee = _text(who)
                    if not rights or grantee.lower() in (mailbox.lower(), *_OWNER_IDS):
                        continue
                    if grantee.startswith("-"):
                        continue  # a negative right takes access away
                    if _LITERAL.fullmatch(grantee) or '"' in grantee or "\\" in grantee:
                        # Known limit: imapclient misreads identifiers a server
                        # sends as literals (non-ASCII ones) or with quotes; they are
                        # logged for a person to check, not acted on.
                        log.warning(
                            "%s: %s's folder %s grants rights to an identifier heron "
                            "cannot read (%r); check it by hand",
                            self.name,
                            mailbox,
                            folder,
                            grantee[:80],
                        )
                        continue
                    found.append(Delegation(mailbox, folder, grantee, _text(rights)))
        return found

    def remove_delegation(self, delegation: Delegation) -> Outcome:
        with self._imap(delegation.mailbox) as client:
            held = self._rights(client, delegation)
            if held is None:
                return Outcome(OutcomeStatus.ALREADY_THERE, detail="no rights held")
            _delete_acl(client, delegation.folder, delegation.grantee)
            if self._rights(client, delegation) is not None:
                return Outcome(
                    OutcomeStatus.FAILED, detail="the rights are still there"
                )
        return Outcome(
            OutcomeStatus.DONE,
            detail=f"{delegation.grantee} lost {held} on {delegation.folder}",
        )

    def restore_delegation(self, delegation: Delegation) -> Outcome:
        with self._imap(delegation.mailbox) as client:
            if self._rights(client, delegation) == delegation.rights:
                return Outcome(
                    OutcomeStatus.ALREADY_THERE, detail="the rights are there"
                )
            client.setacl(delegation.folder, delegation.grantee, delegation.rights)
        return Outcome(
            OutcomeStatus.DONE,
            detail=f"{delegation.grantee} holds {delegation.rights} on "
            f"{delegation.folder} again",
        )

    def _rights(self, client: IMAPClient, delegation: Delegation) -> str | None:
        for who, rights in client.getacl(delegation.folder):
            if _text(who) == delegation.grantee:
                return _text(rights)
        return None

    # -- folders and copies --------------------------------------------------------

    def _folders(self, client: IMAPClient) -> dict[str, Location]:
        """Every selectable folder and the location it stands for."""
        names = {v: k for k, v in self.settings.folders.items()}
        found: dict[str, Location] = {}
        for flags, _, name in client.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            folder = _text(name)
            location = Location.INBOX
            if folder in names:
                location = Location(names[folder])
            elif folder.lower() in _ALIASES:
                location = _ALIASES[folder.lower()]
            else:
                for flag in flags:
                    location = _SPECIAL_USE.get(flag, location)
            found[folder] = location
        return found

    def _folder_for(
        self, client: IMAPClient, folders: dict[str, Location], destination: Location
    ) -> str:
        """The folder heron moves copies to for ``destination``, created if missing."""
        name = self.settings.folders.get(destination.value)
        if name is None:
            raise ConnectorError(
                f"{self.name}: no folder is set for {destination.value}; set "
                f"folders.{destination.value}"
            )
        if name not in folders:
            client.create_folder(name)
            folders[name] = destination
        return name

    def _locate(
        self, client: IMAPClient, copy: CopyRef, sha256: str, message_id: str
    ) -> Locator | None:
        """Where the copy is now: at its locator if the bytes there are the
        message's, else wherever a search by Message-ID finds them."""
        where = Locator.parse(copy.locator)
        if where is not None:
            try:
                info = client.select_folder(where.folder, readonly=True)
            except IMAPClientError:
                info = {}
            if int(info.get(b"UIDVALIDITY", -1)) == where.uidvalidity:
                body = client.fetch([where.uid], ["BODY.PEEK[]"]).get(where.uid, {})
                if _digest(body.get(b"BODY[]")) == sha256:
                    return where
        found = self._find(client, copy.mailbox, sha256, message_id)
        if not found:
            return None
        destination_first = sorted(found, key=lambda c: c.location is not copy.location)
        return Locator.parse(destination_first[0].locator)

    def _find(
        self, client: IMAPClient, mailbox: str, sha256: str, message_id: str
    ) -> list[CopyRef]:
        found = []
        for folder, location in self._folders(client).items():
            try:
                found += self._find_in(
                    client, mailbox, folder, location, sha256, message_id
                )
            except IMAPClientError as exc:
                log.warning(
                    "%s: %s's folder %s cannot be searched: %s",
                    self.name,
                    mailbox,
                    folder,
                    _clean(exc),
                )
        return found

    def _find_in(
        self,
        client: IMAPClient,
        mailbox: str,
        folder: str,
        location: Location,
        sha256: str,
        message_id: str,
    ) -> list[CopyRef]:
        # Known limit: a message without a Message-ID, or with one IMAP SEARCH
        # cannot carry as an atom (non-ASCII, brackets, quotes, braces), is found by
        # reading every message of every folder, which is slow in a large mailbox.
        info = client.select_folder(folder, readonly=True)
        validity = int(info.get(b"UIDVALIDITY", 0))
        searchable = bool(_SEARCHABLE.fullmatch(message_id))
        criteria: list[Any] = (
            ["HEADER", "Message-ID", message_id] if searchable else ["ALL"]
        )
        uids = client.search(criteria)
        found = []
        for start in range(0, len(uids), FETCH_CHUNK):
            bodies = client.fetch(uids[start : start + FETCH_CHUNK], ["BODY.PEEK[]"])
            for uid, data in sorted(bodies.items()):
                if _digest(data.get(b"BODY[]")) == sha256:
                    found.append(
                        CopyRef(mailbox, str(Locator(validity, uid, folder)), location)
                    )
        return found


def _delete_acl(client: IMAPClient, folder: str, who: str) -> None:
    """RFC 4314 DELETEACL. imapclient has no call for it (its setacl cannot send
    empty rights), so this goes through the imaplib connection it wraps."""
    imap = client._imap  # noqa: SLF001
    typ, data = imap.deleteacl(client._normalise_folder(folder), who)  # noqa: SLF001
    if typ != "OK":
        raise IMAPClientError(f"DELETEACL failed: {data!r}")


def _same_script(one: str, other: str) -> bool:
    """Equal once line ends and trailing space are set aside (ManageSieve gives
    scripts back with LF line ends)."""
    return one.replace("\r\n", "\n").rstrip() == other.replace("\r\n", "\n").rstrip()


def _script(client: SieveClient, name: str) -> str:
    text = client.getscript(name)
    if text is None:
        # sievelib cannot name some scripts (a quote or backslash in the name): a
        # script heron cannot read must not pass for one without forwarding.
        raise ConnectorError(
            f"sieve script {name[:100]!r} cannot be read: {_sieve_error(client)}"
        )
    return str(text)


def _list_scripts(client: SieveClient) -> tuple[str, list[str]]:
    listed = client.listscripts()
    if listed is None:
        raise ConnectorError(f"ManageSieve LISTSCRIPTS failed: {_sieve_error(client)}")
    active, others = listed
    return active or "", list(others)


def _sieve_error(client: SieveClient) -> str:
    return str(
        getattr(
            client,
            "errmsg",
            b"",
        )
        or "no reason given"
    )[:300]


def _tls_context(ca_file: Any) -> ssl.SSLContext:
    """Certificate and host name checks on; a configured CA file replaces the
    system's."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectorError(f"ca_file {ca_file}: cannot be read ({exc})") from None


def _digest(raw: object) -> str:
    return hashlib.sha256(raw).hexdigest() if isinstance(raw, bytes) else ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _clean(exc: BaseException) -> str:
    """The error's text, never longer than a line, and never a credential (imaplib
    and sievelib do not echo passwords, but a server's reply is cut short)."""
    return str(exc).replace("\r", " ").replace("\n", " ")[:300] or type(exc).__name__
