"""R3 under concurrency: writers racing on overlapping batches store each event once."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter

from sqlalchemy import func, select

from bysecond.services.ingest import Status, ingest
from bysecond.store.database import Database, open_database
from bysecond.store.schema import StoredEvent
from tests.integration.ingest_builders import clock, line, many

EVENTS = 1200
WRITERS = 4


def _write(url: str, first: int, count: int, seed: int, start_at: float) -> list[tuple[str, str]]:
    """One writer process: its slice of the events, shuffled, in chunks of 100."""
    items = [line(raw) for raw in many(count, first=first)]
    random.Random(seed).shuffle(items)
    database = open_database(url)
    time.sleep(max(0.0, start_at - time.time()))  # all writers start together
    try:
        return [
            (outcome.id or "", str(outcome.status))
            for report in ingest(database, items, clock=clock, chunk_size=100)
            for outcome in report.outcomes()
        ]
    finally:
        database.close()


def test_R3_four_concurrent_writers_of_overlapping_batches_store_each_event_exactly_once(
    database: Database, database_url: str
) -> None:
    # Writer k sends events [k*240, k*240 + 480): every event but the first and last
    # slices is sent by two writers at once, in different orders.
    span = 2 * EVENTS // (WRITERS + 1)
    start_at = time.time() + 3
    jobs = [(database_url, k * span // 2, span, k, start_at) for k in range(WRITERS)]
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        answers = [answer for result in pool.starmap(_write, jobs) for answer in result]

    accepted = Counter(event_id for event_id, status in answers if status == Status.ACCEPTED)
    assert sorted(accepted) == sorted(f"e-{n}" for n in range(EVENTS))
    assert set(accepted.values()) == {1}
    assert Counter(status for _, status in answers) == {
        Status.ACCEPTED: EVENTS,
        Status.DUPLICATE: WRITERS * span - EVENTS,
    }
    with database.unit_of_work(read_only=True) as uow:
        stored = uow.session.execute(
            select(func.count(), func.count(func.distinct(StoredEvent.id)))
        ).one()
    assert tuple(stored) == (EVENTS, EVENTS)
