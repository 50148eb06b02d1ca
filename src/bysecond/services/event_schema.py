"""Edge validation of CloudEvents with msgspec: the fast path of `core.events.parse_event`.

`core.events.parse_event` stays the reference: it defines which events are valid, with
which field and message a refusal names. Bulk ingestion spends most of its time there, so
this module checks a decoded event against msgspec Structs (one per event type, a union
tagged by `type`; types, required fields and patterns checked in C), then the few rules
msgspec cannot say (non-blank text without NUL, RFC 3339 time, decimals) in Python.

The contract between the two paths: whatever this module accepts, `parse_event` accepts,
and `fast_event` gives the same facts `parse_event`'s `Event` would (time, organisation,
resource, what the event registers and prices). Anything this module refuses (or cannot
judge) goes through `parse_event`, which gives the refusal its field and message. It may
be stricter than `parse_event` (such an event is then only slower), never looser:
`tests/unit/test_ingest_event_schema.py` checks both with Hypothesis.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import msgspec

from bysecond.core.events import FUTURE_TOLERANCE, ID_PATTERN, NAME_PATTERN

# Identifiers and names match the reference's own patterns, checked below in Python:
# msgspec's `Meta(pattern=...)` costs several times more than the compiled pattern.
Ident = str
Name = str
_ID: Final = ID_PATTERN.match
_from_iso: Final = datetime.fromisoformat
_NAME: Final = NAME_PATTERN.match
# A JSON number or a decimal string; the value is then read as `parse_event` reads it.
Number = str | int | float


class _Data(msgspec.Struct, frozen=True):
    pass


class InstanceStartedData(_Data, frozen=True):
    instance_id: Ident
    application_id: Ident
    flavor: Name
    role: Literal["run", "build"]
    application_name: str | None = None
    zone: str | None = None


class InstanceStoppedData(_Data, frozen=True):
    instance_id: Ident


class AddonProvisionedData(_Data, frozen=True):
    addon_id: Ident
    provider: Name
    plan: Name
    name: str | None = None


class AddonPlanChangedData(_Data, frozen=True):
    addon_id: Ident
    plan: Name
    provider: Name | None = None


class AddonDeletedData(_Data, frozen=True):
    addon_id: Ident


class TaskPerformedData(_Data, frozen=True):
    task_id: Ident
    description: str
    amount: str | None = None
    price_key: str | None = None
    quantity: Number | None = None


class UsageReportedData(_Data, frozen=True):
    resource_id: Ident
    meter: Name
    quantity: Number


class _Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """CONTRACT.md's CloudEvent 1.0 attributes; unknown attributes are ignored, as
    `parse_event` ignores them."""

    specversion: Literal["1.0"]
    id: str
    source: str
    subject: Ident
    time: str
    datacontenttype: Literal["application/json"] = "application/json"


class InstanceStarted(_Envelope, frozen=True, tag="instance.started"):
    data: InstanceStartedData


class InstanceStopped(_Envelope, frozen=True, tag="instance.stopped"):
    data: InstanceStoppedData


class AddonProvisioned(_Envelope, frozen=True, tag="addon.provisioned"):
    data: AddonProvisionedData


class AddonPlanChanged(_Envelope, frozen=True, tag="addon.plan_changed"):
    data: AddonPlanChangedData


class AddonDeleted(_Envelope, frozen=True, tag="addon.deleted"):
    data: AddonDeletedData


class TaskPerformed(_Envelope, frozen=True, tag="task.performed"):
    data: TaskPerformedData


class UsageReported(_Envelope, frozen=True, tag="usage.reported"):
    data: UsageReportedData


AnyEvent = (
    InstanceStarted
    | InstanceStopped
    | AddonProvisioned
    | AddonPlanChanged
    | AddonDeleted
    | TaskPerformed
    | UsageReported
)
_TYPE: Final[dict[type[_Envelope], str]] = {
    InstanceStarted: "instance.started",
    InstanceStopped: "instance.stopped",
    AddonProvisioned: "addon.provisioned",
    AddonPlanChanged: "addon.plan_changed",
    AddonDeleted: "addon.deleted",
    TaskPerformed: "task.performed",
    UsageReported: "usage.reported",
}
_DECODER: Final = msgspec.json.Decoder(AnyEvent)


class NotFast(Exception):
    """This module does not accept the event: `parse_event` must judge it."""


def fast_event(item: bytes | str, raw: Any, now: datetime) -> tuple[Any, str, datetime]:
    """The event of the JSON text `item` as a Struct, its type and its time in UTC, if it
    is valid by CONTRACT.md; raises `NotFast` otherwise (or when unsure).

    `raw` is `item` as the reference decodes it (orjson), what gets stored: the two
    decoders agree on every JSON text both accept (the last of repeated keys wins in
    both; a repeated `type` msgspec refuses), and `raw`'s type is checked again.
    """
    try:
        event = _DECODER.decode(item)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeError):
        raise NotFast from None
    kind = type(event)
    name = _TYPE[kind]
    if raw.get("type") != name:
        raise NotFast
    # What msgspec's types do not say: parse_event's patterns and `_text` rules.
    data = event.data
    text = event.id
    if not text or text.isspace() or "\x00" in text:  # _text, inlined
        raise NotFast
    text = event.source
    if not text or text.isspace() or "\x00" in text:
        raise NotFast
    if not _ID(event.subject):
        raise NotFast
    if kind is InstanceStarted:
        if not (
            _ID(data.instance_id)
            and _ID(data.application_id)
            and _NAME(data.flavor)
            and _optional_text(data.application_name)
            and _optional_text(data.zone)
        ):
            raise NotFast
    elif kind is InstanceStopped:
        if not _ID(data.instance_id):
            raise NotFast
    elif kind is AddonProvisioned:
        if not (
            _ID(data.addon_id)
            and _NAME(data.provider)
            and _NAME(data.plan)
            and _optional_text(data.name)
        ):
            raise NotFast
    elif kind is AddonPlanChanged:
        provider = data.provider
        if not (_ID(data.addon_id) and _NAME(data.plan) and (provider is None or _NAME(provider))):
            raise NotFast
    elif kind is AddonDeleted:
        if not _ID(data.addon_id):
            raise NotFast
    elif kind is TaskPerformed:
        if not _ID(data.task_id):
            raise NotFast
        _check_task(data)
    else:
        if not (_ID(data.resource_id) and _NAME(data.meter)):
            raise NotFast
        _decimal(data.quantity)
    # parse_instant's reading of `time`, inlined: it is a third of this function.
    try:
        instant = _from_iso(event.time)
        if instant.tzinfo is None:  # fromisoformat's offsets are fixed: never None
            raise NotFast
        instant = instant.astimezone(UTC)
    except (ValueError, OverflowError):
        raise NotFast from None
    if instant > now + FUTURE_TOLERANCE:
        raise NotFast
    return event, name, instant


def _text(value: str) -> bool:
    """`parse_event`'s free text: not blank (as `str.strip` sees it), no NUL."""
    return bool(value) and not value.isspace() and "\x00" not in value


def _optional_text(value: str | None) -> bool:
    return value is None or _text(value)


def _check_task(data: TaskPerformedData) -> None:
    if not _text(data.description):
        raise NotFast
    if (data.amount is None) == (data.price_key is None):
        raise NotFast
    if data.amount is not None:
        _decimal(data.amount)
        return
    key = data.price_key
    if key is None or not _text(key) or not key.startswith("task."):
        raise NotFast
    if data.quantity is None:
        raise NotFast
    _decimal(data.quantity)


def _decimal(value: Number | None) -> Decimal:
    """`parse_event`'s reading of a quantity or an amount: finite, not negative."""
    if value is None or type(value) is bool:
        raise NotFast
    try:
        number = Decimal(repr(value) if type(value) is float else value)
    except (InvalidOperation, ValueError, TypeError):
        raise NotFast from None
    if not number.is_finite() or number < 0:
        raise NotFast
    return number
