"""Every storage and service test runs on SQLite and on PostgreSQL.

PostgreSQL: the server at 127.0.0.1:5432 (user postgres, trust), maintenance database
`test`, or $BYSECOND_TEST_POSTGRESQL. Each test session creates its own database and
drops it at the end; each test starts from empty tables. When the server cannot be
reached the PostgreSQL tests are skipped with the reason, except under CI=true, where
they fail: CI must never pass without PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.exc import OperationalError

from bysecond.store.database import Database, open_database
from bysecond.store.prices import seed_default_catalog
from bysecond.store.schema import Base

ADMIN_URL = os.environ.get("BYSECOND_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL is unreachable at {ADMIN_URL}: {str(error).strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(reason)


class PostgreSQLServer:
    """Creates uniquely named databases for this test session, and drops them."""

    def __init__(self) -> None:
        self._admin = _admin()
        self._created: list[str] = []

    def create_database(self) -> str:
        name = f"bysecond_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        return ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        for name in self._created:
            self._admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        self._admin.close()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLServer]:
    server = PostgreSQLServer()
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgresql_url(postgresql_server: PostgreSQLServer) -> str:
    """The session's database, migrated once."""
    url = postgresql_server.create_database()
    open_database(url).close()
    return url


def _empty_postgresql(url: str) -> None:
    """Every table emptied, the default catalog back: a fresh database, in milliseconds.

    TRUNCATE fires no row trigger, so rows the store refuses to delete go too. It waits
    for every other transaction on the database: one an earlier test left open (a
    process it did not end) fails this test with the culprit named, instead of a hang.
    """
    database = open_database(url, apply_migrations=False)
    try:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            try:
                connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            except OperationalError:
                pytest.fail(f"an earlier test left the database in use: {_holders(url)}")
            seed_default_catalog(connection)
    finally:
        database.close()


def _holders(url: str) -> list[tuple[object, ...]]:
    """The other sessions on the test database: pid, state, application, last query."""
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(
            "SELECT pid, state, application_name, left(query, 80) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bysecond.sqlite3'}"
        open_database(url).close()
        return url
    url = request.getfixturevalue("postgresql_url")
    _empty_postgresql(url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    opened = open_database(database_url)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of each kind with nothing in it, not even a schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    server: PostgreSQLServer = request.getfixturevalue("postgresql_server")
    return server.create_database()
