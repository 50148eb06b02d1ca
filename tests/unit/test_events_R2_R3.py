"""R2/R3 and CONTRACT.md: every event type validated, bad input refused with its field."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bysecond.core.events import EventError, InstanceStarted, TaskPerformed, parse_event


def raw(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1842",
        "source": "//platform/orchestrator",
        "type": "instance.started",
        "time": "2026-10-03T12:00:00Z",
        "subject": "org-acme",
        "datacontenttype": "application/json",
        "data": {"instance_id": "i-77", "application_id": "app-shop", "flavor": "M", "role": "run"},
    }
    event.update(overrides)
    return event


def test_the_contract_example_is_accepted() -> None:
    event = parse_event(raw())
    assert event.key == ("//platform/orchestrator", "e-1842")
    assert event.organization_id == "org-acme"
    assert event.time == datetime(2026, 10, 3, 12, tzinfo=UTC)
    assert event.data == InstanceStarted("i-77", "app-shop", "M", "run")


def test_R1_times_with_an_offset_are_kept_in_utc() -> None:
    event = parse_event(raw(time="2026-10-03T14:00:00.123456+02:00"))
    assert event.time == datetime(2026, 10, 3, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"specversion": "0.3"}, "specversion", '"1.0"'),
        ({"id": None}, "id", "required"),
        ({"id": 42}, "id", "must be a string"),
        ({"type": "instance.exploded"}, "type", "unknown event type"),
        ({"time": "yesterday"}, "time", "not an RFC 3339"),
        ({"time": "2026-10-03T12:00:00"}, "time", "no time zone"),
        ({"subject": "org acme!"}, "subject", "not a valid organisation id"),
        ({"subject": None}, "subject", "required"),
        ({"source": "//platform\x00evil"}, "source", "NUL"),
        ({"id": "e-\x00"}, "id", "NUL"),
        ({"data": []}, "data", "JSON object"),
        ({"datacontenttype": "text/plain"}, "datacontenttype", "application/json"),
        (
            {"data": {"instance_id": "i-1", "application_id": "a", "flavor": "M"}},
            "data.role",
            "required",
        ),
        (
            {"data": {"instance_id": "i-1", "application_id": "a", "flavor": "M", "role": "walk"}},
            "data.role",
            "run or build",
        ),
        (
            {"data": {"instance_id": 7, "application_id": "a", "flavor": "M", "role": "run"}},
            "data.instance_id",
            "must be a string",
        ),
    ],
)
def test_malformed_events_are_refused_naming_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(EventError) as refused:
        parse_event(raw(**overrides))
    assert refused.value.field == field
    assert message in refused.value.message


def test_events_more_than_five_minutes_in_the_future_are_refused() -> None:
    now = datetime(2026, 10, 3, 11, 54, tzinfo=UTC)
    with pytest.raises(EventError, match="future"):
        parse_event(raw(), now=now)
    assert parse_event(raw(), now=datetime(2026, 10, 3, 11, 55, tzinfo=UTC))


def test_negative_quantities_are_refused() -> None:
    usage = raw(
        type="usage.reported",
        data={"resource_id": "b-1", "meter": "outbound-traffic", "quantity": -3},
    )
    with pytest.raises(EventError, match="negative") as refused:
        parse_event(usage)
    assert refused.value.field == "data.quantity"


def test_R2_a_task_has_an_amount_or_a_price_key_with_a_quantity() -> None:
    by_amount = parse_event(
        raw(
            type="task.performed",
            data={"task_id": "t-1", "description": "Migration", "amount": "150.00"},
        )
    )
    assert by_amount.data == TaskPerformed("t-1", "Migration", amount=Decimal("150.00"))
    by_price = parse_event(
        raw(
            type="task.performed",
            data={
                "task_id": "t-2",
                "description": "Support",
                "price_key": "task.support-hour",
                "quantity": 1.5,
            },
        )
    )
    assert isinstance(by_price.data, TaskPerformed) and by_price.data.quantity == Decimal("1.5")
    for data in (
        {"task_id": "t", "description": "d"},
        {"task_id": "t", "description": "d", "amount": "1", "price_key": "task.x", "quantity": 1},
    ):
        with pytest.raises(EventError, match="either amount"):
            parse_event(raw(type="task.performed", data=data))


def test_task_amounts_are_decimal_strings_never_json_numbers() -> None:
    with pytest.raises(EventError, match="decimal strings"):
        parse_event(
            raw(
                type="task.performed",
                data={"task_id": "t-1", "description": "Migration", "amount": 150.0},
            )
        )


def test_R3_events_of_one_instant_order_stops_before_starts() -> None:
    start = parse_event(raw(id="b"))
    stop = parse_event(raw(id="a", type="instance.stopped", data={"instance_id": "i-77"}))
    assert sorted([start, stop], key=lambda e: e.sort_key) == [stop, start]
