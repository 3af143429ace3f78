"""Reading Sieve scripts for forwarding, and turning external forwarding off.

A ``redirect`` sends the message on to another address; without ``:copy`` the
user's own copy is dropped. Turning external forwarding off replaces each redirect
to an address outside the organisation with ``keep`` (so the mail stays in the
mailbox, as if the rule had never been written) and drops a ``redirect :copy``
outright. Redirects inside the organisation are left alone. The parsing is
sievelib's; the rewritten script is sievelib's rendering of the changed tree, so
comments and layout of the user's script are not kept in it. The original text is
kept by the caller for undo.

Known limit: forwarding by other means (``notify :method "mailto:..."``, the
``vnd.dovecot.pipe`` or ``execute`` extensions, scripts pulled in with
``include``) is not read.
"""

from __future__ import annotations

import io
from typing import Any

from sievelib.commands import KeepCommand, get_command_instance
from sievelib.parser import Parser

from heron.connectors.base import ForwardRule
from heron.domain.names import is_outside
from heron.errors import ConnectorError

# Scripts larger than this are refused: Dovecot's default sieve_max_script_size is 1M.
MAX_SCRIPT = 1024 * 1024


def parse(name: str, text: str) -> list[Any]:
    """The script's command tree; ConnectorError when sievelib cannot read it."""
    if len(text) > MAX_SCRIPT:
        raise ConnectorError(f"sieve script {name!r} is larger than {MAX_SCRIPT} bytes")
    parser = Parser()
    if not parser.parse(text):
        raise ConnectorError(
            f"sieve script {name!r} cannot be read: {getattr(parser, 'error', '?')}"
        )
    return list(parser.result)


def is_external(address: str, org_domains: frozenset[str]) -> bool:
    """A redirect target outside the organisation (see ``is_outside``)."""
    return is_outside(address, org_domains)


def forwards(
    mailbox: str, name: str, text: str, org_domains: frozenset[str], *, active: bool
) -> list[ForwardRule]:
    """Every redirect in the script, as forwarding rules of ``mailbox``.

    A script sievelib cannot parse (it lacks some extensions Dovecot has) is read
    for redirects by their shape, so that it hides none; such rules say so."""
    try:
        commands = _redirects(parse(name, text))
    except ConnectorError as exc:
        return _unparsed_forwards(mailbox, name, text, org_domains, active, str(exc))
    return [
        _rule(
            mailbox,
            name,
            f"{index}",
            _address(c),
            "copy" in c.arguments,
            org_domains,
            active,
        )
        for index, c in enumerate(commands)
    ]


def _unparsed_forwards(
    mailbox: str,
    name: str,
    text: str,
    org_domains: frozenset[str],
    active: bool,
    why: str,
) -> list[ForwardRule]:
    return [
        _rule(
            mailbox,
            name,
            f"unparsed:{index}",
            target,
            keeps,
            org_domains,
            active,
            note=f" (found by its shape: {why})",
        )
        for index, (target, keeps) in enumerate(_redirects_by_shape(text))
    ]


def _rule(
    mailbox: str,
    name: str,
    place: str,
    target: str,
    keeps: bool,
    org_domains: frozenset[str],
    active: bool,
    note: str = "",
) -> ForwardRule:
    """One redirect of script ``name`` as a forwarding rule of ``mailbox``."""
    return ForwardRule(
        mailbox=mailbox,
        ident=f"sieve:{name}:{place}",
        kind="redirect",
        targets=(target,),
        external=(target,) if is_external(target, org_domains) else (),
        enabled=active,
        keeps_copy=keeps,
        description=f"sieve script {name!r}"
        + (" (active)" if active else " (not active)")
        + f": redirect{' :copy' if keeps else ''} to {target}{note}",
    )


def _redirects_by_shape(text: str) -> list[tuple[str, bool]]:
    """Each ``redirect`` command's target and whether it keeps a copy, read from
    Sieve's tokens (comments, quoted strings, ``text:`` literals and tags) without
    knowing the extensions the script uses. A target that is not a string is
    reported as unreadable, which counts as outside the organisation."""
    tokens = list(_tokens(text))
    found = []
    for position, (kind, value) in enumerate(tokens):
        if kind != "word" or value != "redirect":
            continue
        keeps, following = False, tokens[position + 1 :]
        while following and following[0][0] == "tag":
            keeps = keeps or following[0][1] == "copy"
            following = following[1:]
        target = following[0][1] if following and following[0][0] == "string" else "?"
        found.append((target.strip() or "?", keeps))
    return found


def _tokens(text: str) -> list[tuple[str, str]]:
    """Sieve's lexical tokens, as RFC 5228 section 8.1 defines them."""
    found: list[tuple[str, str]] = []
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char.isspace():
            at += 1
        elif char == "#":
            at = _line_end(text, at)
        elif text.startswith("/*", at):
            close = text.find("*/", at + 2)
            at = end if close < 0 else close + 2
        elif char == '"':
            at += 1
            value = []
            while at < end and text[at] != '"':
                if text[at] == "\\" and at + 1 < end:
                    at += 1
                value.append(text[at])
                at += 1
            found.append(("string", "".join(value)))
            at += 1
        elif text[at : at + 5].lower() == "text:":
            at = _line_end(text, at) + 1
            lines = []
            while at < end:
                line_end = _line_end(text, at)
                line = text[at:line_end].rstrip("\r")
                at = line_end + 1
                if line == ".":
                    break
                lines.append(line[1:] if line.startswith("..") else line)
            found.append(("string", "\n".join(lines)))
        elif char == ":":
            word_end = _word_end(text, at + 1)
            found.append(("tag", text[at + 1 : word_end].lower()))
            at = max(word_end, at + 1)
        elif char.isalpha() or char == "_":
            word_end = _word_end(text, at)
            found.append(("word", text[at:word_end].lower()))
            at = word_end
        else:
            found.append(("punct", char))
            at += 1
    return found


def _line_end(text: str, at: int) -> int:
    newline = text.find("\n", at)
    return len(text) if newline < 0 else newline


def _word_end(text: str, at: int) -> int:
    while at < len(text) and (text[at].isalnum() or text[at] == "_"):
        at += 1
    return at


def has_external_forwards(name: str, text: str, org_domains: frozenset[str]) -> bool:
    return any(r.external for r in forwards("", name, text, org_domains, active=True))


def without_external_forwards(
    name: str, text: str, org_domains: frozenset[str]
) -> tuple[str, int]:
    """The script with every external redirect turned off, and how many were."""
    tree = parse(name, text)
    changed = _strip(tree, org_domains)
    if not changed:
        return text, 0
    out = io.StringIO()
    out.write(
        "# heron turned off forwarding outside the organisation in this script; "
        "heron keeps the earlier version, and undoing the action puts it back.\n"
    )
    for command in tree:
        command.tosieve(target=out)
    rendered = out.getvalue()
    parse(name, rendered)  # never upload what does not read back
    return rendered, changed


def _redirects(commands: list[Any]) -> list[Any]:
    found = []
    for command in commands:
        if command.name == "redirect":
            found.append(command)
        found.extend(_redirects(list(command.children)))
    return found


def _address(command: Any) -> str:
    value = command.arguments.get("address", "")
    if isinstance(value, list):
        value = value[0] if value else ""
    text = str(value)
    if text.startswith("text:"):
        # A multi-line literal: its lines up to the lone dot, dot-stuffing undone.
        lines = text[5:].splitlines()[1:]
        if lines and lines[-1].strip() == ".":
            lines = lines[:-1]
        text = "\n".join(line[1:] if line.startswith("..") else line for line in lines)
    elif len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text.strip()


def _strip(commands: list[Any], org_domains: frozenset[str]) -> int:
    """Replace external redirects in place; returns how many were changed."""
    changed = 0
    for position in range(len(commands) - 1, -1, -1):
        command = commands[position]
        if command.name == "redirect" and is_external(_address(command), org_domains):
            if "copy" in command.arguments:
                del commands[position]
            else:
                commands[position] = _keep(command)
            changed += 1
        elif command.children:
            changed += _strip(command.children, org_domains)
    return changed


def _keep(replaced: Any) -> KeepCommand:
    keep = get_command_instance("keep", replaced.parent)
    assert isinstance(keep, KeepCommand)
    return keep
