"""The organisation's own allow and block list.

Part in the flow: analyzers are handed an ``OrgLists`` value next to the
``IntelIndex``; an entry on the block list is a finding against a sender, url, file
or ip, an entry on the allow list is a finding for it. The list is read once from a
plain text file (``read_list_file``) and then only looked up.

Precedence, the same for every lookup:

1. For one entity the most specific entry wins: a sender address beats its domain, a
   domain beats its parent domains; an exact url beats its host, which beats the
   host's parent domains; an ip beats the narrowest network holding it, which beats
   wider ones.
2. At equal specificity, ``block`` wins over ``allow``.
3. ``decide`` over several entities of one message returns a block entry if any
   entity is blocked (an allowed sender does not excuse a blocked url), else an
   allow entry if any entity is allowed, else ``None``.

List file format, one entry per line, ``#`` starts a comment::

    block domain evil.test
    allow sender ceo@example.org
    block url https://evil.test/login
    block sha256 <64 hex digits>
    block ip 192.0.2.7          # or a network: 192.0.2.0/24
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from heron.errors import ConfigError
from heron.intel.model import FeedWarning
from heron.intel.values import (
    normalise_domain,
    normalise_feed_url,
    normalise_hash,
    normalise_ip,
    normalise_network,
)

logger = logging.getLogger(__name__)

LIST_KINDS = ("sender", "domain", "url", "sha256", "ip")
LIST_NAMES = ("allow", "block")
MAX_LIST_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ListEntry:
    """One entry of the allow or block list, its value normalised.

    ``kind`` is one of ``sender`` (an address), ``domain``, ``url``, ``sha256`` or
    ``ip`` (an address or a CIDR network); ``list`` is ``allow`` or ``block``.
    Raises ``ValueError`` for an unknown kind or list, or a value that is not of
    its kind.
    """

    kind: str
    value: str
    list: str

    def __post_init__(self) -> None:
        if self.list not in LIST_NAMES:
            raise ValueError(f"list must be allow or block, not {self.list!r}")
        if self.kind not in LIST_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LIST_KINDS)}")
        value = _normalise(self.kind, self.value)
        if value is None:
            raise ValueError(f"not a valid {self.kind}: {self.value!r}")
        object.__setattr__(self, "value", value)

    @property
    def is_block(self) -> bool:
        """True for an entry of the block list."""
        return self.list == "block"


def _normalise(kind: str, text: str) -> str | None:
    if kind == "sender":
        return _normalise_address(text)
    if kind == "domain":
        return normalise_domain(text)
    if kind == "url":
        return normalise_feed_url(text)
    if kind == "sha256":
        return normalise_hash(text, "sha256")
    return normalise_ip(text) or normalise_network(text)


def _normalise_address(text: str) -> str | None:
    """``local@domain`` in lower case; ``None`` when the domain is not valid."""
    # Known limit: the local part is compared case-insensitively and without
    # sub-address handling (user+tag@); add a per-domain rule if a site needs it.
    local, at, domain = text.strip().rpartition("@")
    host = normalise_domain(domain)
    if (
        not at
        or not local
        or host is None
        or "@" in local
        or any(c.isspace() for c in local)
    ):
        return None
    return f"{local.lower()}@{host}"


class OrgLists:
    """The allow and block list, answering lookups by the module's precedence."""

    def __init__(self, entries: Iterable[ListEntry] = ()) -> None:
        self._entries: dict[tuple[str, str], list[ListEntry]] = {}
        for entry in entries:
            self._entries.setdefault((entry.kind, entry.value), []).append(entry)

    def __len__(self) -> int:
        return sum(len(found) for found in self._entries.values())

    def match_sender(self, address: str) -> ListEntry | None:
        """The sender entry, else the entry of the sender's domain or a parent."""
        normalised = _normalise_address(address)
        if normalised is None:
            return None
        domain = normalised.rpartition("@")[2]
        levels = [("sender", normalised)] + _domain_levels(domain)
        return self._first_level(levels)

    def match_url(self, url: str) -> ListEntry | None:
        """The exact url entry, else its host (domain or ip), else a parent domain."""
        normalised = normalise_feed_url(url)
        if normalised is None:
            return None
        host = urlsplit(normalised).hostname or ""
        address = normalise_ip(host.strip("[]"))
        host_levels = self._ip_levels(address) if address else _domain_levels(host)
        return self._first_level([("url", normalised), *host_levels])

    def match_domain(self, domain: str) -> ListEntry | None:
        """The entry of the domain or of its nearest listed parent."""
        normalised = normalise_domain(domain)
        return self._first_level(_domain_levels(normalised)) if normalised else None

    def match_hash(self, sha256: str) -> ListEntry | None:
        """The entry of a file's sha256 digest."""
        digest = normalise_hash(sha256, "sha256")
        return self._first_level([("sha256", digest)]) if digest else None

    def match_ip(self, ip: str) -> ListEntry | None:
        """The entry of the address, else of the narrowest listed network holding it."""
        address = normalise_ip(ip)
        return self._first_level(self._ip_levels(address)) if address else None

    def decide(
        self,
        *,
        sender: str | None = None,
        urls: Iterable[str] = (),
        sha256s: Iterable[str] = (),
        ips: Iterable[str] = (),
    ) -> ListEntry | None:
        """The deciding entry for a message: a block, else an allow, else ``None``."""
        matches = [self.match_sender(sender)] if sender else []
        matches += [self.match_url(url) for url in urls]
        matches += [self.match_hash(digest) for digest in sha256s]
        matches += [self.match_ip(ip) for ip in ips]
        found = [entry for entry in matches if entry is not None]
        blocked = [entry for entry in found if entry.is_block]
        deciding = blocked or found
        return deciding[0] if deciding else None

    def _first_level(self, levels: list[tuple[str, str]]) -> ListEntry | None:
        """Entry at the most specific level that has one; block wins a tie."""
        for key in levels:
            found = self._entries.get(key)
            if found:
                return next((e for e in found if e.is_block), found[0])
        return None

    def _ip_levels(self, address: str) -> list[tuple[str, str]]:
        """The address, then every network holding it from narrowest to widest."""
        parsed = ipaddress.ip_address(address)
        width = parsed.max_prefixlen
        networks = [
            str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))
            for prefix in range(width - 1, -1, -1)
        ]
        return [("ip", address)] + [("ip", network) for network in networks]


def _domain_levels(domain: str) -> list[tuple[str, str]]:
    """``a.b.example`` gives the domain keys for it, ``b.example`` and ``example``."""
    labels = domain.split(".")
    return [("domain", ".".join(labels[i:])) for i in range(len(labels))]


def read_list_file(path: Path) -> tuple[list[ListEntry], list[FeedWarning]]:
    """Read an allow/block list file; bad lines become warnings, never errors.

    Raises ``ConfigError`` naming the file when it cannot be read or is larger than
    ``MAX_LIST_FILE_BYTES``.
    """
    text = _read_list_text(path)
    entries: list[ListEntry] = []
    warnings: list[FeedWarning] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        try:
            entries.append(_parse_list_line(line))
        except ValueError as error:
            warnings.append(FeedWarning(path.name, f"line {number}", str(error)))
    logger.info(
        "list %s read: %d entries, %d warnings", path, len(entries), len(warnings)
    )
    return entries, warnings


def _read_list_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_LIST_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(
            f"allow/block list {path} cannot be read ({error.strerror or error}); "
            "check the path"
        ) from error
    if len(data) > MAX_LIST_FILE_BYTES:
        raise ConfigError(
            f"allow/block list {path} is larger than {MAX_LIST_FILE_BYTES} bytes"
        )
    return data.decode("utf-8", errors="replace")


def _strip_comment(line: str) -> str:
    """The line without a ``#`` comment (whole line, or after whitespace)."""
    text = line.strip()
    if text.startswith("#"):
        return ""
    for separator in (" #", "\t#"):
        text = text.split(separator, 1)[0]
    return text.strip()


def _parse_list_line(line: str) -> ListEntry:
    """``<allow|block> <kind> <value>`` to a ``ListEntry``; ``ValueError`` if not."""
    fields = line.split()
    if len(fields) != 3:
        raise ValueError(
            f"expected '<allow|block> <kind> <value>', got {len(fields)} fields"
        )
    list_name, kind, value = fields
    return ListEntry(kind.lower(), value, list_name.lower())
