"""Rows read in PostgreSQL's binary format (store/binary_rows.py) are the rows an
ordinary execution gives, on both stores: text as text, byte strings byte for byte,
lists of values bound one by one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from bysecond.store.binary_rows import rows_in_binary
from bysecond.store.database import open_database
from bysecond.store.schema import StoredEvent

from .cli_runner import run
from .test_batch_billing import start, stop, write


def test_binary_rows_are_the_rows_of_an_ordinary_execution(
    database_url: str, tmp_path: Path
) -> None:
    events = [
        start("org-b1", "2026-10-02T10:00:00Z", "i-1"),
        stop("org-b1", "2026-10-02T11:00:00Z", "i-1"),
        start("org-b2", "2026-10-03T08:00:00Z", "i-2"),
    ]
    run("ingest", str(write(tmp_path / "month.jsonl", events)), db=database_url)
    wanted = ["month-1", "month-2"]  # numbered by write(), after the file's name
    statement = (
        select(StoredEvent.id, StoredEvent.organization_id, StoredEvent.payload_hash)
        .where(StoredEvent.id.in_(wanted), StoredEvent.organization_id == "org-b1")
        .order_by(StoredEvent.id)
    )
    database = open_database(database_url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            connection = uow.session.connection()
            ordinary = [tuple(row) for row in connection.execute(statement)]
            binary = rows_in_binary(connection, statement)
            documents = {
                event_id: document
                for event_id, document in connection.execute(
                    select(StoredEvent.id, StoredEvent.document)
                )
            }
    finally:
        database.close()
    assert [tuple(row) for row in binary] == ordinary
    assert [row[0] for row in binary] == sorted(wanted)
    for event_id, _, digest in binary:
        assert type(digest) is bytes and len(digest) == 32
        assert digest == hashlib.sha256(documents[event_id].encode()).digest()  # R3
