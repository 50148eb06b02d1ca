"""R2 usage sources, R3 order and idempotency, R4 anomalies."""

from bysecond.core.metering import meter
from tests.builders import (
    OCTOBER,
    at,
    deleted,
    event,
    plan_changed,
    provisioned,
    started,
    stopped,
    task,
)


def window(*events):  # type: ignore[no-untyped-def]
    return meter(list(events), OCTOBER.start, OCTOBER.end)


def test_R2_a_run_goes_from_start_to_the_next_stop_of_the_same_instance() -> None:
    usage = window(started("2026-10-03 12:00"), stopped("2026-10-03 12:12:42"))
    (piece,) = usage.pieces
    assert (piece.start, piece.end, piece.open) == (
        at("2026-10-03 12:00"),
        at("2026-10-03 12:12:42"),
        False,
    )
    assert (piece.owner_id, piece.price_key, piece.role) == ("app-shop", "instance.M", "run")


def test_R2_a_resize_is_a_stop_and_a_start() -> None:
    usage = window(
        started("2026-10-03 12:00", flavor="S"),
        stopped("2026-10-03 13:00"),
        started("2026-10-03 13:00", flavor="L"),
        stopped("2026-10-03 14:00"),
    )
    assert [p.price_key for p in usage.pieces] == ["instance.S", "instance.L"]


def test_R2_an_addon_interval_runs_from_provision_or_plan_change_to_the_next() -> None:
    usage = window(
        provisioned("2026-10-02 00:00", plan="s"),
        plan_changed("2026-10-10 00:00", plan="m"),
        deleted("2026-10-20 00:00"),
    )
    assert [(p.price_key, p.start.day, p.end.day) for p in usage.pieces] == [
        ("addon.postgresql.s", 2, 10),
        ("addon.postgresql.m", 10, 20),
    ]


def test_R3_usage_follows_event_time_not_arrival_order() -> None:
    events = [stopped("2026-10-03 13:00"), started("2026-10-03 12:00")]
    assert window(*events).pieces == window(*reversed(events)).pieces
    assert window(*events).anomalies == ()


def test_R3_the_same_event_delivered_twice_counts_once() -> None:
    start = started("2026-10-03 12:00")
    usage = window(start, start, stopped("2026-10-03 13:00"))
    assert len(usage.pieces) == 1 and usage.anomalies == ()


def test_R3_a_restart_at_the_instant_of_a_stop_gives_two_runs() -> None:
    usage = window(
        started("2026-10-03 12:00"),
        started("2026-10-03 13:00"),
        stopped("2026-10-03 13:00"),
        stopped("2026-10-03 14:00"),
    )
    assert [(p.start.hour, p.end.hour) for p in usage.pieces] == [(12, 13), (13, 14)]
    assert usage.anomalies == ()


def test_R4_a_second_start_continues_the_first_run_and_is_reported() -> None:
    second = started("2026-10-03 12:30", flavor="XL")
    usage = window(started("2026-10-03 12:00"), second, stopped("2026-10-03 13:00"))
    (piece,) = usage.pieces
    assert (piece.start.minute, piece.price_key) == (0, "instance.M")
    (anomaly,) = usage.anomalies
    assert (anomaly.kind, anomaly.event_id) == ("duplicate_start", second.id)
    assert "first run continues" in anomaly.message


def test_R4_a_stop_of_an_instance_not_running_is_ignored_and_reported() -> None:
    stop = stopped("2026-10-03 12:00")
    usage = window(stop)
    assert usage.pieces == ()
    assert [(a.kind, a.event_id) for a in usage.anomalies] == [("stop_without_start", stop.id)]


def test_R4_a_plan_change_of_an_unknown_addon_starts_an_interval() -> None:
    change = plan_changed("2026-10-10 00:00", plan="m", provider="postgresql")
    usage = window(change, deleted("2026-10-11 00:00"))
    (piece,) = usage.pieces
    assert (piece.price_key, piece.start.day, piece.end.day) == ("addon.postgresql.m", 10, 11)
    assert [a.kind for a in usage.anomalies] == ["unknown_addon"]


def test_R4_a_run_open_at_period_end_is_billed_to_the_end_and_continues() -> None:
    events = [started("2026-10-31 23:00"), stopped("2026-11-01 01:00")]
    october = meter(events, OCTOBER.start, OCTOBER.end).pieces
    november = meter(events, OCTOBER.end, OCTOBER.next().end).pieces
    assert [(p.start, p.end, p.open) for p in october] == [
        (at("2026-10-31 23:00"), OCTOBER.end, True)
    ]
    assert [(p.start, p.end, p.open) for p in november] == [
        (OCTOBER.end, at("2026-11-01 01:00"), False)
    ]


def test_R4_a_run_started_before_the_period_is_clipped_to_its_start() -> None:
    (piece,) = window(started("2026-09-30 22:00"), stopped("2026-10-01 02:00")).pieces
    assert (piece.start, piece.end) == (OCTOBER.start, at("2026-10-01 02:00"))


def test_R4_anomalies_outside_the_window_belong_to_their_own_period() -> None:
    assert window(stopped("2026-09-15 00:00")).anomalies == ()


def test_tasks_are_kept_in_their_period_only() -> None:
    usage = window(
        task("2026-10-05 10:00", amount="80.00"),
        task("2026-11-02 10:00", task_id="t-2", amount="1"),
    )
    assert [t.task_id for t in usage.tasks] == ["t-1"]


def test_application_names_come_from_the_events() -> None:
    usage = window(started("2026-10-03 12:00", application_name="Shop front"))
    assert usage.application_names == {"app-shop": "Shop front"}


def test_events_of_other_kinds_do_not_disturb_runs() -> None:
    usage = window(
        started("2026-10-03 12:00"),
        event(
            "usage.reported",
            "2026-10-03 12:30",
            resource_id="bucket-1",
            meter="outbound-traffic",
            quantity="3",
        ),
        stopped("2026-10-03 13:00"),
    )
    assert len(usage.pieces) == 1 and len(usage.quantities) == 1
