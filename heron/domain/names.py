"""Domain names: the organisational domain of a host, from the public suffix list.

The list is the snapshot bundled with tldextract; heron never fetches a newer one.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def organisational_domain(host: str) -> str:
    """The registrable domain of ``host`` (``mail.example.co.uk`` → ``example.co.uk``).

    A name under a suffix the list does not know (``.test``, ``.internal``) counts
    its last two labels; an ip address or a single label is its own organisational
    domain.
    """
    host = host.strip().rstrip(".").lower()
    if not host:
        return ""
    parts = _EXTRACT(host)
    if parts.top_domain_under_public_suffix:
        return parts.top_domain_under_public_suffix
    if parts.suffix or is_ip(host):
        return host
    return ".".join(host.split(".")[-2:])


def is_ip(host: str) -> bool:
    """True for an ip address, bracketed (IPv6 in a url) or not."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_same_or_subdomain(host: str, domain: str) -> bool:
    """True when ``host`` is ``domain`` or a subdomain of it."""
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    return host == domain or host.endswith("." + domain)
