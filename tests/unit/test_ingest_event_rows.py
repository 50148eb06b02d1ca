"""Preparing raw events for storage (R3), without a database."""

from __future__ import annotations

import hashlib
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from bysecond.core.catalog import PRICE_SYSTEM_2021, Catalog, Price, default_catalog
from bysecond.core.events import parse_event
from bysecond.services.event_rows import prepare_chunk
from bysecond.services.pricing import PriceCheck
from bysecond.services.registrations import Registrations
from bysecond.store.types import from_micros, to_micros

NOW = datetime(2026, 11, 24, tzinfo=UTC)
PRICES = PriceCheck.of(default_catalog(), {"org-dollar": "USD"})


def _event(number: int = 1, **changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "specversion": "1.0",
        "id": f"e-{number}",
        "source": "//p",
        "type": "instance.started",
        "time": "2026-10-03T14:00:00.5+02:00",
        "subject": "org-acme",
        "data": {
            "instance_id": "i-1",
            "application_id": "app-shop",
            "flavor": "M",
            "role": "build",
            "application_name": "Shop",
        },
    }
    return raw | changes


def test_R3_a_row_keeps_the_event_as_canonical_json_with_its_hash_and_utc_time() -> None:
    raw = _event()
    chunk = prepare_chunk([orjson.dumps(raw)], NOW, PRICES)
    [(source, event_id, kind, micros, org, resource, digest, received, document)] = chunk.rows
    assert (source, event_id, kind, org, resource) == (
        "//p",
        "e-1",
        "instance.started",
        "org-acme",
        "i-1",
    )
    assert from_micros(micros) == datetime(2026, 10, 3, 12, 0, 0, 500000, tzinfo=UTC)  # R1
    assert document == orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
    assert digest == hashlib.sha256(document.encode()).digest()
    assert received == to_micros(NOW)
    assert parse_event(orjson.loads(document)) == parse_event(raw)


def test_R3_the_same_event_with_keys_in_another_order_has_the_same_hash() -> None:
    raw = _event()
    shuffled = dict(reversed(list(raw.items())))
    first = prepare_chunk([orjson.dumps(raw)], NOW, PRICES).rows[0]
    indented = orjson.dumps(shuffled, option=orjson.OPT_INDENT_2)
    second = prepare_chunk([indented], NOW, PRICES).rows[0]
    assert (first[6], first[8]) == (second[6], second[8])


def test_R3_a_later_item_with_the_same_identifier_is_a_repeat_of_the_first() -> None:
    same, changed = _event(), _event(time="2026-10-03T15:00:00Z")
    chunk = prepare_chunk([orjson.dumps(e) for e in (same, _event(2), same, changed)], NOW, PRICES)
    assert chunk.positions == [0, 1]
    assert [(index, position) for index, position, _ in chunk.repeats] == [(2, 0), (3, 0)]
    assert chunk.repeats[0][2] == chunk.rows[0][6]
    assert chunk.repeats[1][2] != chunk.rows[0][6]


def test_refusals_keep_the_identifier_when_it_can_be_read() -> None:
    items = [b"", b"{", orjson.dumps(_event(7, subject="???")), orjson.dumps([1])]
    refusals = prepare_chunk(items, NOW, PRICES).refusals
    assert [(r.index, r.id, r.field) for r in refusals] == [
        (0, None, "event"),
        (1, None, "event"),
        (2, "e-7", "subject"),
        (3, None, "event"),
    ]
    assert refusals[0].message.startswith("empty line")


def test_what_an_event_implies_is_noted_for_registration_and_pricing() -> None:
    items = [
        _event(1),
        _event(
            2,
            type="addon.provisioned",
            data={"addon_id": "a-1", "provider": "redis", "plan": "s", "name": "cache"},
        ),
        _event(3, type="addon.plan_changed", data={"addon_id": "a-1", "plan": "m"}),
        _event(
            4,
            type="task.performed",
            data={"task_id": "t", "description": "x", "price_key": "task.x", "quantity": 2},
        ),
        _event(5, type="task.performed", data={"task_id": "t", "description": "x", "amount": "1"}),
        _event(
            6, type="usage.reported", data={"resource_id": "r", "meter": "traffic", "quantity": 1.5}
        ),
    ]
    chunk = prepare_chunk(items, NOW, PRICES)
    assert chunk.priced == [
        (0, "instance.M"),
        (1, "addon.redis.s"),
        (3, "task.x"),
        (5, "usage.traffic"),
    ]
    assert chunk.plan_changes == [(2, "a-1", "m")]
    assert chunk.applications == [(0, "app-shop", "Shop")]
    assert chunk.addons == [(1, "a-1", "redis", "cache"), (2, "a-1", None, None)]
    # R4/R5: no task.x nor usage.traffic in the default catalog.
    assert chunk.unpriced == [(3, "task.x", "EUR"), (5, "usage.traffic", "EUR")]
    assert chunk.registrations == Registrations(
        {"org-acme"},
        {("org-acme", "app-shop"): "Shop"},
        {("org-acme", "a-1"): ("redis", "cache")},
    )


def test_R5_usage_is_priced_in_the_currency_its_organisation_bills_in() -> None:
    chunk = prepare_chunk([_event(1), _event(2, subject="org-dollar")], NOW, PRICES)
    assert chunk.unpriced == [(1, "instance.M", "USD")]  # the 2021 prices are in EUR


def test_a_prepared_chunk_crosses_a_process_boundary_unchanged() -> None:
    chunk = prepare_chunk([orjson.dumps(_event(1)), b"{", orjson.dumps(_event(1))], NOW, PRICES)
    copy = pickle.loads(pickle.dumps(chunk))
    assert copy == chunk


def _catalog_with_history() -> Catalog:
    later = PRICE_SYSTEM_2021 + timedelta(days=400)
    return default_catalog().with_prices(
        [
            Price("instance.M", Decimal("0.12"), "EUR", "hour", later),
            Price("instance.GPU", Decimal("3"), "EUR", "hour", later, later + timedelta(days=30)),
            Price("instance.M", Decimal("0.11"), "USD", "hour", later),
        ]
    )


@given(
    key=st.sampled_from(["instance.M", "instance.GPU", "instance.XS", "instance.nope"]),
    currency=st.sampled_from(["EUR", "USD"]),
    offset=st.integers(min_value=-(10**14), max_value=10**14),
)
def test_R5_the_fast_price_check_agrees_with_the_catalog(
    key: str, currency: str, offset: int
) -> None:
    catalog = _catalog_with_history()
    micros = to_micros(PRICE_SYSTEM_2021 + timedelta(days=400)) + offset
    expected = catalog.price_at(key, currency, from_micros(micros)) is None
    assert PriceCheck.of(catalog, {}).missing(key, currency, micros) is expected
