"""Fixtures shared by every test: settings in a temporary HERON_HOME, and a store on
SQLite and on PostgreSQL.

PostgreSQL tests use the server at HERON_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), each in a schema of its own. They
skip with the reason when no server answers, unless CI is set: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.config import Settings, load_settings
from tests.corpus_location import require_corpus
from tests.maillab import Lab, require_lab

POSTGRES_URL = os.environ.get(
    "HERON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def corpus() -> Path:
    """The shared corpus beside the repository; skips cleanly when it is absent."""
    return require_corpus()


def _postgres_schema_url() -> Iterator[str]:
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]')")
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        _unavailable(f"no PostgreSQL at {POSTGRES_URL}: {exc}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so PostgreSQL must be reachable: {reason}")
    pytest.skip(reason)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'heron.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings for a heron whose home is a temporary folder."""
    for name in list(os.environ):
        if name.startswith("HERON_") and name != "HERON_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HERON_HOME", str(home))
    return load_settings(
        home=home,
        database_url=database_url,
        operator="tester",
        org_domains=["example.org"],
        workers=2,
    )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One private Dovecot and Postfix for the whole run (see tests/maillab.py)."""
    require_lab()
    place = Lab(tmp_path_factory.mktemp("maillab"))
    place.start()
    yield place
    place.stop()
