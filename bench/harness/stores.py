"""A fresh store per run, and the SQL that checks what a run left in it.

SQLite: a new file under bench/data/runs, deleted afterwards with its WAL. PostgreSQL: a
new database on the server, created here and dropped afterwards (WITH (FORCE): a server
process that did not exit cleanly must not keep it alive).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import psycopg
import sqlalchemy
from psycopg import sql
from sqlalchemy import bindparam, text

from bysecond.store.database import resolve_database_url
from bysecond.store.types import to_micros

TARGETS: Final = ("sqlite", "postgresql")
DEFAULT_POSTGRESQL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"

_ACTIVE_ORGS: Final = text(
    "SELECT count(DISTINCT organization_id) FROM events WHERE time >= :start AND time < :end"
)
_FINALIZED: Final = text(
    "SELECT count(*) FROM invoices WHERE period = :period AND status = 'finalized'"
)
# Organisations with an event in the period and no finalised invoice for it: must be none.
_UNBILLED: Final = text(
    "SELECT count(DISTINCT e.organization_id) FROM events e"
    " WHERE e.time >= :start AND e.time < :end AND NOT EXISTS ("
    "  SELECT 1 FROM invoices i WHERE i.organization_id = e.organization_id"
    "  AND i.period = :period AND i.status = 'finalized')"
)
_NUMBERS: Final = text(
    "SELECT number FROM invoices WHERE period = :period AND status = 'finalized' ORDER BY number"
)
# A document is kept as its head and its rest (bysecond.store.schema.Invoice).
_DOCUMENTS: Final = text(
    "SELECT i.head, b.rest FROM invoices i JOIN invoice_bodies b ON b.invoice_id = i.id"
    " WHERE i.number IN :numbers ORDER BY i.number"
).bindparams(bindparam("numbers", expanding=True))


@dataclass(frozen=True)
class Store:
    kind: str  # "sqlite" or "postgresql"
    url: str  # as bysecond's --db takes it

    def _query(self, statement: Any, **params: Any) -> list[Any]:
        engine = sqlalchemy.create_engine(resolve_database_url(self.url))
        try:
            with engine.connect() as connection:
                return list(connection.execute(statement, params))
        finally:
            engine.dispose()

    def _instant(self, instant: datetime) -> Any:
        # bysecond stores instants as microseconds in SQLite and as timestamptz in
        # PostgreSQL (bysecond.store.types.Instant); raw SQL must compare like for like.
        return to_micros(instant) if self.kind == "sqlite" else instant

    def count_events(self) -> int:
        return int(self._query(text("SELECT count(*) FROM events"))[0][0])

    def active_organizations(self, start: datetime, end: datetime) -> int:
        rows = self._query(_ACTIVE_ORGS, start=self._instant(start), end=self._instant(end))
        return int(rows[0][0])

    def finalized_invoices(self, period: str) -> int:
        return int(self._query(_FINALIZED, period=period)[0][0])

    def unbilled_organizations(self, period: str, start: datetime, end: datetime) -> int:
        rows = self._query(
            _UNBILLED, period=period, start=self._instant(start), end=self._instant(end)
        )
        return int(rows[0][0])

    def organizations(self) -> list[str]:
        return [row[0] for row in self._query(text("SELECT id FROM organizations ORDER BY id"))]

    def finalized_documents(self, period: str, count: int) -> list[bytes]:
        """About `count` finalised invoice documents spread evenly over the numbers: small
        and large organisations alike, without reading every document of the period."""
        numbers = [row[0] for row in self._query(_NUMBERS, period=period)]
        if not numbers:
            return []
        step = max(len(numbers) / count, 1.0)
        chosen = sorted({numbers[int(i * step)] for i in range(min(count, len(numbers)))})
        return [bytes(h) + bytes(r) for h, r in self._query(_DOCUMENTS, numbers=chosen)]


@contextmanager
def fresh_store(kind: str, folder: Path, label: str, admin_url: str) -> Iterator[Store]:
    if kind == "sqlite":
        yield from _sqlite(folder, label)
    elif kind == "postgresql":
        yield from _postgresql(admin_url, label)
    else:
        raise ValueError(f"unknown target {kind!r}; choose among {', '.join(TARGETS)}")


def _sqlite(folder: Path, label: str) -> Iterator[Store]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{label}-{uuid.uuid4().hex[:8]}.sqlite3"
    try:
        yield Store("sqlite", f"sqlite:///{path.resolve()}")
    finally:
        for leftover in _with_journals(path):
            leftover.unlink(missing_ok=True)


def _with_journals(path: Path) -> Sequence[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _postgresql(admin_url: str, label: str) -> Iterator[Store]:
    name = f"bysecond_bench_{label.lower().replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Store("postgresql", admin_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgresql_version(admin_url: str) -> str:
    with psycopg.connect(admin_url, connect_timeout=5) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
