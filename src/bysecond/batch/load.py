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
from urllib.parse import quote

import pyarrow as pa
from sqlalchemy import make_url

from bysecond.store.database import SQLITE_BUSY_TIMEOUT_MS

_SQLITE = """
SELECT organization_id, time AS time_us, type, source, id, document
FROM events
WHERE organization_id >= ? AND organization_id <= ? AND time < ?
"""
# The bounds are the shard's least and greatest ids in the server's own text order (its
# collation may order ids differently from the shards' order): every organisation of
# the shard lies between them, whatever the collation.
_POSTGRESQL = """
WITH shard AS (
    SELECT min(id) AS first, max(id) AS last FROM organizations
    WHERE id = ANY(string_to_array($1, ','))
)
SELECT organization_id, (extract(epoch FROM time) * 1000000)::bigint AS time_us,
       type::text AS type, source, id, document
FROM events, shard
WHERE organization_id >= shard.first AND organization_id <= shard.last
  AND time < to_timestamp(0) + $2 * interval '1 microsecond'
"""


_SCHEMA = pa.schema(
    [
        ("organization_id", pa.string()),
        ("time_us", pa.int64()),
        ("type", pa.string()),
        ("source", pa.string()),
        ("id", pa.string()),
        ("document", pa.string()),
    ]
)


_ROW = pa.struct(list(_SCHEMA))


class ColumnarUnavailable(RuntimeError):
    """A store the columnar path cannot read (an in-memory SQLite database)."""


def columnar_readable(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return bool(parsed.database) and parsed.database != ":memory:"
    return parsed.get_backend_name() == "postgresql"


def shard_events(
    url: str, organizations: Sequence[str], before_micros: int, *, alone: bool = False
) -> pa.Table:
    """Every event of the shard's organisations (ids in Python's order, which is SQLite's)
    with `time < before_micros`: one index range scan on (organization_id, time).

    `alone`: no other connection to an SQLite file is open in this process while it is
    read (see above); ADBC's SQLite then reads it.

    Organisations inside the id range but not in the shard may come along; the uptime
    query joins on the shard's organisations and leaves them out.
    """
    first, last = organizations[0], organizations[-1]
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not columnar_readable(url):
            raise ColumnarUnavailable("an in-memory SQLite database has no file to read")
        if alone:
            return _normalised(_sqlite_adbc(parsed.database, (first, last, before_micros)))
        return _sqlite_rows(parsed.database, (first, last, before_micros))
    else:
        import adbc_driver_postgresql.dbapi as postgresql_adbc

        libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with postgresql_adbc.connect(libpq) as connection, connection.cursor() as cursor:
            # Organisation ids never hold a comma (core.events.ID_PATTERN).
            cursor.execute(_POSTGRESQL, (",".join(organizations), before_micros))
            table = cursor.fetch_arrow_table()
    return _normalised(table)


def _sqlite_adbc(path: str, bounds: tuple[str, str, int]) -> pa.Table:
    import adbc_driver_sqlite.dbapi as sqlite_adbc

    # Read-only, as the other reader: the file is never written through this connection.
    location = f"file:{quote(path)}?mode=ro"
    with sqlite_adbc.connect(location) as connection, connection.cursor() as cursor:
        # A reader of a WAL file waits only while another connection recovers its log.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(_SQLITE, bounds)
        return cursor.fetch_arrow_table()


def _sqlite_rows(path: str, bounds: tuple[str, str, int]) -> pa.Table:
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
    has no types to infer)."""
    if table.num_rows == 0:
        return _SCHEMA.empty_table()
    return table.cast(_SCHEMA)
