"""Fixtures for the mail layer tests: sample files and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
# The shared corpus lives beside the repository root: <root>/../shared/corpus.
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


@pytest.fixture
def sample() -> object:
    """Read a sample message from tests/data/mail by its name without suffix."""

    def read(name: str) -> bytes:
        return (DATA / f"{name}.eml").read_bytes()

    return read


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus folder; skips the test when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS.resolve()}")
    return CORPUS.resolve()
