"""DNS records for verifying mail: from a local file, or from a resolver the user
configured. heron asks no other server.

``RecordCache`` reads a JSON file that maps a name to its records::

    {
      "sel1._domainkey.example.org": ["v=DKIM1; k=rsa; p=MIIBIjANB..."],
      "example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"], "MX": ["10 mx.example.org"]},
      "_dmarc.example.org": ["v=DMARC1; p=reject; adkim=s"]
    }

A list stands for TXT records. A name the file holds with no record of the asked
type has none (an empty answer); a name the file does not hold is unknown, and a
check that needs it says it could not check. ``ResolverRecords`` asks one configured
resolver with a short timeout; a timeout or server failure is unknown, not empty.

Known limit: the file holds answers as they were when it was written; keys rotate and
records change, so a stale file makes a good signature look broken.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from heron.errors import ConfigError

log = logging.getLogger(__name__)

RECORD_TYPES = ("TXT", "A", "AAAA", "MX", "PTR")
# Bytes read from a records file; a larger one is refused with a clear error.
MAX_FILE_BYTES = 20 * 1024 * 1024
RESOLVER_TIMEOUT = 3.0
# Seconds a resolver that failed to answer is left alone.
RESOLVER_REST = 60


def _name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class RecordCache:
    """Records from a local JSON file (see the module's docstring)."""

    def __init__(self, records: Mapping[str, Mapping[str, list[str]]], origin: str):
        self._records = records
        self.origin = origin

    @classmethod
    def from_file(cls, path: Path) -> RecordCache:
        try:
            with path.open("rb") as handle:  # read bounded: a device reports no size
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(
                f"HERON_DNS_RECORDS: cannot read {path} ({exc.strerror})"
            ) from exc
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(
                f"HERON_DNS_RECORDS: {path} is larger than {MAX_FILE_BYTES} bytes"
            )
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # ValueError covers bad JSON and numbers too long to read; RecursionError
            # nesting deeper than the parser goes.
            reason = str(exc)[:200] or type(exc).__name__
            raise ConfigError(
                f"HERON_DNS_RECORDS: {path} is not JSON: {reason}"
            ) from None
        return cls(_normalised(data, str(path)), str(path))

    def lookup(self, name: str, rtype: str) -> list[str] | None:
        """The records of ``name`` of type ``rtype``: [] when it has none, None when
        the file does not know the name."""
        entry = self._records.get(_name(name))
        if entry is None:
            return None
        return list(entry.get(rtype.upper(), []))


def _normalised(data: object, origin: str) -> dict[str, dict[str, list[str]]]:
    if not isinstance(data, dict):
        raise ConfigError(f"HERON_DNS_RECORDS: {origin} must hold a JSON object")
    records: dict[str, dict[str, list[str]]] = {}
    for name, value in data.items():
        by_type = {"TXT": value} if isinstance(value, list) else value
        if not isinstance(by_type, dict) or not all(
            isinstance(k, str)
            and k.upper() in RECORD_TYPES
            and isinstance(v, list)
            and all(isinstance(s, str) for s in v)
            for k, v in by_type.items()
        ):
            raise ConfigError(
                f"HERON_DNS_RECORDS: {origin}: {name!r} must map to a list of TXT "
                f"strings or to an object of {', '.join(RECORD_TYPES)} lists"
            )
        # "Example.ORG." and "example.org" are one name: their records add up.
        entry = records.setdefault(_name(str(name)), {})
        for rtype, values in by_type.items():
            entry.setdefault(rtype.upper(), []).extend(values)
    return records


class ResolverRecords:
    """Records asked of one resolver the user configured (dnspython)."""

    def __init__(self, address: str, timeout: float = RESOLVER_TIMEOUT):
        import dns.resolver

        host, port = _host_and_port(address)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
        resolver.lifetime = timeout
        resolver.timeout = timeout
        self._resolver = resolver
        self.origin = f"resolver {address}"
        self._silent_until = 0.0

    def lookup(self, name: str, rtype: str) -> list[str] | None:
        import dns.exception
        import dns.resolver

        if time.monotonic() < self._silent_until:
            return None  # it failed a moment ago: not asked again until it may answer
        try:
            answer = self._resolver.resolve(_name(name), rtype.upper())
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.DNSException, OSError) as exc:
            # A timeout or server failure is unknown, not empty; rest the resolver
            # so that one dead server costs one timeout, not one per record.
            self._silent_until = time.monotonic() + RESOLVER_REST
            log.warning(
                "%s did not answer for %s %s (%s); not asked again for %d s",
                self.origin,
                name,
                rtype,
                type(exc).__name__,
                RESOLVER_REST,
            )
            return None
        values = []
        for record in answer:
            if rtype.upper() == "TXT":
                values.append(b"".join(record.strings).decode("utf-8", "replace"))
            else:
                values.append(record.to_text())
        return values


def _host_and_port(address: str) -> tuple[str, int]:
    """``192.0.2.53``, ``192.0.2.53:5353``, ``[2001:db8::53]:53`` or ``2001:db8::53``."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"HERON_DNS_RESOLVER: cannot read {address!r} as host[:port]")
    return host, int(port)


class LayeredRecords:
    """The file's answers first; what the file does not know, from the resolver."""

    def __init__(self, first: RecordCache, then: ResolverRecords):
        self._first, self._then = first, then
        self.origin = f"{first.origin}, then {then.origin}"

    def lookup(self, name: str, rtype: str) -> list[str] | None:
        found = self._first.lookup(name, rtype)
        return found if found is not None else self._then.lookup(name, rtype)


RecordSource = RecordCache | ResolverRecords | LayeredRecords


def record_source(records_file: Path | None, resolver: str) -> RecordSource | None:
    """The record source the settings name; None when neither a file nor a resolver
    is configured."""
    cache = RecordCache.from_file(records_file) if records_file is not None else None
    asked = ResolverRecords(resolver) if resolver else None
    if cache and asked:
        return LayeredRecords(cache, asked)
    return cache or asked
