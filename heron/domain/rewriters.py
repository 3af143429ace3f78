"""Link rewriters: the url a mail filter wrapped, recovered without a network call.

Mail filters replace each link with one of their own that checks the target when
clicked. heron judges the target, so it unwraps Microsoft Safe Links, Proofpoint URL
Defense (v1, v2 and v3), Symantec click-time protection, Google redirects and Mimecast
URL Protect. Mimecast links
carry only the target's domain; they unwrap to that domain's root, marked as such.
Nested wrapping (a Safe Link around a Proofpoint link) is undone up to
``MAX_LAYERS`` times.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qs, unquote, urlsplit

MAX_LAYERS = 4

_V3 = re.compile(r"/v3/__(?P<url>.+?)__;(?P<bytes>[A-Za-z0-9_-]*)")
_V3_TOKEN = re.compile(r"\*(\*.)?")
_RUN_LENGTHS = {
    c: i + 2
    for i, c in enumerate(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
}


def unwrap(url: str) -> tuple[str, str]:
    """The url a rewriter wrapped and the rewriter's name; ``(url, "")`` when none did."""
    names: list[str] = []
    for _ in range(MAX_LAYERS):
        target, name = _unwrap_once(url)
        if not name or target == url:
            break
        url = target
        names.append(name)
    return url, " > ".join(names)


def _unwrap_once(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return url, ""
    query = parse_qs(parts.query)
    if host.endswith("safelinks.protection.outlook.com") and "url" in query:
        return query["url"][0], "Microsoft Safe Links"
    if host == "clicktime.symantec.com" and "u" in query:
        return query["u"][0], "Symantec Click-time URL Protection"
    proofpoint = host == "urldefense.proofpoint.com" and "u" in query
    if proofpoint and parts.path.startswith("/v2/url"):
        encoded = query["u"][0].replace("-", "%").replace("_", "/")
        return unquote(encoded), "Proofpoint URL Defense v2"
    if proofpoint and parts.path.startswith("/v1/url"):
        return query["u"][0], "Proofpoint URL Defense v1"
    if host in ("urldefense.com", "urldefense.us"):
        target = _proofpoint_v3(url)
        if target:
            return target, "Proofpoint URL Defense v3"
    if _is_google(host) and parts.path == "/url":
        for key in ("q", "url"):
            if key in query and query[key][0].lower().startswith(("http:", "https:")):
                return query[key][0], "Google redirect"
    if (
        host.endswith("mimecast.com")
        and host.startswith("protect")
        and "domain" in query
    ):
        return f"https://{query['domain'][0]}/", "Mimecast URL Protect (domain only)"
    return url, ""


def _proofpoint_v3(url: str) -> str:
    match = _V3.search(url)
    if match is None:
        return ""
    try:
        padded = match["bytes"] + "=" * (-len(match["bytes"]) % 4)
        replacements = iter(base64.urlsafe_b64decode(padded).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""

    short = False

    def replace(token: re.Match[str]) -> str:
        nonlocal short
        run = token.group(1)
        count = _RUN_LENGTHS.get(run[1], 1) if run else 1
        taken = "".join(next(replacements, "") for _ in range(count))
        short = short or len(taken) < count
        return taken

    target = _V3_TOKEN.sub(replace, match["url"])
    return "" if short else target


def _is_google(host: str) -> bool:
    labels = host.split(".")
    return "google" in labels[:-1] and labels[0] in ("www", "google")
