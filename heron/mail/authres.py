"""Authentication-Results headers (RFC 8601), read leniently.

Real headers from Microsoft, Google and small MTAs bend the grammar: comments
anywhere, missing semicolons, non-standard keys such as ``action=none``. The
reader drops comments, splits the rest into tokens and starts a new method result
at every ``key=value`` whose key has no dot, except the keys known to belong to a
result (``reason``, ``action``).
"""

from __future__ import annotations

import re

from heron.mail.facts import AuthenticationResults, AuthResult

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<semi>;)
      | (?P<key>[^\s;="]+)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"?|[^\s;"]*)
      | (?P<quoted>"(?:[^"\\]|\\.)*"?)
      | (?P<word>[^\s;"=]+)
      | (?P<junk>\S)
    )""",
    re.VERBOSE,
)
# Keys without a dot that belong to the current result instead of starting one.
_RESULT_KEYS = {"reason", "action"}


def strip_comments(value: str, *, mask: bool = False) -> str:
    """Drop RFC 5322 comments (nested parentheses), keeping quoted strings intact.

    With ``mask`` each comment character becomes a space instead, so positions in
    the result match positions in ``value``.
    """
    if "(" not in value:
        return value
    kept: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        inside = depth > 0
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == "(":
            depth += 1
            inside = True
        elif char == ")" and depth:
            depth -= 1
            inside = True
        elif depth == 0:
            quoted = char == '"'
        if not inside:
            kept.append(char)
        elif mask or (char == ")" and depth == 0):
            kept.append(" ")
    return "".join(kept)


def parse_authentication_results(value: str, index: int) -> AuthenticationResults:
    """Read one Authentication-Results header value (already unfolded)."""
    # Runs of whitespace become one space first: the tokenizer tries every position,
    # and a long run would be scanned again from each of them.
    tokens = list(_TOKEN.finditer(" ".join(strip_comments(value).split())))
    authserv_id, start = _authserv_id(tokens)
    results: list[AuthResult] = []
    current: _Pending | None = None
    for match in tokens[start:]:
        key = match.group("key")
        if key is None:
            continue
        name = key.lower()
        text = _unquote(match.group("value") or "")
        if "." in name and current is not None:
            current.properties[name] = text
        elif name in _RESULT_KEYS and current is not None:
            current.set_extra(name, text)
        elif "." not in name:
            if current is not None:
                results.append(current.freeze())
            current = _Pending(name.split("/", 1)[0], text.lower())
    if current is not None:
        results.append(current.freeze())
    return AuthenticationResults(index, authserv_id, tuple(results), value)


def _authserv_id(tokens: list[re.Match[str]]) -> tuple[str, int]:
    """The authserv-id and the index of the first token after it (and its version)."""
    if not tokens:
        return "", 0
    first = tokens[0]
    found = first.group("word") or first.group("quoted")
    if found is None:
        return "", 0
    position = 1
    if position < len(tokens) and (tokens[position].group("word") or "").isdigit():
        position += 1
    return _unquote(found).lower(), position


def _unquote(text: str) -> str:
    if text.startswith('"'):
        text = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
        return re.sub(r"\\(.)", r"\1", text)
    return text


class _Pending:
    """A result being collected, before it is frozen into an ``AuthResult``."""

    def __init__(self, method: str, result: str) -> None:
        self.method = method
        self.result = result
        self.properties: dict[str, str] = {}
        self.reason = ""

    def set_extra(self, name: str, text: str) -> None:
        if name == "reason":
            self.reason = text
        else:
            self.properties[name] = text

    def freeze(self) -> AuthResult:
        return AuthResult(self.method, self.result, self.properties, self.reason)
