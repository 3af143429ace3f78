"""Lookalike domains: how a domain imitates one it is not.

``resemblance(candidate, protected)`` compares two domains and names the trick when
``candidate`` imitates ``protected``: confusable characters (Cyrillic ``а`` for Latin
``a``, also behind punycode), a letter added, dropped, swapped or replaced (a slip of
the keyboard or ``rn`` for ``m``), an added or dropped hyphen, the same name under
another top-level domain, and the protected domain written into the subdomain of
another (``paypal.com.account-check.test``). Comparison is on the registrable part
(organisational domain), so ``login.example.org`` is ``example.org`` itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from heron.domain.names import organisational_domain

KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
# Sequences that read as one letter in most mail fonts.
DIGRAPHS = {"rn": "m", "vv": "w", "cl": "d", "nn": "m"}
DIGIT_LETTERS = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t"}
)


@dataclass(frozen=True)
class Resemblance:
    """``candidate`` imitates ``protected`` by ``trick`` (a stable code)."""

    candidate: str
    protected: str
    trick: str
    detail: str


def resemblance(candidate: str, protected: str) -> Resemblance | None:
    """How ``candidate`` imitates ``protected``, or None when it does not."""
    candidate, protected = candidate.lower().rstrip("."), protected.lower().rstrip(".")
    own, theirs = organisational_domain(candidate), organisational_domain(protected)
    if not own or not theirs or own == theirs:
        return None
    name, suffix = _split(own)
    their_name, their_suffix = _split(theirs)
    if len(their_name) < 4:
        return None  # three-letter names (ups, dhl) sit a letter away from everything
    shown = skeleton(unicode_name(name))
    if shown != name and shown == their_name:
        return Resemblance(
            candidate,
            protected,
            "confusable",
            f"{unicode_name(name)!r} reads as {their_name}",
        )
    if name == their_name and suffix != their_suffix:
        return Resemblance(
            candidate,
            protected,
            "tld-swap",
            f"{theirs} under .{suffix} instead of .{their_suffix}",
        )
    if name.replace("-", "") == their_name.replace("-", ""):
        return Resemblance(
            candidate, protected, "hyphen", f"{own} adds or drops a hyphen"
        )
    if _normalised(name) == _normalised(their_name):
        return Resemblance(
            candidate, protected, "lookalike-letters", f"{own} swaps look-alike letters"
        )
    trick = _one_edit(name, their_name)
    if trick and len(their_name) >= 5:
        return Resemblance(
            candidate, protected, trick, f"{own} is one letter from {theirs}"
        )
    if _in_subdomain(candidate, own, theirs, their_name):
        return Resemblance(
            candidate,
            protected,
            "subdomain",
            f"{candidate} puts {theirs} in front of {own}",
        )
    return None


def unicode_name(label: str) -> str:
    """A label as a reader sees it: punycode (``xn--``) decoded."""
    if not label.startswith("xn--") and ".xn--" not in label:
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def skeleton(text: str) -> str:
    """``text`` with every character replaced by the ASCII letter it looks like."""
    return "".join(_ascii_twin(ch) for ch in text)


@lru_cache(maxsize=4096)
def _ascii_twin(ch: str) -> str:
    if ch.isascii():
        return ch
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"])
    for entry in found or []:
        for glyph in entry["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isalnum():
                return str(glyph["c"]).lower()
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain.lower() or ch


def _split(domain: str) -> tuple[str, str]:
    name, _, suffix = domain.partition(".")
    return name, suffix


def _normalised(name: str) -> str:
    text = name.translate(DIGIT_LETTERS)
    for pair, letter in DIGRAPHS.items():
        text = text.replace(pair, letter)
    return text


def _one_edit(name: str, target: str) -> str:
    """The kind of single edit that turns ``target`` into ``name``, or ""."""
    if abs(len(name) - len(target)) > 1 or name == target:
        return ""
    if len(name) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(name, target, strict=True)) if a != b]
        if len(diffs) == 1:
            a, b = name[diffs[0]], target[diffs[0]]
            return "keyboard-slip" if _adjacent(a, b) else "letter-replaced"
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            if name[i] == target[i + 1] and name[i + 1] == target[i]:
                return "letters-swapped"
        return ""
    longer, shorter = (name, target) if len(name) > len(target) else (target, name)
    for i in range(len(longer)):
        if longer[:i] + longer[i + 1 :] == shorter:
            return "letter-added" if longer is name else "letter-dropped"
    return ""


def _adjacent(a: str, b: str) -> bool:
    for row in KEYBOARD_ROWS:
        if a in row and b in row and abs(row.index(a) - row.index(b)) == 1:
            return True
    return False


def _in_subdomain(candidate: str, own: str, theirs: str, their_name: str) -> bool:
    prefix = candidate[: -len(own)].rstrip(".") if candidate.endswith(own) else ""
    if not prefix:
        return False
    labels = prefix.replace("-", ".").split(".")
    dotted = prefix.replace("-", ".")
    return theirs in dotted or (their_name in labels and len(their_name) >= 5)
