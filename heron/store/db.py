"""Opening the database and bringing its schema up to date with Alembic."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import (
    ArgumentError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from heron.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """One database: its engine and a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _create_engine(url)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"HERON_DATABASE_URL: {_redacted(url)} cannot be used: {exc}"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # The tables a bulk ingest grows, whose statistics the query planner needs.
    GROWN_TABLES = (
        "messages",
        "copies",
        "message_urls",
        "message_files",
        "message_bands",
        "message_domains",
        "events",
    )

    def refresh_statistics(self) -> None:
        """Have the database look at its tables again after many rows arrived.
        PostgreSQL plans by its statistics, and until autovacuum catches up after a
        bulk load it may scan a table an index would have answered."""
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.execute(text(f"ANALYZE {', '.join(self.GROWN_TABLES)}"))
            else:
                connection.execute(text("PRAGMA optimize"))

    def migrate(self) -> None:
        """Apply every migration the database does not have yet."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._migration_lock(), self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Held until this transaction ends: one process migrates at a time.
                    connection.execute(text("SELECT pg_advisory_xact_lock(7406238115)"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(
                f"HERON_DATABASE_URL: cannot reach or migrate {_redacted(self.url)}: {reason}"
            ) from None

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """For SQLite, a lock file beside the database, so that two processes starting
        on a fresh file do not both create the tables."""
        path = self.url.removeprefix("sqlite:///")
        if not self.url.startswith("sqlite") or not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate-lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"HERON_DATABASE_URL: cannot create the folder of {path} ({exc.strerror})"
                ) from None
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL keeps the database whole through a crash; a power cut may
    # lose the last commits. FULL would sync the disk on every copy ingested.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache per connection (SQLite's default is 2 MiB): the index
    # tables take inserts at random places, and at a million copies a small cache
    # turns each into a read from disk.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _redacted(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
