"""The ingestion service on SQLite and PostgreSQL: R3 identity, refusals, R4 anomalies,
on-the-fly registration, chunked commits, and the reads billing relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bysecond.core.events import parse_event
from bysecond.services import registrations
from bysecond.services.ingest import Status, ingest, ingest_batch
from bysecond.store.anomalies import anomalies_for
from bysecond.store.database import Database
from bysecond.store.events import events_for, organizations_with_events
from bysecond.store.schema import Addon, Application, Organization, StoredEvent
from tests.integration.ingest_builders import NOW, clock, event, line, many, stored_count

EVER = datetime(2100, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stored(database: Database) -> list[tuple[Any, ...]]:
    with database.unit_of_work(read_only=True) as uow:
        query = select(
            StoredEvent.source, StoredEvent.id, StoredEvent.document, StoredEvent.payload_hash
        ).order_by(StoredEvent.seq)
        return [tuple(row) for row in uow.session.execute(query)]


def _statuses(database: Database, items: list[Any]) -> list[str]:
    return [str(o.status) for o in ingest_batch(database, items, clock=clock).outcomes()]


def test_R3_valid_events_are_accepted_and_stored_as_canonical_json(database: Database) -> None:
    raw = event(1)
    report = ingest_batch(database, [line(raw)], clock=clock)
    assert (report.accepted, report.duplicates, report.rejected) == (1, 0, 0)
    [(source, event_id, document, _)] = _stored(database)
    assert (source, event_id) == ("//platform/orchestrator", "e-1")
    assert document == orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()


REFUSALS = [
    pytest.param(b'{"specversion": "1.0", "id": ', "event", "malformed JSON", id="malformed-json"),
    pytest.param(b"   \n", "event", "empty line", id="empty-line"),
    pytest.param(
        line({k: v for k, v in event(2).items() if k != "source"}),
        "source",
        "is required",
        id="missing-field",
    ),
    pytest.param(
        line({**event(2), "id": 42}), "id", "must be a string, got int", id="mistyped-field"
    ),
    pytest.param(
        line(event(2, "instance.exploded", instance_id="i-1")),
        "type",
        "unknown event type 'instance.exploded'",
        id="unknown-type",
    ),
    pytest.param(
        line(event(2, time="yesterday at noon")),
        "time",
        "'yesterday at noon' is not an RFC 3339 instant",
        id="unparseable-time",
    ),
    pytest.param(
        line(event(2, time="2026-11-24T12:05:01Z")),
        "time",
        "more than 5 minutes in the future",
        id="time-in-the-future",
    ),
    pytest.param(
        line(event(2, "usage.reported", resource_id="app-shop", meter="cpu", quantity="-1")),
        "data.quantity",
        "must not be negative",
        id="negative-quantity",
    ),
    pytest.param(
        line(event(2, subject="org acme!")),
        "subject",
        "is not a valid organisation id",
        id="invalid-subject",
    ),
    pytest.param(b"[1, 2, 3]", "event", "must be a JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("item", "field", "message"), REFUSALS)
def test_R3_an_invalid_event_is_rejected_with_its_field_and_reason_and_the_rest_stored(
    database: Database, item: bytes, field: str, message: str
) -> None:
    report = ingest_batch(database, [line(event(1)), item, line(event(3))], clock=clock)
    [refused] = report.notes
    assert (refused.index, refused.status, refused.field) == (1, Status.REJECTED, field)
    assert refused.message is not None and message in refused.message
    assert [o.status for o in report.outcomes()] == ["accepted", "rejected", "accepted"]
    assert [row[1] for row in _stored(database)] == ["e-1", "e-3"]


def test_R3_an_event_five_minutes_ahead_of_the_clock_is_still_accepted(
    database: Database,
) -> None:
    assert _statuses(database, [line(event(1, time="2026-11-24T12:05:00Z"))]) == ["accepted"]


def test_R3_ingesting_the_same_file_again_changes_nothing(database: Database) -> None:
    items = [line(raw) for raw in many(50)] + [b"{not json"]
    first = ingest_batch(database, items, clock=clock)
    before = _stored(database)
    again = ingest_batch(database, items, clock=clock)
    assert (first.accepted, first.duplicates, first.rejected) == (50, 0, 1)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 50, 1)
    assert _stored(database) == before


def test_R3_a_chunk_mixing_new_and_stored_events_stores_each_new_one_once(
    database: Database,
) -> None:
    # The insert leaves the stored events out rather than writing the chunk twice: every
    # new event is stored once, each stored one is a duplicate or, with another payload,
    # a conflict, and the stored payload is kept.
    stored = list(many(30))
    ingest_batch(database, [line(raw) for raw in stored[::3]], clock=clock)
    before = {row[1]: row for row in _stored(database)}  # by id: one source here
    changed = dict(stored[3], time="2026-10-09T09:00:00Z")  # stored[3] is stored
    items = (
        [line(raw) for raw in stored] + [line(changed)] + [line(raw) for raw in many(5, first=30)]
    )
    report = ingest_batch(database, items, clock=clock)
    assert (report.accepted, report.duplicates, report.rejected) == (25, 10, 1)
    statuses = [str(o.status) for o in report.outcomes()]
    assert statuses[:30] == ["duplicate" if i % 3 == 0 else "accepted" for i in range(30)]
    assert statuses[30:] == ["rejected"] + ["accepted"] * 5
    after = _stored(database)
    assert len(after) == 35 and len({row[1] for row in after}) == 35
    assert all(row == before[row[1]] for row in after if row[1] in before)


def test_R3_same_id_different_payload_is_rejected_and_original_kept(database: Database) -> None:
    ingest_batch(
        database,
        [line(event(1, flavor="M", instance_id="i-1", application_id="a", role="run"))],
        clock=clock,
    )
    original = _stored(database)
    changed = event(1, flavor="XL", instance_id="i-1", application_id="a", role="run")
    [outcome] = ingest_batch(database, [line(changed)], clock=clock).outcomes()
    assert (outcome.status, outcome.field, outcome.id) == (Status.REJECTED, "id", "e-1")
    assert outcome.message is not None and "conflict" in outcome.message
    assert _stored(database) == original


def test_R3_the_same_id_from_another_source_is_another_event(database: Database) -> None:
    items = [line(event(1)), line(event(1, source="//platform/other"))]
    assert _statuses(database, items) == ["accepted", "accepted"]


def test_R3_key_order_and_spacing_do_not_make_a_different_payload(database: Database) -> None:
    raw = event(1)
    reordered = (
        b"{ "
        + b", ".join(
            orjson.dumps(key) + b": " + orjson.dumps(value) for key, value in reversed(raw.items())
        )
        + b" }"
    )
    assert _statuses(database, [line(raw), reordered]) == ["accepted", "duplicate"]


def test_R3_repeats_within_one_batch_are_duplicates_or_conflicts_of_the_first(
    database: Database,
) -> None:
    first, other = event(1), event(1, time="2026-10-03T13:00:00Z")
    items = [line(first), line(first), line(other), line(first)]
    assert _statuses(database, items) == ["accepted", "duplicate", "rejected", "duplicate"]
    [(_, _, document, _)] = _stored(database)
    assert orjson.loads(document) == first


def test_R3_a_repeat_in_a_batch_is_judged_against_the_payload_already_stored(
    database: Database,
) -> None:
    stored, other = event(1), event(1, time="2026-10-03T13:00:00Z")
    ingest_batch(database, [line(stored)], clock=clock)
    items = [line(other), line(stored), line(other)]
    assert _statuses(database, items) == ["rejected", "duplicate", "rejected"]


def test_decoded_objects_are_ingested_like_lines(database: Database) -> None:
    raw = event(1)
    assert _statuses(database, [raw, line(raw), "not json"]) == [
        "accepted",
        "duplicate",
        "rejected",
    ]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (
            event(1, instance_id="i-1", application_id="app-x", flavor="GIANT", role="run"),
            "instance.GIANT",
        ),
        (
            event(1, "addon.provisioned", addon_id="a-1", provider="postgresql", plan="xxl"),
            "addon.postgresql.xxl",
        ),
        (
            event(
                1,
                "task.performed",
                task_id="t-1",
                description="audit",
                price_key="task.audit",
                quantity="3",
            ),
            "task.audit",
        ),
        (
            event(1, "usage.reported", resource_id="app-x", meter="gpu-seconds", quantity="3"),
            "usage.gpu-seconds",
        ),
        (event(1, time="2020-01-01T00:00:00Z"), "instance.M"),  # before the 2021 prices
    ],
    ids=["flavor", "addon-plan", "task-price-key", "meter", "before-the-catalog"],
)
def test_R4_usage_without_a_price_is_accepted_and_recorded_as_an_unpriced_anomaly(
    database: Database, raw: dict[str, Any], key: str
) -> None:
    report = ingest_batch(database, [line(raw)], clock=clock)
    assert (report.accepted, report.unpriced) == (1, 1)
    with database.unit_of_work(read_only=True) as uow:
        [anomaly] = anomalies_for(uow.connection, "org-acme", EPOCH, EVER)
    assert (anomaly.kind, anomaly.source, anomaly.event_id) == ("unpriced", raw["source"], "e-1")
    assert key in anomaly.message
    assert anomaly.time == parse_event(raw).time


def test_R4_priced_usage_and_tasks_with_an_amount_record_no_anomaly(database: Database) -> None:
    items = [
        line(event(1)),
        line(event(2, "task.performed")),
        line(event(3, "usage.reported")),
        line(event(4, "addon.provisioned")),
        line(event(5, "instance.stopped")),
    ]
    report = ingest_batch(database, items, clock=clock)
    assert (report.accepted, report.unpriced) == (5, 0)


def test_R5_usage_is_priced_in_the_currency_of_its_registered_organisation(
    database: Database,
) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Organization(id="org-usd", currency="USD", created_at=NOW))
        uow.commit()
    report = ingest_batch(database, [line(event(1, subject="org-usd"))], clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        [anomaly] = anomalies_for(uow.connection, "org-usd", EPOCH, EVER)
    assert report.unpriced == 1
    assert "no price instance.M in USD" in anomaly.message


def test_R4_a_plan_change_without_provider_is_priced_through_the_registered_addon(
    database: Database,
) -> None:
    provisioned = event(1, "addon.provisioned", addon_id="a-1", provider="redis", plan="s")
    known = event(2, "addon.plan_changed", addon_id="a-1", plan="m")
    unknown = event(3, "addon.plan_changed", addon_id="a-9", plan="m")
    unpriced = event(4, "addon.plan_changed", addon_id="a-1", plan="huge")
    report = ingest_batch(
        database, [line(e) for e in (provisioned, known, unknown, unpriced)], clock=clock
    )
    assert report.unpriced == 2
    with database.unit_of_work(read_only=True) as uow:
        messages = {
            a.event_id: a.message for a in anomalies_for(uow.connection, "org-acme", EPOCH, EVER)
        }
    assert set(messages) == {"e-3", "e-4"}
    assert "provider is unknown" in messages["e-3"]
    assert "addon.redis.huge" in messages["e-4"]


def test_unseen_organisations_applications_and_addons_are_registered_on_the_fly(
    database: Database,
) -> None:
    items = [
        line(
            event(
                1,
                subject="org-new",
                instance_id="i-1",
                application_id="app-1",
                flavor="S",
                role="run",
                application_name="Shop",
            )
        ),
        line(
            event(
                2,
                "addon.provisioned",
                subject="org-new",
                addon_id="a-1",
                provider="mysql",
                plan="s",
                name="orders",
            )
        ),
        line(event(3, "addon.plan_changed", subject="org-other", addon_id="a-2", plan="m")),
    ]
    ingest_batch(database, items, clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        organizations = uow.session.scalars(select(Organization).order_by(Organization.id)).all()
        applications = uow.session.execute(
            select(Application.organization_id, Application.id, Application.name)
        ).all()
        addons = uow.session.execute(
            select(Addon.organization_id, Addon.id, Addon.provider, Addon.name).order_by(Addon.id)
        ).all()
    assert [(o.id, o.time_zone, o.policy, o.currency, o.created_at) for o in organizations] == [
        ("org-new", "UTC", "per-second", "EUR", NOW),
        ("org-other", "UTC", "per-second", "EUR", NOW),
    ]
    assert [tuple(a) for a in applications] == [("org-new", "app-1", "Shop")]
    assert [tuple(a) for a in addons] == [
        ("org-new", "a-1", "mysql", "orders"),
        ("org-other", "a-2", None, None),
    ]


def test_registration_fills_a_missing_name_but_never_overwrites_a_known_one(
    database: Database,
) -> None:
    def started(number: int, name: str | None) -> bytes:
        data = {
            "instance_id": f"i-{number}",
            "application_id": "app-1",
            "flavor": "S",
            "role": "run",
        } | ({"application_name": name} if name else {})
        return line(event(number, **data))

    for number, name in [(1, None), (2, "Shop"), (3, "Renamed")]:
        ingest_batch(database, [started(number, name)], clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        assert uow.session.scalars(select(Application.name)).all() == ["Shop"]


def test_a_rejected_conflict_registers_nothing(database: Database) -> None:
    ingest_batch(database, [line(event(1))], clock=clock)
    ingest_batch(database, [line(event(1, subject="org-intruder"))], clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        assert uow.session.scalars(select(Organization.id)).all() == ["org-acme"]


def test_a_large_input_is_committed_chunk_by_chunk_each_report_after_its_commit(
    database: Database,
) -> None:
    items = [line(raw) for raw in many(25)]
    seen = []
    for report in ingest(database, items, clock=clock, chunk_size=10):
        seen.append((report.start, report.end, report.accepted, stored_count(database)))
    assert seen == [(0, 10, 10, 10), (10, 20, 10, 20), (20, 25, 5, 25)]


def test_a_chunk_that_fails_stores_nothing_and_earlier_chunks_stay_stored(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    register = registrations.register_organizations

    def failing_on_the_second_chunk(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk is full")
        register(*args)

    monkeypatch.setattr(registrations, "register_organizations", failing_on_the_second_chunk)
    reports = ingest(database, [line(raw) for raw in many(30)], clock=clock, chunk_size=10)
    assert next(reports).accepted == 10
    with pytest.raises(RuntimeError, match="disk is full"):
        next(reports)
    assert stored_count(database) == 10


def test_worker_processes_give_the_same_outcomes_as_inline_validation(
    database: Database, database_url: str
) -> None:
    items = [line(raw) for raw in many(300)]
    items[7] = b"{broken"
    items[150] = items[20]
    inline = [o for r in ingest(database, items, clock=clock, chunk_size=40) for o in r.outcomes()]
    assert [o.status for o in inline].count(Status.ACCEPTED) == 298
    again = [
        o
        for r in ingest(database, items, clock=clock, chunk_size=40, workers=2)
        for o in r.outcomes()
    ]
    expected = [Status.DUPLICATE if o.status is Status.ACCEPTED else o.status for o in inline]
    expected[150] = Status.DUPLICATE
    assert [o.status for o in again] == expected
    assert [o.index for o in again] == list(range(300))
    assert again[7].message == inline[7].message


def test_events_for_gives_back_the_validated_events_in_R3_order(database: Database) -> None:
    stop = event(1, "instance.stopped", time="2026-10-03T12:00:00Z")
    start = event(2, "instance.started", time="2026-10-03T12:00:00Z")
    earlier = event(3, "usage.reported", time="2026-10-01T08:00:00.000001+02:00")
    later = event(4, "instance.stopped", time="2026-11-02T00:00:00Z")
    other = event(5, subject="org-other")
    ingest_batch(database, [line(e) for e in (start, later, other, stop, earlier)], clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        found = events_for(uow.connection, "org-acme", datetime(2026, 11, 1, tzinfo=UTC))
        since = events_for(
            uow.connection, "org-acme", EVER, since=datetime(2026, 10, 2, tzinfo=UTC)
        )
    assert found == [parse_event(e) for e in (earlier, stop, start)]  # R3: stop first
    assert [e.id for e in since] == ["e-1", "e-2", "e-4"]


def test_organizations_with_events_lists_those_active_in_the_range(database: Database) -> None:
    items = [
        line(event(1, subject="org-b", time="2026-10-31T23:59:59.999999Z")),
        line(event(2, subject="org-a", time="2026-10-15T00:00:00Z")),
        line(event(3, subject="org-c", time="2026-11-01T00:00:00Z")),
        line(event(4, subject="org-d", time="2026-09-30T23:59:59Z")),
    ]
    ingest_batch(database, items, clock=clock)
    with database.unit_of_work(read_only=True) as uow:
        active = organizations_with_events(
            uow.connection, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
        )
    assert active == ["org-a", "org-b"]


def test_an_empty_batch_is_an_empty_report(database: Database) -> None:
    report = ingest_batch(database, [], clock=clock)
    assert (report.size, report.outcomes()) == (0, [])
