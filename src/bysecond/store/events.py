"""The event store: bulk writes keyed by (source, id) (R3), and billing's reads.

Writes take rows already validated and canonicalised (`services.event_rows`) and go
through the driver directly: SQLite's executemany, PostgreSQL's binary COPY. Values are
always bound or copied, never spliced into SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, Final

import orjson
from sqlalchemy import Connection, exists, func, select, text

from bysecond.core.events import Event, stored_event

from .schema import Organization, StoredEvent

# source, id, type, time (µs since the epoch), organization_id, resource_id,
# payload_hash (sha256 of the document), received_at (µs), document (canonical JSON).
EventRow = tuple[str, str, str, int, str, str, bytes, int, str]
EventKey = tuple[str, str]
_KEY: Final = itemgetter(0, 1)

_SQLITE_INSERT: Final = (
    "INSERT INTO events (source, id, type, time, organization_id, resource_id, payload_hash,"
    " received_at, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source, id) DO NOTHING"
)
_SQLITE_LAST_SEQ: Final = "SELECT max(seq) FROM events"  # seq is the rowid: one lookup
_SQLITE_STORED_HASHES: Final = (
    "SELECT e.source, e.id, e.payload_hash FROM json_each(?) AS k"
    " JOIN events AS e ON e.source = json_extract(k.value, '$[0]')"
    " AND e.id = json_extract(k.value, '$[1]') WHERE e.seq <= ?"
)
_ANY_SEQ: Final = 2**63 - 1

# PostgreSQL's binary timestamptz counts microseconds from 2000-01-01 UTC: a row's
# instants (µs from 1970) are sent shifted by this as plain int8, with no datetime
# object made per instant.
_PG_EPOCH_SHIFT: Final = 946_684_800_000_000
_PG_COPY_TYPES: Final = ("text", "text", "text", "int8", "text", "text", "bytea", "int8", "text")
# A chunk of new events is copied straight into the table (binary COPY, psycopg's C
# dumpers). If one is already stored, that fails, and the chunk goes through a staging
# table and INSERT ... ON CONFLICT DO NOTHING instead.
_PG_COPY: Final = (
    "COPY events (source, id, type, time, organization_id, resource_id, payload_hash,"
    " received_at, document) FROM STDIN (FORMAT BINARY)"
)
_PG_STAGE: Final = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS ingest_events (source text, id text, type text,"
    " time timestamptz, organization_id text, resource_id text, payload_hash bytea,"
    " received_at timestamptz, document text) ON COMMIT DELETE ROWS"
)
_PG_COPY_STAGED: Final = (
    "COPY ingest_events (source, id, type, time, organization_id, resource_id, payload_hash,"
    " received_at, document) FROM STDIN (FORMAT BINARY)"
)
_PG_UNSTAGE: Final = "DELETE FROM ingest_events"  # rows of an earlier call, if any
_PG_INSERT_STAGED: Final = (
    "INSERT INTO events (source, id, type, time, organization_id, resource_id, payload_hash,"
    " received_at, document) SELECT source, id, type, time, organization_id, resource_id,"
    ' payload_hash, received_at, document FROM ingest_events ORDER BY source COLLATE "C",'
    ' id COLLATE "C" ON CONFLICT (source, id) DO NOTHING RETURNING source, id'
)
_PG_STORED_HASHES: Final = (
    "SELECT e.source, e.id, e.payload_hash FROM events AS e"
    " JOIN unnest(%s::text[], %s::text[]) AS k (source, id)"
    " ON e.source = k.source AND e.id = k.id WHERE e.seq <= %s"
)


def insert_new_events(connection: Connection, rows: Sequence[EventRow]) -> dict[EventKey, bytes]:
    """Insert the rows whose (source, id) is not stored yet, in the caller's transaction;
    returns the stored payload hash of every row left out because its key was stored.

    The rows must have distinct keys. A chunk of new events, the usual case, costs one
    statement; a chunk holding events stored before (a file sent again, a platform that
    delivers twice) is not written twice: only the keys left out are looked up.

    On SQLite the transaction holds the write lock (BEGIN IMMEDIATE), so a row left out
    is one stored before the insert: its `seq` is at most the last one seen then.
    On PostgreSQL a row another transaction is inserting makes this one wait for it,
    then leaves the row out if that transaction committed. Rows go in (source, id) order,
    the same for every writer (Python's and the "C" collation's order of text agree),
    so that writers of overlapping batches wait for each other without deadlock.
    """
    if not rows:
        return {}
    if connection.dialect.name == "sqlite":
        last = connection.exec_driver_sql(_SQLITE_LAST_SEQ).scalar() or 0
        inserted = connection.exec_driver_sql(_SQLITE_INSERT, list(rows)).rowcount
        if inserted == len(rows):
            return {}
        keys = [(row[0], row[1]) for row in rows]
        left_out = stored_hashes(connection, keys, stored_through=last)
        _check_left_out(len(rows) - inserted, left_out)
        return left_out
    from psycopg import errors  # here: a store on SQLite never loads the PostgreSQL driver

    ordered = sorted(rows, key=_KEY)
    driver: Any = connection.connection.driver_connection
    direct = connection.begin_nested()
    try:
        _copy(driver, _PG_COPY, ordered)
    except (errors.UniqueViolation, errors.DeadlockDetected):
        direct.rollback()
    else:
        direct.commit()
        return {}
    connection.exec_driver_sql(_PG_STAGE)
    connection.exec_driver_sql(_PG_UNSTAGE)
    _copy(driver, _PG_COPY_STAGED, ordered)
    with driver.cursor() as cursor:
        cursor.execute(_PG_INSERT_STAGED)
        inserted = {(source, event_id) for source, event_id in cursor.fetchall()}
    if len(inserted) == len(ordered):
        return {}
    left_out = stored_hashes(connection, [key for key in map(_KEY, ordered) if key not in inserted])
    _check_left_out(len(ordered) - len(inserted), left_out)
    return left_out


def _check_left_out(count: int, found: dict[EventKey, bytes]) -> None:
    if len(found) != count:  # nothing else explains a row left out: stop, write nothing
        raise RuntimeError(
            f"{count} event(s) were left out on insert but {len(found)} are stored before"
        )


def _copy(driver: Any, statement: str, rows: Sequence[EventRow]) -> None:
    shift = _PG_EPOCH_SHIFT
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(_PG_COPY_TYPES)
        for source, event_id, kind, time, org, resource, digest, received, document in rows:
            copy.write_row(
                (
                    source,
                    event_id,
                    kind,
                    time - shift,
                    org,
                    resource,
                    digest,
                    received - shift,
                    document,
                )
            )


def stored_hashes(
    connection: Connection, keys: Sequence[EventKey], *, stored_through: int = _ANY_SEQ
) -> dict[EventKey, bytes]:
    """The payload hash stored under each of `keys` that is stored, with a `seq` of at
    most `stored_through`."""
    if not keys:
        return {}
    if connection.dialect.name == "sqlite":
        packed = orjson.dumps(keys).decode()
        result = connection.exec_driver_sql(_SQLITE_STORED_HASHES, (packed, stored_through))
    else:
        result = connection.exec_driver_sql(
            _PG_STORED_HASHES, ([s for s, _ in keys], [i for _, i in keys], stored_through)
        )
    return {(source, event_id): bytes(digest) for source, event_id, digest in result}


def events_for(
    connection: Connection,
    organization_id: str,
    before: datetime,
    *,
    since: datetime | None = None,
) -> list[Event]:
    """Every stored event of an organisation with `since <= time < before`, in R3's order.

    Documents are read back through `stored_event`: billing gets exactly the `Event`s
    ingestion validated, without checking them again.
    """
    query = (
        select(StoredEvent.document)
        .where(StoredEvent.organization_id == organization_id, StoredEvent.time < before)
        .order_by(StoredEvent.time, StoredEvent.seq)
    )
    if since is not None:
        query = query.where(StoredEvent.time >= since)
    events = [stored_event(orjson.loads(document)) for document in connection.scalars(query)]
    events.sort(key=lambda event: event.sort_key)  # R3: by time, ends before starts
    return events


def organizations_with_events(connection: Connection, start: datetime, end: datetime) -> list[str]:
    """The organisations having at least one event with `start <= time < end`, sorted.

    One probe of the (organization_id, time) index per organisation, not a table scan.
    """
    has_event = exists().where(
        StoredEvent.organization_id == Organization.id,
        StoredEvent.time >= start,
        StoredEvent.time < end,
    )
    query = select(Organization.id).where(has_event).order_by(Organization.id)
    return list(connection.scalars(query))


def events_before(connection: Connection, ends: Mapping[str, datetime]) -> dict[str, int]:
    """How many events each organisation has with `time < ends[organisation]`.

    Events are only ever added (R3: never changed, never deleted), so a count that has
    not moved means no event of the organisation before that instant came or went. One
    query per distinct instant (one per time zone), counting each organisation in its
    own probe of the (organization_id, time) index: the plan stays an index scan even
    on a freshly loaded PostgreSQL table that has no statistics yet, where a list of
    organisations turns into a scan of the whole table.
    """
    if connection.dialect.name == "postgresql":
        # The planner's estimate for tables without statistics would have these small
        # probes compiled to machine code first, which takes longer than the probes.
        connection.execute(text("SET LOCAL jit = off"))
    by_end: dict[datetime, list[str]] = defaultdict(list)
    for organization_id, end in ends.items():
        by_end[end].append(organization_id)
    counts = dict.fromkeys(ends, 0)
    for end, organizations in by_end.items():
        count = (
            select(func.count())
            .where(StoredEvent.organization_id == Organization.id, StoredEvent.time < end)
            .scalar_subquery()
        )
        query = select(Organization.id, count).where(Organization.id.in_(organizations))
        for organization_id, found in connection.execute(query):
            counts[organization_id] = int(found)
    return counts


def count_events(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(StoredEvent)).scalar_one())
