"""A shard's events read from the store (batch/load.py): an SQLite file, by either
reader, and PostgreSQL.

Worker processes read through ADBC's own SQLite library, which is safe only while the
process holds no connection of Python's sqlite3 module to the file: the POSIX locks
guarding a live WAL database belong to the process, and closing the file in one library
drops those the other holds. Both conditions are tested here: the two readers return
the same rows from a file another process is writing, and a worker's store keeps no
file open between its units of work. PostgreSQL's reader gives the same columns and
rows, instants to the microsecond (R1), as SQLite's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bysecond.batch.load import EventReader, shard_events
from bysecond.batch.run import rate_shard
from bysecond.batch.uptime import UptimeRater
from bysecond.services.contexts import billing_context
from bysecond.settings import Settings
from bysecond.store.database import open_database

from .cli_runner import run
from .test_batch_billing import start, stop, write

BEFORE = 1_793_491_200_000_000  # 2026-11-01T00:00:00Z in microseconds

# Another process appends an event and keeps its connection open: the row is then in
# the write-ahead log only, not yet in the database file.
WRITER = textwrap.dedent(
    """
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    row = connection.execute("SELECT * FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    names = [d[0] for d in connection.execute("SELECT * FROM events LIMIT 0").description]
    values = dict(zip(names, row))
    values.update(seq=values["seq"] + 1, id="in-the-log-only", time=values["time"] + 1)
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    connection.execute(f"INSERT INTO events ({columns}) VALUES ({marks})", list(values.values()))
    print("written", flush=True)
    sys.stdin.readline()
    """
)


def _month(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    events = [
        start("org-l1", "2026-10-02T10:00:00.5Z", "i-1", application_name="Shop"),
        stop("org-l1", "2026-10-02T11:00:00Z", "i-1"),
        start("org-l2", "2026-10-03T08:00:00Z", "i-2", "L", role="build"),
        stop("org-l2", "2026-10-03T09:30:00Z", "i-2"),
    ]
    run("ingest", str(write(tmp_path / "month.jsonl", events)), db=url)
    return url


def test_both_readers_read_the_same_rows_from_a_file_being_written(tmp_path: Path) -> None:
    url = _month(tmp_path)
    path = url.removeprefix("sqlite:///")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "written"
        assert os.path.getsize(path + "-wal") > 0
        python = shard_events(url, ["org-l1", "org-l2"], BEFORE)
        adbc = shard_events(url, ["org-l1", "org-l2"], BEFORE, alone=True)
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=30)
    assert adbc.schema == python.schema
    assert adbc.sort_by("id").equals(python.sort_by("id"))
    assert adbc.num_rows == 5
    assert "in-the-log-only" in adbc.column("id").to_pylist()
    empty = shard_events(url, ["org-none"], BEFORE, alone=True)
    assert empty.num_rows == 0 and empty.schema == python.schema


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_a_workers_store_keeps_no_file_open_between_units_of_work(tmp_path: Path) -> None:
    url = _month(tmp_path)
    path = Path(url.removeprefix("sqlite:///")).resolve()
    database = open_database(url, apply_migrations=False, pooled=False)
    try:
        with database.unit_of_work(read_only=True) as uow:
            context = billing_context(
                uow.session, Settings.from_environment().seller, datetime(2026, 11, 2, tzinfo=UTC)
            )
        with UptimeRater(threads=1) as rater, EventReader(url, alone=True) as reader:
            rated = rate_shard(
                database, context, "2026-10", ["org-l1", "org-l2"], rater=rater, reader=reader
            )
        assert set(rated.invoices) == {"org-l1", "org-l2"}
        assert not _open_files_of(path)
    finally:
        database.close()


def _open_files_of(database: Path) -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(database)):
            found.append(target)
    return found


@pytest.mark.postgres
def test_postgresql_gives_the_rows_and_instants_sqlite_gives(
    tmp_path: Path, postgresql_server: Any
) -> None:
    """The same events in both stores read back alike: each instant to the microsecond,
    before and after 1970, and the shard's bound exclusive (R1)."""
    postgresql_url = postgresql_server.create_database()
    events = [
        start("org-m1", "2026-10-02T10:00:00.000001Z", "i-1", application_name="Shop"),
        stop("org-m1", "2026-10-31T23:59:59.999999Z", "i-1"),  # 1 µs before the bound
        start("org-m2", "1969-12-31T23:59:59.5Z", "i-2", role="build"),
        stop("org-m2", "2026-11-01T00:00:00Z", "i-2"),  # at the bound: not read
        start("org-m3", "2026-10-03T08:00:00Z", "i-3"),  # outside the shard's ids
    ]
    month = write(tmp_path / "month.jsonl", events)
    sqlite_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    for url in (sqlite_url, postgresql_url):
        run("ingest", str(month), db=url)
    shard = ["org-m1", "org-m2"]
    from_sqlite = shard_events(sqlite_url, shard, BEFORE, alone=True)
    from_postgresql = shard_events(postgresql_url, shard, BEFORE)
    assert from_postgresql.schema == from_sqlite.schema
    assert from_postgresql.sort_by("id").equals(from_sqlite.sort_by("id"))
    assert sorted(from_postgresql.column("time_us").to_pylist()) == [
        -500_000,
        1_790_935_200_000_001,
        BEFORE - 1,
    ]
    empty = shard_events(postgresql_url, ["org-none"], BEFORE)
    assert empty.num_rows == 0 and empty.schema == from_sqlite.schema
