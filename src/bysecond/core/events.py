"""Usage events: the typed, validated forms of CONTRACT.md's CloudEvents (R2, R3).

`parse_event` turns one decoded CloudEvent into an `Event` or raises `EventError` naming
the field. It is pure: the caller passes `now` when events from the future must be
refused, so the clock stays at the edge. `stored_event` reads back a document that
`parse_event` accepted when it was stored, without checking it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .period import require_aware

ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
ROLES: Final = ("run", "build")


class EventError(ValueError):
    """Why one event was refused: the field at fault and a message for a person."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class InstanceStarted:
    instance_id: str
    application_id: str
    flavor: str
    role: str
    application_name: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceStopped:
    instance_id: str


@dataclass(frozen=True, slots=True)
class AddonProvisioned:
    addon_id: str
    provider: str
    plan: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AddonPlanChanged:
    addon_id: str
    plan: str
    provider: str | None = None  # optional: lets an add-on unknown so far be priced (R4)


@dataclass(frozen=True, slots=True)
class AddonDeleted:
    addon_id: str


@dataclass(frozen=True, slots=True)
class TaskPerformed:
    task_id: str
    description: str
    amount: Decimal | None = None
    price_key: str | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class UsageReported:
    resource_id: str
    meter: str
    quantity: Decimal


EventData = (
    InstanceStarted
    | InstanceStopped
    | AddonProvisioned
    | AddonPlanChanged
    | AddonDeleted
    | TaskPerformed
    | UsageReported
)


@dataclass(frozen=True, slots=True)
class Event:
    """One usage event, identified by `(source, id)` (R3)."""

    source: str
    id: str
    type: str
    time: datetime
    organization_id: str
    data: EventData

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)

    @property
    def resource_id(self) -> str:
        data = self.data
        if isinstance(data, InstanceStarted | InstanceStopped):
            return data.instance_id
        if isinstance(data, AddonProvisioned | AddonPlanChanged | AddonDeleted):
            return data.addon_id
        if isinstance(data, TaskPerformed):
            return data.task_id
        return data.resource_id

    @property
    def sort_key(self) -> tuple[datetime, int, str, str]:
        """R3: by `time`, never by arrival; ends before starts at one instant."""
        return (self.time, _ORDER[self.type], self.source, self.id)


# R3: at one instant, stop/delete first, then start/provision; plan changes and one-off
# charges follow.
_ORDER: Final = {
    "instance.stopped": 0,
    "addon.deleted": 0,
    "instance.started": 1,
    "addon.provisioned": 1,
    "addon.plan_changed": 2,
    "task.performed": 3,
    "usage.reported": 3,
}
EVENT_TYPES: Final = tuple(_ORDER)


def parse_event(raw: Any, *, now: datetime | None = None) -> Event:
    """Validate one decoded CloudEvent 1.0 (CONTRACT.md) into a typed `Event`."""
    if not isinstance(raw, Mapping):
        raise EventError("event", "must be a JSON object")
    if raw.get("specversion") != "1.0":
        raise EventError("specversion", 'must be "1.0"')
    event_id = _text(raw, "id", "id")
    source = _text(raw, "source", "source")
    kind = _text(raw, "type", "type")
    if kind not in _ORDER:
        raise EventError("type", f"unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}")
    subject = _text(raw, "subject", "subject")
    if not ID_PATTERN.match(subject):
        raise EventError("subject", f"{subject!r} is not a valid organisation id")
    time = parse_instant(raw.get("time"), "time")
    if now is not None and time > now + FUTURE_TOLERANCE:
        raise EventError("time", f"{raw['time']} is more than 5 minutes in the future")
    content_type = raw.get("datacontenttype", "application/json")
    if content_type != "application/json":
        raise EventError("datacontenttype", "must be application/json")
    data = raw.get("data")
    if not isinstance(data, Mapping):
        raise EventError("data", "must be a JSON object")
    return Event(source, event_id, kind, time, subject, _DATA_PARSERS[kind](data))


def parse_instant(value: Any, field: str) -> datetime:
    """An RFC 3339 instant with its offset, kept in UTC (R1)."""
    if not isinstance(value, str) or not value:
        raise EventError(field, "is required: an RFC 3339 instant")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(field, f"{value!r} is not an RFC 3339 instant") from None
    if parsed.tzinfo is None:
        raise EventError(field, f"{value!r} has no time zone offset")
    try:
        return require_aware(parsed, field)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC instant
        raise EventError(field, f"{value!r} is out of range once in UTC") from None


def _text(
    raw: Mapping[str, Any], key: str, field: str, pattern: re.Pattern[str] | None = None
) -> str:
    value = raw.get(key)
    if value is None:
        raise EventError(field, "is required")
    if not isinstance(value, str):
        raise EventError(field, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise EventError(field, "must not be empty")
    if "\x00" in value:  # no database keeps a NUL inside text
        raise EventError(field, "must not contain NUL characters")
    if pattern is not None and not pattern.match(value):
        raise EventError(field, f"{value!r} is not a valid identifier")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    if raw.get(key) is None:
        return None
    return _text(raw, key, f"data.{key}")


def _ident(raw: Mapping[str, Any], key: str) -> str:
    return _text(raw, key, f"data.{key}", ID_PATTERN)


def _name(raw: Mapping[str, Any], key: str) -> str:
    return _text(raw, key, f"data.{key}", NAME_PATTERN)


def _decimal(raw: Mapping[str, Any], key: str, *, text_only: bool) -> Decimal:
    field = f"data.{key}"
    value = raw.get(key)
    if value is None:
        raise EventError(field, "is required")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise EventError(field, "must be a decimal number")
    if text_only and not isinstance(value, str):
        raise EventError(field, 'amounts are decimal strings such as "12.34"')
    try:
        # A JSON number decoded as float is read back through its shortest text.
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise EventError(field, f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise EventError(field, "must be finite")
    if number < 0:
        raise EventError(field, "must not be negative")
    return number


def _instance_started(raw: Mapping[str, Any]) -> InstanceStarted:
    role = _text(raw, "role", "data.role")
    if role not in ROLES:
        raise EventError("data.role", f"must be run or build, got {role!r}")
    return InstanceStarted(
        _ident(raw, "instance_id"),
        _ident(raw, "application_id"),
        _name(raw, "flavor"),
        role,
        _optional_text(raw, "application_name"),
        _optional_text(raw, "zone"),
    )


def _task_performed(raw: Mapping[str, Any]) -> TaskPerformed:
    task_id = _ident(raw, "task_id")
    description = _text(raw, "description", "data.description")
    has_amount = raw.get("amount") is not None
    has_key = raw.get("price_key") is not None
    if has_amount == has_key:
        raise EventError("data", "a task has either amount, or price_key and quantity")
    if has_amount:
        return TaskPerformed(task_id, description, amount=_decimal(raw, "amount", text_only=True))
    key = _text(raw, "price_key", "data.price_key")
    if not key.startswith("task."):
        raise EventError("data.price_key", f"{key!r} is not a task price (task.<name>)")
    return TaskPerformed(
        task_id, description, price_key=key, quantity=_decimal(raw, "quantity", text_only=False)
    )


def _instance_stopped(raw: Mapping[str, Any]) -> InstanceStopped:
    return InstanceStopped(_ident(raw, "instance_id"))


def _addon_provisioned(raw: Mapping[str, Any]) -> AddonProvisioned:
    return AddonProvisioned(
        _ident(raw, "addon_id"),
        _name(raw, "provider"),
        _name(raw, "plan"),
        _optional_text(raw, "name"),
    )


def _addon_plan_changed(raw: Mapping[str, Any]) -> AddonPlanChanged:
    provider = _name(raw, "provider") if raw.get("provider") is not None else None
    return AddonPlanChanged(_ident(raw, "addon_id"), _name(raw, "plan"), provider)


def _addon_deleted(raw: Mapping[str, Any]) -> AddonDeleted:
    return AddonDeleted(_ident(raw, "addon_id"))


def _usage_reported(raw: Mapping[str, Any]) -> UsageReported:
    return UsageReported(
        _ident(raw, "resource_id"), _name(raw, "meter"), _decimal(raw, "quantity", text_only=False)
    )


_DATA_PARSERS: Final[dict[str, Callable[[Mapping[str, Any]], EventData]]] = {
    "instance.started": _instance_started,
    "instance.stopped": _instance_stopped,
    "addon.provisioned": _addon_provisioned,
    "addon.plan_changed": _addon_plan_changed,
    "addon.deleted": _addon_deleted,
    "task.performed": _task_performed,
    "usage.reported": _usage_reported,
}


def stored_event(raw: Mapping[str, Any]) -> Event:
    """The `Event` of a stored document: one `parse_event` accepted at ingestion.

    Billing and estimates read every event of an organisation back from the store; the
    rules were checked once, at the edge, so this only converts (a third of the time).
    For every document `parse_event` accepts, both give the same `Event` (a property
    test holds them to it). Anything else is not a stored document: a `KeyError` or a
    `ValueError` may then be all it says.
    """
    kind = raw["type"]
    time = datetime.fromisoformat(raw["time"]).astimezone(UTC)
    data = raw["data"]
    return Event(raw["source"], raw["id"], kind, time, raw["subject"], _STORED[kind](data))


def _number(value: Any) -> Decimal:
    """`_decimal`'s conversion, for values it accepted."""
    return Decimal(repr(value) if isinstance(value, float) else value)


def _stored_task(d: Mapping[str, Any]) -> TaskPerformed:
    amount = d.get("amount")
    if amount is not None:
        return TaskPerformed(d["task_id"], d["description"], amount=Decimal(amount))
    return TaskPerformed(
        d["task_id"], d["description"], price_key=d["price_key"], quantity=_number(d["quantity"])
    )


_STORED: Final[dict[str, Callable[[Mapping[str, Any]], EventData]]] = {
    "instance.started": lambda d: InstanceStarted(
        d["instance_id"],
        d["application_id"],
        d["flavor"],
        d["role"],
        d.get("application_name"),
        d.get("zone"),
    ),
    "instance.stopped": lambda d: InstanceStopped(d["instance_id"]),
    "addon.provisioned": lambda d: AddonProvisioned(
        d["addon_id"], d["provider"], d["plan"], d.get("name")
    ),
    "addon.plan_changed": lambda d: AddonPlanChanged(d["addon_id"], d["plan"], d.get("provider")),
    "addon.deleted": lambda d: AddonDeleted(d["addon_id"]),
    "task.performed": _stored_task,
    "usage.reported": lambda d: UsageReported(d["resource_id"], d["meter"], _number(d["quantity"])),
}
