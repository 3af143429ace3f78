"""Domain names: the organisational domain of a host, from the public suffix list.

The list is the snapshot bundled with tldextract; heron never fetches a newer one.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
# With the list's private section: suffixes companies open to everyone's names
# (github.io, s3.amazonaws.com).
_EXTRACT_PRIVATE = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


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


def under_public_suffix(host: str) -> bool:
    """True when ``host`` ends in a suffix the public suffix list knows and has a
    name under it (``shop.example.nl``, not ``J.Smith``)."""
    parts = _EXTRACT(host.strip().rstrip(".").lower())
    return bool(parts.suffix and parts.top_domain_under_public_suffix)


def is_ip(host: str) -> bool:
    """True for an ip address, bracketed (IPv6 in a url) or not."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def related(one: str, other: str) -> bool:
    """True when two hosts belong to one organisation as far as their names tell:
    the same organisational domain, or one's name the other's with a word of at
    least four letters added before or after (``fool.com`` and ``motleyfool.com``,
    not ``mail.com`` and ``gmail.com``)."""
    first, second = organisational_domain(one), organisational_domain(other)
    if not first or not second:
        return False
    if first == second:
        return True
    a, b = sorted((first.partition(".")[0], second.partition(".")[0]), key=len)
    added = len(b) - len(a)
    return len(a) >= 4 and added >= 4 and (b.startswith(a) or b.endswith(a))


def is_same_or_subdomain(host: str, domain: str) -> bool:
    """True when ``host`` is ``domain`` or a subdomain of it."""
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def is_public_suffix(host: str) -> bool:
    """True when ``host`` is itself a public suffix, private section included
    (``co.uk``, ``github.io``): a name anyone can register under."""
    parts = _EXTRACT_PRIVATE(host.strip().rstrip(".").lower())
    return bool(parts.suffix) and not parts.domain


def is_outside(address: str, org_domains: frozenset[str]) -> bool:
    """True for an address outside the organisation's domains (and their
    subdomains), and for a target that cannot be read as one: a variable, no
    domain, or a local part a mail server may route on (``%`` and ``!`` hops, a
    quoted local part holding another address)."""
    local, at, domain = address.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not domain or "$" in address or "%" in local or "!" in local:
        return True
    if '"' in address or "@" in local or "\\" in address:
        return True
    return not any(domain == d or domain.endswith("." + d) for d in org_domains)
