"""Checking and normalising single indicator values read from feeds and lists.

Every feed parser in ``heron.intel`` hands the raw text of one field to these helpers;
they return the normalised value, or ``None`` when the text is not a value of that
kind. Nothing here raises on bad input.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from heron.domain.urls import ascii_host, normalise_url

HASH_KINDS: dict[int, str] = {32: "md5", 40: "sha1", 64: "sha256"}
"""Length of a hex digest to the kind of hash it is."""

_HEX = re.compile(r"[0-9a-fA-F]+")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*")


def hash_kind(text: str) -> str | None:
    """``md5``, ``sha1`` or ``sha256`` when ``text`` is a hex digest of that length."""
    token = text.strip()
    if not _HEX.fullmatch(token):
        return None
    return HASH_KINDS.get(len(token))


def normalise_hash(text: str, kind: str | None = None) -> str | None:
    """The digest in lower case, when it is a hash (of ``kind``, if given)."""
    found = hash_kind(text)
    if found is None or (kind is not None and found != kind):
        return None
    return text.strip().lower()


def normalise_domain(text: str) -> str | None:
    """A host name in lower case without the final dot; IDNs in their ``xn--`` form."""
    name = ascii_host(text.strip())
    if len(name) > 253 or not _DOMAIN.fullmatch(name):
        return None
    return name


def normalise_ip(text: str) -> str | None:
    """An IPv4 or IPv6 address in its canonical (compressed) form."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def normalise_network(text: str) -> str | None:
    """A CIDR network such as ``192.0.2.0/24`` in canonical form (host bits cleared)."""
    token = text.strip()
    if "/" not in token:
        return None
    try:
        return str(ipaddress.ip_network(token, strict=False))
    except ValueError:
        return None


def normalise_feed_url(text: str) -> str | None:
    """A url with a scheme and a host, normalised by ``normalise_url``."""
    token = text.strip()
    if not token or any(ch.isspace() for ch in token):
        return None
    try:
        parts = urlsplit(token)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return None
    if not _SCHEME.fullmatch(parts.scheme) or not host:
        return None
    return normalise_url(token)


def normalise_as(kind: str, text: str) -> tuple[str, str] | None:
    """Read ``text`` as a value of ``kind``; ``ip`` also takes a CIDR network.

    Returns ``(kind, value)`` (``kind`` becomes ``ip-network`` for a network) or
    ``None`` when the text is not such a value.
    """
    if kind == "url":
        url = normalise_feed_url(text)
        return ("url", url) if url else None
    if kind == "domain":
        domain = normalise_domain(text)
        return ("domain", domain) if domain else None
    if kind in ("ip", "ip-network"):
        return _ip_or_network(text)
    if kind in HASH_KINDS.values():
        digest = normalise_hash(text, kind)
        return (kind, digest) if digest else None
    return None


def _ip_or_network(text: str) -> tuple[str, str] | None:
    address = normalise_ip(text)
    if address:
        return ("ip", address)
    network = normalise_network(text)
    return ("ip-network", network) if network else None


def classify(text: str) -> tuple[str, str] | None:
    """Guess the kind of one bare token and normalise it.

    Tried in order: url with a scheme, ip address, CIDR network, hash, domain, and
    last a url without a scheme (``host/path``), which is read as ``http://``.
    """
    token = text.strip()
    if not token or any(ch.isspace() for ch in token):
        return None
    if "://" in token:
        return normalise_as("url", token)
    found = _ip_or_network(token)
    if found:
        return found
    digest_kind = hash_kind(token)
    if digest_kind:
        return (digest_kind, token.lower())
    domain = normalise_domain(token)
    if domain:
        return ("domain", domain)
    return _schemeless_url(token)


def _schemeless_url(token: str) -> tuple[str, str] | None:
    host = token.split("/", 1)[0].rsplit(":", 1)[0]
    if "/" not in token or not (normalise_domain(host) or normalise_ip(host)):
        return None
    return normalise_as("url", "http://" + token)
