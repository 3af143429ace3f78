"""What makes two messages the same campaign although their bytes differ.

A campaign morphs: each copy greets its recipient by name, carries its own tracking
link and a fresh reference number, and its subject changes with the day. Two keys
survive that:

- the subject key: the subject in lower case without reply and forward prefixes,
  bracketed tags, digits or extra spaces, so "RE: [EXT] Invoice 4471 due" and
  "Invoice 9902 due" share one;
- the body fingerprint: a MinHash signature (datasketch) of the body's three-word
  shingles after links, addresses and numbers are replaced by placeholders. Two bodies
  whose shingle sets overlap by ``NEAR_DUPLICATE`` (Jaccard similarity) or more are
  near duplicates. The signature is cut into ``BANDS`` bands; two near duplicates share
  at least one band with high probability (97 % at 0.7, 89 % at 0.6), which lets the
  store find candidates by equality and confirm them by the estimated similarity.

Known limit: a body shorter than ``MIN_SHINGLES`` shingles has no fingerprint (a short
body is too common to mark a campaign), and a body that is only an image has none.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from functools import lru_cache
from typing import Any

from datasketch import MinHash

from heron.mail.facts import MessageFacts
from heron.mail.urls import visible_text

BANDS = 10
ROWS = 6
PERMUTATIONS = BANDS * ROWS
NEAR_DUPLICATE = 0.6
MIN_SHINGLES = 8
# Named, not left to the library's default: stored signatures must stay comparable.
SCHEME = "affine32"
# Text read per body: campaigns say what they are in their first pages.
TEXT_READ = 20_000

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|rv|antw|odp|ynt)\s*(?:\[\d+\])?\s*[:：]\s*|"
    r"\[[^\]]{0,40}\]\s*|\([^)]{0,40}\)\s*)+",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_LINK = re.compile(r"(?:https?://|www\.)\S{1,2000}", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_WORD = re.compile(r"\w{1,40}")


def subject_key(subject: str) -> str:
    """The subject with what varies between copies of a campaign taken out."""
    # Compatibility forms (full-width letters) as their plain letters, and no
    # invisible format characters (zero-width spaces), which would split one key.
    text = "".join(
        c
        for c in unicodedata.normalize("NFKC", subject)
        if unicodedata.category(c) != "Cf"
    )
    text = _PREFIX.sub("", text.strip())
    text = _DIGITS.sub("#", text.lower())
    return _SPACES.sub(" ", text).strip()[:255]


def normalised_words(facts: MessageFacts) -> list[str]:
    """The body's words in lower case, links, addresses and numbers as placeholders.
    The text part is read when there is one, else the HTML's visible text."""
    text = facts.text_body[:TEXT_READ]
    if len(text.split()) < MIN_SHINGLES and facts.html_body:
        text = visible_text(facts.html_body, 200_000)[:TEXT_READ]
    text = _LINK.sub(" xlink ", text)
    text = _ADDRESS.sub(" xaddress ", text)
    text = _DIGITS.sub("0", text.lower())
    return _WORD.findall(text)


def shingles(words: list[str]) -> set[bytes]:
    return {" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)}


@lru_cache(maxsize=1)
def _permutations() -> Any:
    # One set of permutations for every signature, so all signatures compare.
    return MinHash(num_perm=PERMUTATIONS, seed=1, scheme=SCHEME).permutations


def signature(facts: MessageFacts) -> tuple[int, ...]:
    """The body's MinHash signature, or () when the body is too short to have one."""
    found = shingles(normalised_words(facts))
    if len(found) < MIN_SHINGLES:
        return ()
    minhash = MinHash(
        num_perm=PERMUTATIONS, permutations=_permutations(), scheme=SCHEME
    )
    minhash.update_batch(list(found))
    return tuple(int(v) for v in minhash.hashvalues)


def encode(values: tuple[int, ...]) -> str:
    """A signature as text for the database: hex of unsigned 32-bit values."""
    return struct.pack(f">{len(values)}I", *values).hex() if values else ""


def decode(text: str) -> tuple[int, ...]:
    """The signature ``encode`` wrote; () for an empty or damaged one."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return ()
    if len(raw) != PERMUTATIONS * 4:
        return ()
    return struct.unpack(f">{PERMUTATIONS}I", raw)


def bands(values: tuple[int, ...]) -> list[int]:
    """One signed 63-bit key per band: band number and its rows, hashed."""
    keys = []
    for band in range(BANDS if values else 0):
        rows = values[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(
            struct.pack(f">I{ROWS}I", band, *rows), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """The estimated Jaccard similarity of two bodies from their signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)
