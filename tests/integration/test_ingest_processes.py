"""Bulk ingestion in writing processes (`ingest(..., workers=N)`) stores exactly what
ingestion in one process stores: events, registrations, anomalies, welcome credits."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from bysecond.services.credits import WelcomeCredit
from bysecond.services.ingest import ingest, ingest_chunks
from bysecond.services.line_chunks import LineChunk, LineCutter
from bysecond.store.database import open_database
from bysecond.store.schema import (
    Addon,
    Anomaly,
    Application,
    CreditGrant,
    LedgerEntry,
    Organization,
    StoredEvent,
)
from tests.integration.ingest_builders import clock, event, line, many


def _items() -> list[bytes]:
    items = [line(raw) for raw in many(260, organizations=9)]
    items[3] = b"{broken"
    items[100] = items[10]  # a duplicate in another chunk
    items[130] = line(event(12, "instance.stopped", time="2026-10-09T00:00:00Z"))  # conflict
    extra = [
        event(
            "a-1",
            "addon.provisioned",
            subject="org-new",
            addon_id="a-1",
            provider="redis",
            plan="s",
            name="cache",
        ),
        event("a-2", "addon.plan_changed", subject="org-new", addon_id="a-1", plan="nope"),
        event(
            "u-1", "usage.reported", subject="org-new", resource_id="app-1", meter="m", quantity="2"
        ),
        event(
            "s-1",
            "instance.started",
            subject="org-late",
            instance_id="i-1",
            application_id="app-z",
            flavor="GPU-XL",
            role="run",
            application_name="Zed",
        ),
    ]
    return items[:150] + [line(raw) for raw in extra] + items[150:]


def _state(url: str) -> dict[str, Any]:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            session = uow.session

            def rows(*columns: Any) -> list[tuple[Any, ...]]:
                return sorted(tuple(row) for row in session.execute(select(*columns)).all())

            return {
                "events": rows(
                    StoredEvent.source,
                    StoredEvent.id,
                    StoredEvent.type,
                    StoredEvent.time,
                    StoredEvent.organization_id,
                    StoredEvent.resource_id,
                    StoredEvent.payload_hash,
                    StoredEvent.document,
                ),
                "organizations": rows(Organization.id, Organization.created_at),
                "applications": rows(Application.organization_id, Application.id, Application.name),
                "addons": rows(Addon.organization_id, Addon.id, Addon.provider, Addon.name),
                "anomalies": rows(
                    Anomaly.organization_id,
                    Anomaly.kind,
                    Anomaly.event_id,
                    Anomaly.time,
                    Anomaly.message,
                ),
                "grants": rows(
                    CreditGrant.organization_id,
                    CreditGrant.kind,
                    CreditGrant.amount,
                    CreditGrant.granted_at,
                    CreditGrant.expires_at,
                ),
                "ledger": len(rows(LedgerEntry.id)),
            }
    finally:
        database.close()


def test_writing_processes_store_what_one_process_stores(
    database_url: str, fresh_database_url: str
) -> None:
    items = _items()
    answers = []
    for url, workers in ((database_url, 0), (fresh_database_url, 2)):
        database = open_database(url)
        try:
            reports = list(
                ingest(
                    database,
                    items,
                    clock=clock,
                    chunk_size=30,
                    workers=workers,
                    welcome=WelcomeCredit(),
                )
            )
        finally:
            database.close()
        answers.append([o.as_json() for r in reports for o in r.outcomes()])
    inline, processes = answers
    assert processes == inline
    assert [a["status"] for a in inline].count("rejected") == 2  # broken line, conflict
    assert [a["status"] for a in inline].count("duplicate") == 1
    expected = _state(database_url)
    assert expected["grants"] and expected["anomalies"] and expected["addons"]
    assert _state(fresh_database_url) == expected


def _line_chunks(data: bytes, size: int, block: int) -> list[LineChunk]:
    cutter = LineCutter(size)
    chunks = [c for at in range(0, len(data), block) for c in cutter.feed(data[at : at + block])]
    return chunks + list(cutter.finish())


def test_whole_lines_sent_as_blocks_store_what_lines_one_by_one_store(
    database_url: str, fresh_database_url: str
) -> None:
    """The CLI's way (services/line_chunks.py): the calling process never splits lines."""
    lines = [item if item.endswith(b"\n") else item + b"\n" for item in _items()]
    answers = []
    for url, chunks, workers in (
        (database_url, None, 0),
        (fresh_database_url, _line_chunks(b"".join(lines), 30, 997), 2),
    ):
        database = open_database(url)
        try:
            if chunks is None:
                reports = list(
                    ingest(database, lines, clock=clock, chunk_size=30, welcome=WelcomeCredit())
                )
            else:
                reports = list(
                    ingest_chunks(
                        database, chunks, clock=clock, workers=workers, welcome=WelcomeCredit()
                    )
                )
        finally:
            database.close()
        answers.append([(r.start, r.size, [o.as_json() for o in r.outcomes()]) for r in reports])
    inline, blocks = answers
    assert blocks == inline
    assert len(inline) == 9  # 264 lines in chunks of 30: the processes took part
    statuses = [o["status"] for _, _, outcomes in inline for o in outcomes]
    assert statuses.count("rejected") == 2 and statuses.count("duplicate") == 1
    assert _state(fresh_database_url) == _state(database_url)


def test_stopping_early_stores_nothing_beyond_the_reports_taken(database_url: str) -> None:
    items = [line(raw) for raw in many(200)]
    database = open_database(database_url)
    try:
        reports = ingest(database, items, clock=clock, chunk_size=20, workers=2)
        taken = [next(reports) for _ in range(4)]
        reports.close()  # the caller stops: chunks already handed out are not written
        with database.unit_of_work(read_only=True) as uow:
            stored = set(uow.session.scalars(select(StoredEvent.id)))
    finally:
        database.close()
    assert [r.accepted for r in taken] == [20, 20, 20, 20]
    assert stored == {orjson.loads(item)["id"] for item in items[:80]}
