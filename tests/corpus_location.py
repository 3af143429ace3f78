"""Where the shared corpus is, and what a test does when it is not there.

The corpus sits beside the repository (``../shared/corpus``); ``HERON_TEST_CORPUS``
points elsewhere. Without it, corpus tests skip, except when ``CI`` is set: CI has the
corpus, so there its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(
    os.environ.get("HERON_TEST_CORPUS", REPO.parent / "shared" / "corpus")
).resolve()


def require_corpus(*, module: bool = False) -> Path:
    """The corpus folder, or a skip (a failure under CI) that says where it was sought."""
    if CORPUS.is_dir():
        return CORPUS
    reason = f"no corpus at {CORPUS} (set HERON_TEST_CORPUS to point at one)"
    if os.environ.get("CI"):
        pytest.fail(
            f"CI is set, so the corpus must be present: {reason}", pytrace=False
        )
    pytest.skip(reason, allow_module_level=module)
    raise AssertionError("unreachable")
