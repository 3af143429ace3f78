"""An API over a heron holding the sample organisation, and a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heron.api.app import create_app
from heron.config import Settings
from heron.engine.service import Heron
from heron.samples import org
from tests.factories import staff


@pytest.fixture
def heron(settings: Settings) -> Iterator[Heron]:
    instance = Heron(settings)
    yield instance
    instance.close()


@pytest.fixture
def tokens(heron: Heron) -> dict[str, str]:
    return staff(heron)


@pytest.fixture
def client(heron: Heron) -> Iterator[TestClient]:
    with TestClient(create_app(heron)) as test_client:
        yield test_client


@pytest.fixture
def organisation(heron: Heron) -> dict[str, Path]:
    maildirs = org.write_maildirs(heron.settings.home / "org")
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(org.INTEL_FEED)
    assert heron.ingest(maildirs.values()).errors == []
    return maildirs


def as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sample(key: str) -> bytes:
    return next(s.raw for s in org.sample_messages() if s.key == key)
