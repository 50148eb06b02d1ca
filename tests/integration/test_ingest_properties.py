"""R3 and invariant 2 as properties: whatever the batching, order and repetition of the
events sent, each identifier keeps its first payload and every item gets its answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bysecond.services.ingest import Status, ingest
from bysecond.store.database import open_database
from bysecond.store.schema import Addon, Anomaly, Application, Organization, StoredEvent
from tests.integration.ingest_builders import clock, event, line

# An item: (event number, payload variant); variants of one number conflict.
ITEMS = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2)), max_size=12)


def _raw(number: int, variant: int) -> bytes:
    time = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=variant)
    return line(event(number, time=time.isoformat().replace("+00:00", "Z")))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(ITEMS, min_size=1, max_size=3), chunk_size=st.integers(1, 5))
def test_R3_each_identifier_keeps_its_first_payload_whatever_the_batching(
    database_url: str, batches: list[list[tuple[int, int]]], chunk_size: int
) -> None:
    database = open_database(database_url)
    try:
        with database.unit_of_work() as uow:  # each example starts empty
            for model in (StoredEvent, Anomaly, Application, Addon, Organization):
                uow.session.execute(model.__table__.delete())
            uow.commit()
        kept: dict[int, int] = {}  # the model: number -> variant stored
        for batch in batches:
            expected = []
            for number, variant in batch:
                if number not in kept:
                    kept[number] = variant
                    expected.append(Status.ACCEPTED)
                else:
                    same = kept[number] == variant
                    expected.append(Status.DUPLICATE if same else Status.REJECTED)
            items = [_raw(number, variant) for number, variant in batch]
            answers = [
                o
                for r in ingest(database, items, clock=clock, chunk_size=chunk_size)
                for o in r.outcomes()
            ]
            assert [o.index for o in answers] == list(range(len(batch)))
            assert [o.status for o in answers] == expected
        with database.unit_of_work(read_only=True) as uow:
            rows = uow.session.execute(select(StoredEvent.id, StoredEvent.document)).all()
        stored = {event_id: document for event_id, document in rows}
        assert stored == {
            f"e-{number}": orjson.dumps(
                orjson.loads(_raw(number, variant)), option=orjson.OPT_SORT_KEYS
            ).decode()
            for number, variant in kept.items()
        }
    finally:
        database.close()
