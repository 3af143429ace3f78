"""The canonical form of a url, so that a link in mail and an indicator in a feed
compare equal."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Full stops a browser reads as "." in a host name (ideographic, fullwidth, halfwidth).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def ascii_host(name: str) -> str:
    """A host as a browser resolves it: full-stop variants as ".", Unicode labels
    mapped (UTS 46: fullwidth letters, case) and written in their ``xn--`` form, so
    ``ｅｖｉｌ.test`` and ``evil.test`` are one host. A name that IDNA refuses comes
    back lower-cased, as written."""
    text = name.translate(_DOTS).rstrip(".")
    if text.isascii():
        return text.lower()
    import idna

    try:
        return idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return text.lower()


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, ``/`` for an empty
    path; the rest is kept as written. Hosts are written as browsers resolve them
    (``ascii_host``), and a backslash in an http(s) address counts as "/" as it does
    in browsers. IPv6 hosts keep their brackets. Text that is not a url comes back
    stripped and otherwise unchanged."""
    text = url.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        scheme, _, rest = text.partition("://")
        text = f"{scheme}://{rest.replace(chr(92), '/')}"
    try:
        parts = urlsplit(text)
        host = ascii_host(parts.hostname or "")
        port = parts.port
    except ValueError:
        return text
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{host}"
    scheme = parts.scheme.lower()
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def url_host(url: str) -> str:
    """The host of a url in lower case, "" when it has none or cannot be read."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
