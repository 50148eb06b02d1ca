"""Metering: events -> pieces of usage and anomalies (R2, R3, R4).

A *run* is an instance's uptime from `instance.started` to the next `instance.stopped`;
an *interval* is an add-on's time on one plan. Both become `Piece`s once clipped to the
window being billed. Tasks and reported quantities are one-off charges at an instant.
Events are replayed in `time` order whatever their arrival order (R3); the same event
given twice counts once (R16).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from .events import (
    AddonDeleted,
    AddonPlanChanged,
    AddonProvisioned,
    Event,
    InstanceStarted,
    InstanceStopped,
    TaskPerformed,
    UsageReported,
)
from .period import rfc3339

ResourceKind = Literal["instance", "addon"]
UNKNOWN_PROVIDER = "unknown"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """R4: a case the events did not foresee, kept with the event that caused it."""

    kind: str
    source: str
    event_id: str
    resource_id: str
    time: datetime
    message: str

    @property
    def sort_key(self) -> tuple[datetime, str, str, str]:
        return (self.time, self.source, self.event_id, self.kind)


@dataclass(frozen=True, slots=True)
class Piece:
    """An instance run or an add-on plan interval, clipped to the billed window (R6)."""

    kind: ResourceKind
    resource_id: str  # instance_id or addon_id
    owner_id: str  # the application of an instance; the add-on itself
    price_key: str
    role: str | None  # "run" or "build" for instances
    start: datetime
    end: datetime
    open: bool  # still running at the end of the window (R4)

    @property
    def variant(self) -> str:
        """The flavor of an instance or the plan of an add-on."""
        return self.price_key.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class TaskCharge:
    """R2: a custom task, a one-off charge at an instant."""

    task_id: str
    description: str
    at: datetime
    source: str
    event_id: str
    amount: Decimal | None
    price_key: str | None
    quantity: Decimal | None


@dataclass(frozen=True, slots=True)
class QuantityCharge:
    """A metered quantity consumed at an instant (`usage.reported`)."""

    resource_id: str
    meter: str
    at: datetime
    source: str
    event_id: str
    quantity: Decimal

    @property
    def price_key(self) -> str:
        return f"usage.{self.meter}"


@dataclass(frozen=True)
class Usage:
    """Everything an organisation consumed in a window, ready to be rated."""

    pieces: tuple[Piece, ...]
    tasks: tuple[TaskCharge, ...]
    quantities: tuple[QuantityCharge, ...]
    anomalies: tuple[Anomaly, ...]
    application_names: dict[str, str] = field(default_factory=dict)
    addon_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """A run or interval that has started and not yet ended."""

    owner_id: str  # the application of an instance; the add-on itself
    price_key: str
    role: str | None
    start: datetime


@dataclass(frozen=True)
class Opening:
    """What the events before `at` leave behind for a window starting at or after it:
    the runs and add-on intervals still open, each add-on's provider, the names in force.

    The replay of those events keeps nothing else that a later window reads: their
    anomalies, tasks and quantities lie before the window, and so does every run that
    ended. Metering the events at or after `at` from this state therefore gives exactly
    what metering the whole history gives (tests/unit/test_properties.py). A billing
    run keeps it with each organisation's period, so that the next period reads its own
    events only, not every event since the organisation's first.
    """

    at: datetime
    runs: Mapping[str, Span] = field(default_factory=dict)  # by instance
    intervals: Mapping[str, Span] = field(default_factory=dict)  # by add-on
    providers: Mapping[str, str] = field(default_factory=dict)  # by add-on
    application_names: Mapping[str, str] = field(default_factory=dict)
    addon_names: Mapping[str, str] = field(default_factory=dict)

    def without_runs(self) -> Opening:
        """The add-ons' part alone, for a replay of every event but instances'."""
        return replace(self, runs={})


@dataclass(frozen=True, slots=True)
class _Closed:
    kind: ResourceKind
    resource_id: str
    opened: Span
    end: datetime | None  # None: still open after the last event


def unique_in_order(events: Iterable[Event]) -> list[Event]:
    """R3/R16: one event per `(source, id)`, in `time` order, whatever the arrival order."""
    chosen: dict[tuple[str, str], Event] = {}
    for event in events:
        known = chosen.get(event.key)
        if known is None or (event.sort_key, repr(event.data)) < (known.sort_key, repr(known.data)):
            chosen[event.key] = event
    return sorted(chosen.values(), key=lambda e: e.sort_key)


def meter(
    events: Iterable[Event], start: datetime, end: datetime, *, opening: Opening | None = None
) -> Usage:
    """Replay `events` and keep what falls in the window `[start, end)`.

    Events before `start` still count: they open runs that reach into the window. Events
    at or after `end` are left for a later window. With an `opening` (at or before
    `start`), the replay starts from it, and `events` are those at or after its instant.
    """
    return _replayed(events, start, end, opening).usage()


def meter_closing(
    events: Iterable[Event], start: datetime, end: datetime, *, opening: Opening | None = None
) -> tuple[Usage, Opening]:
    """`meter(...)` and `opening_at(events, end, ...)`, the state the window leaves for the
    next one, in one replay: the replay's state after the events before `end` is both."""
    replay = _replayed(events, start, end, opening)
    return replay.usage(), replay.opening()


def opening_at(events: Iterable[Event], at: datetime, *, opening: Opening | None = None) -> Opening:
    """The state the events before `at` leave (`Opening`), replayed from `opening` when
    one is given (at or before `at`; `events` then start at its instant)."""
    return _replayed(events, at, at, opening).opening()


def _replayed(
    events: Iterable[Event], start: datetime, end: datetime, opening: Opening | None
) -> _Replay:
    """The replay of the events before `end`, from `opening` if any, keeping `[start, end)`."""
    replay = _Replay(start, end, opening)
    for event in unique_in_order(events):
        if event.time >= end:
            break
        replay.apply(event)
    return replay


def meter_cut(
    events: Iterable[Event],
    start: datetime,
    cut: datetime,
    end: datetime,
    *,
    opening: Opening | None = None,
) -> tuple[Usage, Usage]:
    """`(meter(events, start, cut), meter(events, start, end))` in one replay, for
    `start <= cut <= end`: an estimate bills the period so far and projects it to its end.

    The replay's state after the events before `cut` is the same whichever window it
    keeps: an event before `cut` lies in `[start, cut)` exactly when it lies in
    `[start, end)`. So the usage up to `cut` is read off the replay there, and the
    replay goes on to `end`.
    """
    if not start <= cut <= end:
        raise ValueError(f"the cut {rfc3339(cut)} is outside the window")
    ordered = unique_in_order(events)
    replay = _Replay(start, cut, opening)
    applied = 0
    while applied < len(ordered) and ordered[applied].time < cut:
        replay.apply(ordered[applied])
        applied += 1
    so_far = replay.usage()
    replay.end = end
    for event in ordered[applied:]:
        if event.time >= end:
            break
        replay.apply(event)
    return so_far, replay.usage()


class _Replay:
    def __init__(self, start: datetime, end: datetime, opening: Opening | None = None) -> None:
        self.start, self.end = start, end
        self.closed: list[_Closed] = []
        self.tasks: list[TaskCharge] = []
        self.quantities: list[QuantityCharge] = []
        self.anomalies: list[Anomaly] = []
        # Without an opening, the replay starts from nothing, before any event.
        begin = opening or Opening(start)
        if begin.at > start:
            raise ValueError(
                f"the opening state at {rfc3339(begin.at)} is after the window's start"
            )
        self.opened_at = None if opening is None else opening.at
        self.instances: dict[str, Span] = dict(begin.runs)
        self.addons: dict[str, Span] = dict(begin.intervals)
        self.providers: dict[str, str] = dict(begin.providers)
        self.application_names: dict[str, str] = dict(begin.application_names)
        self.addon_names: dict[str, str] = dict(begin.addon_names)

    def opening(self) -> Opening:
        """The state left by the events applied so far (all before `self.end`)."""
        return Opening(
            self.end,
            dict(sorted(self.instances.items())),
            dict(sorted(self.addons.items())),
            dict(sorted(self.providers.items())),
            dict(sorted(self.application_names.items())),
            dict(sorted(self.addon_names.items())),
        )

    def in_window(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def anomaly(self, event: Event, kind: str, message: str) -> None:
        # R4: reported with the event's identifier, never dropped silently.
        if self.in_window(event.time):
            self.anomalies.append(
                Anomaly(kind, event.source, event.id, event.resource_id, event.time, message)
            )

    def apply(self, event: Event) -> None:
        if self.opened_at is not None and event.time < self.opened_at:  # in the opening
            raise ValueError(
                f"event {event.id} at {rfc3339(event.time)} is before the opening state"
            )
        data = event.data
        if isinstance(data, InstanceStarted):
            self.instance_started(event, data)
        elif isinstance(data, InstanceStopped):
            self.instance_stopped(event, data)
        elif isinstance(data, AddonProvisioned):
            self.addon_provisioned(event, data)
        elif isinstance(data, AddonPlanChanged):
            self.addon_plan_changed(event, data)
        elif isinstance(data, AddonDeleted):
            self.addon_deleted(event, data)
        elif isinstance(data, TaskPerformed):
            if self.in_window(event.time):
                self.tasks.append(
                    TaskCharge(
                        data.task_id,
                        data.description,
                        event.time,
                        event.source,
                        event.id,
                        data.amount,
                        data.price_key,
                        data.quantity,
                    )
                )
        elif isinstance(data, UsageReported) and self.in_window(event.time):
            self.quantities.append(
                QuantityCharge(
                    data.resource_id, data.meter, event.time, event.source, event.id, data.quantity
                )
            )

    def instance_started(self, event: Event, data: InstanceStarted) -> None:
        if data.application_name:
            self.application_names[data.application_id] = data.application_name
        running = self.instances.get(data.instance_id)
        if running is not None:
            self.anomaly(
                event,
                "duplicate_start",
                (
                    f"instance {data.instance_id} started again at {rfc3339(event.time)} while "
                    f"running since {rfc3339(running.start)}; the first run continues"
                ),
            )
            return
        key = f"instance.{data.flavor}"
        self.instances[data.instance_id] = Span(data.application_id, key, data.role, event.time)

    def instance_stopped(self, event: Event, data: InstanceStopped) -> None:
        running = self.instances.pop(data.instance_id, None)
        if running is None:
            self.anomaly(
                event,
                "stop_without_start",
                (
                    f"instance {data.instance_id} stopped at {rfc3339(event.time)} "
                    "but was not running; the stop is ignored"
                ),
            )
            return
        self.closed.append(_Closed("instance", data.instance_id, running, event.time))

    def addon_provisioned(self, event: Event, data: AddonProvisioned) -> None:
        self.providers[data.addon_id] = data.provider
        if data.name:
            self.addon_names[data.addon_id] = data.name
        key = f"addon.{data.provider}.{data.plan}"
        current = self.addons.get(data.addon_id)
        if current is not None:
            self.anomaly(
                event,
                "duplicate_provision",
                (
                    f"add-on {data.addon_id} provisioned again at {rfc3339(event.time)} while "
                    f"active since {rfc3339(current.start)}; treated as a plan change"
                    if current.price_key != key
                    else f"add-on {data.addon_id} provisioned again at {rfc3339(event.time)} while "
                    f"active since {rfc3339(current.start)}; the interval continues"
                ),
            )
            if current.price_key == key:
                return
            self.closed.append(_Closed("addon", data.addon_id, current, event.time))
        self.addons[data.addon_id] = Span(data.addon_id, key, None, event.time)

    def addon_plan_changed(self, event: Event, data: AddonPlanChanged) -> None:
        if data.provider:
            self.providers[data.addon_id] = data.provider
        provider = self.providers.get(data.addon_id, UNKNOWN_PROVIDER)
        key = f"addon.{provider}.{data.plan}"
        current = self.addons.get(data.addon_id)
        if current is None:
            self.anomaly(
                event,
                "unknown_addon",
                (
                    f"plan change of add-on {data.addon_id} at {rfc3339(event.time)} "
                    "without a known provisioning; an interval starts here"
                ),
            )
        elif current.price_key == key:
            return  # a change to the plan already in force changes nothing
        else:
            self.closed.append(_Closed("addon", data.addon_id, current, event.time))
        self.addons[data.addon_id] = Span(data.addon_id, key, None, event.time)

    def addon_deleted(self, event: Event, data: AddonDeleted) -> None:
        current = self.addons.pop(data.addon_id, None)
        if current is None:
            self.anomaly(
                event,
                "delete_without_addon",
                (
                    f"add-on {data.addon_id} deleted at {rfc3339(event.time)} "
                    "but was not active; the deletion is ignored"
                ),
            )
            return
        self.closed.append(_Closed("addon", data.addon_id, current, event.time))

    def usage(self) -> Usage:
        still_open = [
            _Closed("instance", rid, run, None) for rid, run in self.instances.items()
        ] + [_Closed("addon", rid, run, None) for rid, run in self.addons.items()]
        pieces = [p for c in self.closed + still_open if (p := self.clip(c)) is not None]
        pieces.sort(key=lambda p: (p.start, p.kind, p.resource_id, p.end))
        return Usage(
            tuple(pieces),
            tuple(self.tasks),
            tuple(self.quantities),
            tuple(sorted(self.anomalies, key=lambda a: a.sort_key)),
            dict(sorted(self.application_names.items())),
            dict(sorted(self.addon_names.items())),
        )

    def clip(self, closed: _Closed) -> Piece | None:
        """R4: a run open at the end of the window is billed up to the window's end."""
        run = closed.opened
        run_end = self.end if closed.end is None else closed.end
        start, end = max(run.start, self.start), min(run_end, self.end)
        if start > end or (start == end and not self.in_window(run.start)):
            return None
        still_running = closed.end is None or closed.end > self.end
        return Piece(
            closed.kind,
            closed.resource_id,
            run.owner_id,
            run.price_key,
            run.role,
            start,
            end,
            still_running,
        )
