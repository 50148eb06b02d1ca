"""Opening the database: URL resolution, engine set-up, migrations, units of work.

Nothing here runs at import time: an engine exists only once `open_database` is called.
The default store is an SQLite file in the user's data folder (ARCHITECTURE.md);
`--db URL` or `BYSECOND_DATABASE_URL` selects another one, `postgresql://...` included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from platformdirs import user_data_dir
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from . import immutability, invoice_hash
from .prices import seed_default_catalog

DATABASE_URL_ENV: Final = "BYSECOND_DATABASE_URL"
MIGRATIONS: Final = Path(__file__).parent / "migrations"
# The schema revision this code works with: the last of migrations/versions (a test
# holds it to Alembic's head). A store already there is opened without loading Alembic,
# which is a tenth of a second of every command and of every worker process.
SCHEMA_REVISION: Final = "0007"
# Any constant works: it only has to be the same for every bysecond process.
MIGRATION_LOCK_ID: Final = 0x62797365636F6E64  # "bysecond"
_BEGIN: Final = "bysecond_sqlite_begin"
SQLITE_BUSY_TIMEOUT_MS: Final = 60_000


class DatabaseError(Exception):
    """The database cannot be used: bad URL, unreachable server, unreadable file."""


def default_database_url() -> str:
    folder = Path(user_data_dir("bysecond", appauthor=False))
    return f"sqlite:///{folder / 'bysecond.sqlite3'}"


def resolve_database_url(url: str | None = None) -> str:
    """The URL to use: the one given, else $BYSECOND_DATABASE_URL, else the default file.

    `postgresql://` and `postgres://` select psycopg 3; a bare path is an SQLite file.
    """
    chosen = url or os.environ.get(DATABASE_URL_ENV) or default_database_url()
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).expanduser().resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen[len(prefix) :]
    return chosen


def printable_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class UnitOfWork:
    """One transaction, rolled back unless `commit()` is called."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def __enter__(self) -> Self:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back what is not committed; unlike rollback() it leaves loaded
        # objects readable (detached) for the caller.
        self.session.close()

    @property
    def connection(self) -> Connection:
        """The Core connection of this transaction, for bulk statements."""
        return self.session.connection()

    def commit(self) -> None:
        self.session.commit()


@dataclass(frozen=True)
class Database:
    url: str
    engine: Engine
    _writes: sessionmaker[Session]
    _reads: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction. On SQLite a writing one takes the write lock at BEGIN, so two
        writers wait for each other (busy_timeout) instead of failing on lock upgrade."""
        return UnitOfWork(self._reads if read_only else self._writes)

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def open_database(
    url: str | None = None, *, apply_migrations: bool = True, pooled: bool = True
) -> Database:
    """Open (and by default migrate) the database at `url` (see `resolve_database_url`).

    `pooled=False` closes an SQLite file's connection at the end of each unit of work
    instead of keeping it for the next: a process that also reads the file through
    another SQLite library must hold no connection of its own meanwhile (batch/load.py).
    """
    resolved = resolve_database_url(url)
    try:
        engine = _create_engine(resolved, pooled=pooled)
    except (ArgumentError, ImportError, ValueError) as error:
        raise DatabaseError(f"cannot use database URL {printable_url(resolved)}: {error}") from None
    immutability.install(engine)
    writer = engine.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
    database = Database(
        resolved,
        engine,
        sessionmaker(writer, expire_on_commit=False),
        sessionmaker(engine, expire_on_commit=False),
    )
    try:
        if apply_migrations:
            migrate(engine)
        else:
            with engine.connect():
                pass
    except DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseError(f"cannot open database {printable_url(resolved)}: {reason}") from None
    return database


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision and seed the default catalog (R5) once.

    Concurrent processes may call this together: PostgreSQL serialises them on an
    advisory lock, SQLite on its write lock.
    """
    with engine.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        if schema_revision(connection) != SCHEMA_REVISION:
            _upgrade(connection)
        seed_default_catalog(connection)


def schema_revision(connection: Connection) -> str | None:
    """The revision the store's schema is at; None for a store never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection) -> None:
    # Imported here: only a store behind the code's revision needs Alembic (see above).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _create_engine(url: str, *, pooled: bool = True) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    if not in_memory and url == default_database_url():
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    if in_memory:
        engine = create_engine(parsed, poolclass=StaticPool)
    else:
        engine = create_engine(parsed) if pooled else create_engine(parsed, poolclass=NullPool)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, record: Any) -> None:
    # SQLAlchemy's recipe for real SQLite transactions: the driver stops issuing its
    # own BEGIN, and `_begin_sqlite_transaction` issues ours (savepoints then work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Larger pages halve the cost of the event indexes; effective on a new file only.
        cursor.execute("PRAGMA page_size = 16384")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed chunk of events survives a power loss, not only a crash.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB
        # Checkpoint every 128 MiB of log rather than 16: an index page that each chunk
        # of events touches is then copied to the database once, not at every commit.
        cursor.execute("PRAGMA wal_autocheckpoint = 8192")
        cursor.execute("PRAGMA journal_size_limit = 67108864")
    finally:
        cursor.close()
    # Issuing a stored draft hashes its document where the rest is (store/invoice_hash.py).
    dbapi_connection.create_function(
        invoice_hash.SQLITE_FUNCTION, 2, invoice_hash.sha256_hex, deterministic=True
    )


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN, "BEGIN"))
