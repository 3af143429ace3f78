"""Fixtures for the mail layer tests: sample files and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus_location import require_corpus

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


@pytest.fixture
def sample() -> object:
    """Read a sample message from tests/data/mail by its name without suffix."""

    def read(name: str) -> bytes:
        return (DATA / f"{name}.eml").read_bytes()

    return read


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus folder; skips the test when it is absent (fails under CI)."""
    return require_corpus()
