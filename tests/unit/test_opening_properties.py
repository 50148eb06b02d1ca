"""The opening state (core.metering.Opening): a period metered from the state its earlier
events leave, with only its own events, is the period metered from the whole history
(R2, R3, R4), anomalies included; the stored form gives the same state back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bysecond.core.credits import GrantBalance
from bysecond.core.document import canonical_json
from bysecond.core.estimate import Request, authorize, estimate
from bysecond.core.events import Event
from bysecond.core.invoice import Customer, build_invoice
from bysecond.core.metering import (
    Opening,
    Span,
    meter,
    meter_closing,
    meter_cut,
    opening_at,
)
from bysecond.core.opening import opening_from_json, opening_json
from bysecond.core.period import micros_between

from .test_properties import (
    CATALOG,
    FLAVORS,
    OCTOBER,
    ORIGIN,
    PLANS,
    cloud_event,
    grant_sets,
    instants,
    messy_histories,
    well_formed_histories,
)

_NAMES = st.one_of(st.none(), st.sampled_from(["front", "api", "worker"]))


@st.composite
def histories_with_names(draw: st.DrawFn) -> list[Event]:
    """Any order of every kind of event on a few resources, names and providers set and
    changed: runs and add-ons that cross the cut, and the anomalies of R4 on both sides."""
    events: list[Event] = []
    for n in range(draw(st.integers(0, 30))):
        time = draw(instants)
        kind = draw(
            st.sampled_from(
                [
                    "instance.started",
                    "instance.stopped",
                    "addon.provisioned",
                    "addon.plan_changed",
                    "addon.deleted",
                    "task.performed",
                ]
            )
        )
        instance, addon = f"i-{draw(st.integers(0, 2))}", f"a-{draw(st.integers(0, 1))}"
        data: dict[str, Any]
        if kind == "instance.started":
            data = {
                "instance_id": instance,
                "application_id": f"app-{draw(st.integers(0, 1))}",
                "flavor": draw(st.sampled_from(FLAVORS)),
                "role": draw(st.sampled_from(["run", "build"])),
            }
            if (name := draw(_NAMES)) is not None:
                data["application_name"] = name
        elif kind == "instance.stopped":
            data = {"instance_id": instance}
        elif kind == "addon.provisioned":
            data = {
                "addon_id": addon,
                "provider": draw(st.sampled_from(["redis", "postgresql"])),
                "plan": draw(st.sampled_from(PLANS)),
            }
            if (name := draw(_NAMES)) is not None:
                data["name"] = name
        elif kind == "addon.plan_changed":
            data = {"addon_id": addon, "plan": draw(st.sampled_from(PLANS))}
            if draw(st.booleans()):
                data["provider"] = draw(st.sampled_from(["redis", "postgresql"]))
        elif kind == "addon.deleted":
            data = {"addon_id": addon}
        else:
            data = {"task_id": f"t-{n}", "description": "work", "amount": "12.50"}
        events.append(cloud_event(n, kind, time, data))
    return events


any_history = st.one_of(histories_with_names(), messy_histories(), well_formed_histories())
# Cuts up to October's start, often on an event's own instant (R3: an event at the cut
# belongs to the events after it).
_EARLY = st.integers(0, micros_between(ORIGIN, OCTOBER.start)).map(
    lambda us: ORIGIN + timedelta(microseconds=us)
)
_IN_OCTOBER = st.integers(0, micros_between(OCTOBER.start, OCTOBER.end)).map(
    lambda us: OCTOBER.start + timedelta(microseconds=us)
)


def _cut(data: st.DataObject, events: list[Event]) -> Any:
    moments = [e.time for e in events if e.time <= OCTOBER.start]
    return data.draw(st.one_of(_EARLY, st.sampled_from(moments)) if moments else _EARLY)


@given(any_history, st.data())
def test_R4_a_window_metered_from_its_opening_state_is_the_window_metered_from_history(
    events: list[Event], data: st.DataObject
) -> None:
    cut = _cut(data, events)
    opening = opening_at(events, cut)
    later = [e for e in events if e.time >= cut]
    whole = meter(events, OCTOBER.start, OCTOBER.end)
    assert meter(later, OCTOBER.start, OCTOBER.end, opening=opening) == whole
    # An estimate's two windows (R4) come out the same way.
    now = data.draw(_IN_OCTOBER)
    assert meter_cut(later, OCTOBER.start, now, OCTOBER.end, opening=opening) == meter_cut(
        events, OCTOBER.start, now, OCTOBER.end
    )


@given(any_history, st.data())
def test_R16_an_invoice_from_its_opening_state_is_byte_identical(
    events: list[Event], data: st.DataObject
) -> None:
    cut = _cut(data, events)
    customer = Customer("org-gen", policy="per-second")
    later = [e for e in events if e.time >= cut]
    opened = build_invoice(customer, OCTOBER, later, CATALOG, opening=opening_at(events, cut))
    whole = build_invoice(customer, OCTOBER, events, CATALOG)
    assert canonical_json(opened.document()) == canonical_json(whole.document())


@given(any_history, st.data())
def test_an_opening_state_carried_forward_is_the_state_replayed_from_the_start(
    events: list[Event], data: st.DataObject
) -> None:
    # A period's state is made from the one before it and the period's events only.
    first = _cut(data, events)
    second = first + timedelta(microseconds=data.draw(st.integers(0, 40 * 86_400 * 10**6)))
    carried = opening_at(
        [e for e in events if e.time >= first], second, opening=opening_at(events, first)
    )
    assert carried == opening_at(events, second)


@given(any_history, st.data())
def test_a_window_metered_with_its_closing_state_is_both_in_one_replay(
    events: list[Event], data: st.DataObject
) -> None:
    cut = _cut(data, events)
    opening = opening_at(events, cut)
    later = [e for e in events if e.time >= cut]
    usage, closing = meter_closing(later, OCTOBER.start, OCTOBER.end, opening=opening)
    assert usage == meter(events, OCTOBER.start, OCTOBER.end)
    assert closing == opening_at(events, OCTOBER.end)


@given(any_history, instants)
def test_an_opening_state_reads_back_from_its_stored_form(events: list[Event], at: Any) -> None:
    opening = opening_at(events, at)
    assert opening_from_json(at, opening_json(opening)) == opening


def test_an_opening_state_refuses_events_it_already_holds() -> None:
    start = cloud_event(
        1,
        "instance.started",
        OCTOBER.start - timedelta(hours=1),
        {"instance_id": "i-1", "application_id": "app", "flavor": "S", "role": "run"},
    )
    opening = opening_at([start], OCTOBER.start)
    assert opening.runs == {"i-1": Span("app", "instance.S", "run", start.time)}
    with pytest.raises(ValueError, match="before the opening state"):
        meter([start], OCTOBER.start, OCTOBER.end, opening=opening)
    with pytest.raises(ValueError, match="after the window's start"):
        meter([], OCTOBER.start, OCTOBER.end, opening=Opening(OCTOBER.start + timedelta(1)))


@given(any_history, grant_sets(), st.data())
def test_R4_an_estimate_and_an_authorisation_from_the_opening_state_are_the_same(
    events: list[Event], grants: list[GrantBalance], data: st.DataObject
) -> None:
    cut = _cut(data, events)
    now = data.draw(_IN_OCTOBER)
    customer = Customer("org-gen", policy="per-second")
    opening = opening_at(events, cut)
    later = [e for e in events if e.time >= cut]
    opened = estimate(customer, now, later, CATALOG, grants, opening=opening)
    whole = estimate(customer, now, events, CATALOG, grants)
    assert canonical_json(opened.so_far.document()) == canonical_json(whole.so_far.document())
    assert opened.projected == whole.projected
    request = Request(data.draw(st.sampled_from(["instance.M", "addon.redis.s"])))
    assert authorize(customer, now, later, CATALOG, grants, request, opening=opening) == authorize(
        customer, now, events, CATALOG, grants, request
    )
