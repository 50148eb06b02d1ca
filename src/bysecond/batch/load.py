"""A shard's events as Arrow columns, read from the store in one range scan.

PostgreSQL is read through ADBC (COPY in binary, written into Arrow arrays in C), so
the rows never become Python objects. SQLite is read through ADBC too, in a process
that holds no other connection to the file (`alone`): ADBC's driver carries its own
SQLite library, and the POSIX locks that guard a live WAL database belong to the
process, not to the library. Closing the file in one library drops the locks the
other holds on it, so a process keeping a connection of Python's sqlite3 module open
(the main process, a server) reads through that module instead, three times slower:
an object per value. Instants come out as microseconds since the epoch on both stores
(R1: kept to the microsecond, in UTC).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from sqlalchemy import make_url

from bysecond.store.database import SQLITE_BUSY_TIMEOUT_MS

# A stop is billed from its instance (the event's resource) and its instant: its
# document stays in the store, a third of the bytes a shard would otherwise carry.
_SQLITE = """
SELECT organization_id, time AS time_us, type, source, id, resource_id,
       CASE WHEN type = 'instance.stopped' THEN '' ELSE document END AS document
FROM events
WHERE organization_id >= ? AND organization_id <= ? AND time >= ? AND time < ?
"""
# The shard is given to the server as two settings of the session, not as parameters:
# ADBC sends the rows of a query without parameters by binary COPY, at two thirds of
# the time the extended protocol takes (measured on a shard of 107,000 events).
_POSTGRESQL_SHARD = """
SELECT set_config('bysecond.shard_organizations', $1, false),
       set_config('bysecond.shard_since_us', $2, false),
       set_config('bysecond.shard_before_us', $3, false)
"""
# The bounds are the shard's least and greatest ids in the server's own text order (its
# collation may order ids differently from the shards' order): every organisation of
# the shard lies between them, whatever the collation. Instants are sent as they are
# stored (binary timestamptz: microseconds, which ADBC turns into an Arrow timestamp in
# C, cast to plain microseconds by `_normalised`). Computing the microseconds in SQL
# went through numeric arithmetic for every row: M's 10 shards (about 107,000 events
# each) took 2.32-2.37 s to read that way, 1.40-1.55 s now.
_POSTGRESQL = """
WITH shard AS (
    SELECT min(id) AS first, max(id) AS last FROM organizations
    WHERE id = ANY(string_to_array(current_setting('bysecond.shard_organizations'), ','))
)
SELECT organization_id, time AS time_us,
       type::text AS type, source, id, resource_id,
       CASE WHEN type = 'instance.stopped' THEN '' ELSE document END AS document
FROM events, shard
WHERE organization_id >= shard.first AND organization_id <= shard.last
  AND time >= to_timestamp(0)
      + current_setting('bysecond.shard_since_us')::bigint * interval '1 microsecond'
  AND time < to_timestamp(0)
      + current_setting('bysecond.shard_before_us')::bigint * interval '1 microsecond'
"""


_SCHEMA = pa.schema(
    [
        ("organization_id", pa.string()),
        ("time_us", pa.int64()),
        ("type", pa.string()),
        ("source", pa.string()),
        ("id", pa.string()),
        ("resource_id", pa.string()),
        ("document", pa.string()),  # empty for instance.stopped
    ]
)


_ROW = pa.struct(list(_SCHEMA))
# Before any instant the store can hold (year 1 on both stores), in microseconds.
_FIRST_MICROS = -62_135_596_800_000_000


class ColumnarUnavailable(RuntimeError):
    """A store the columnar path cannot read (an in-memory SQLite database)."""


def columnar_readable(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return bool(parsed.database) and parsed.database != ":memory:"
    return parsed.get_backend_name() == "postgresql"


class EventReader:
    """Reads shards' events from one store. Its PostgreSQL connection is kept from
    shard to shard; an SQLite file is opened for each shard, so that no connection of
    ADBC's library outlives the read (see above).

    `alone`: no other connection to an SQLite file is open in this process while it is
    read; ADBC's SQLite then reads it, else Python's sqlite3.
    """

    def __init__(self, url: str, *, alone: bool = False) -> None:
        self._url = make_url(url)
        self._alone = alone
        self._postgresql: Any = None
        if self._url.get_backend_name() == "sqlite" and not columnar_readable(url):
            raise ColumnarUnavailable("an in-memory SQLite database has no file to read")

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._postgresql is not None:
            self._postgresql.close()
            self._postgresql = None

    def read(
        self, organizations: Sequence[str], before_micros: int, since_micros: int | None = None
    ) -> pa.Table:
        """Every event of the shard's organisations (ids in Python's order, which is
        SQLite's) with `since_micros <= time < before_micros` (from the first event when
        `since_micros` is None): one index range scan on (organization_id, time).

        Organisations inside the id range but not in the shard may come along; the
        uptime query joins on the shard's organisations and leaves them out.
        """
        since = _FIRST_MICROS if since_micros is None else since_micros
        bounds = (organizations[0], organizations[-1], since, before_micros)
        if self._url.get_backend_name() == "sqlite":
            path = self._url.database or ""
            if self._alone:
                return _normalised(_sqlite_adbc(path, bounds))
            return _sqlite_rows(path, bounds)
        if self._postgresql is None:
            import adbc_driver_postgresql.dbapi as postgresql_adbc

            libpq = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._postgresql = postgresql_adbc.connect(libpq, autocommit=True)
        with self._postgresql.cursor() as cursor:
            # Organisation ids never hold a comma (core.events.ID_PATTERN).
            cursor.execute(
                _POSTGRESQL_SHARD, (",".join(organizations), str(since), str(before_micros))
            )
            cursor.fetchall()
            cursor.execute(_POSTGRESQL)
            return _normalised(cursor.fetch_arrow_table())


def shard_events(
    url: str,
    organizations: Sequence[str],
    before_micros: int,
    since_micros: int | None = None,
    *,
    alone: bool = False,
) -> pa.Table:
    """`EventReader.read` of one shard, with a connection of its own."""
    with EventReader(url, alone=alone) as reader:
        return reader.read(organizations, before_micros, since_micros)


def _sqlite_adbc(path: str, bounds: tuple[str, str, int, int]) -> pa.Table:
    import adbc_driver_sqlite.dbapi as sqlite_adbc

    # Read-only, as the other reader: the file is never written through this connection.
    location = f"file:{quote(path)}?mode=ro"
    with sqlite_adbc.connect(location) as connection, connection.cursor() as cursor:
        # A reader of a WAL file waits only while another connection recovers its log.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(_SQLITE, bounds)
        return cursor.fetch_arrow_table()


def _sqlite_rows(path: str, bounds: tuple[str, str, int, int]) -> pa.Table:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute(_SQLITE, bounds).fetchall()
    finally:
        connection.close()
    if not rows:
        return _SCHEMA.empty_table()
    # The rows as one array of structs, split into columns by Arrow: half the time of
    # transposing them in Python first.
    return pa.Table.from_struct_array(pa.array(rows, type=_ROW))


def _normalised(table: pa.Table) -> pa.Table:
    """The same column types whichever store the rows came from (an empty SQLite result
    has no types to infer; PostgreSQL's instants are timestamps, in microseconds, which
    the cast turns into their plain count)."""
    if table.num_rows == 0:
        return _SCHEMA.empty_table()
    return table.cast(_SCHEMA)
