"""Raw CloudEvents -> rows to store: decode, validate, canonicalise, hash (R3).

Pure and picklable both ways, so that bulk ingestion can run it in worker processes
while the main process writes the previous chunk. No database, no clock: the caller
passes `now`.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from bysecond.core.events import (
    AddonPlanChanged,
    AddonProvisioned,
    Event,
    EventError,
    InstanceStarted,
    TaskPerformed,
    UsageReported,
    parse_event,
)
from bysecond.store.events import EventRow
from bysecond.store.schema import DEFAULT_CURRENCY
from bysecond.store.types import EPOCH, MICROSECOND, to_micros

from . import event_schema as schema
from .event_schema import NotFast, fast_event
from .pricing import PriceCheck
from .registrations import Registrations

Raw = bytes | str | Mapping[str, Any]
# R3: the same event sent twice with its keys in another order is the same payload.
CANONICAL: Final = orjson.OPT_SORT_KEYS


@dataclass(frozen=True, slots=True)
class Refusal:
    """An item that is not a valid event; `index` is its place in the chunk."""

    index: int
    source: str | None
    id: str | None
    field: str
    message: str


@dataclass(slots=True)
class PreparedChunk:
    """The valid events of a chunk, each (source, id) once, with what they imply.

    `rows[i]` came from item `positions[i]`. A later item with the same (source, id) is a
    `repeat` (item index, row position, its payload hash): whether it is a duplicate or a
    conflict depends on which payload ends up stored, which only the database knows.
    The per-row lists let the writer keep only what the rows it accepted imply;
    `registrations` and `unpriced` are worked out in advance for all rows, the case of
    a chunk of new events.
    """

    size: int
    rows: list[EventRow] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    repeats: list[tuple[int, int, bytes]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    # (row position, price key) of each event whose usage needs a catalog price (R5).
    priced: list[tuple[int, str]] = field(default_factory=list)
    # (row position, add-on id, plan) of plan changes that do not name the provider.
    plan_changes: list[tuple[int, str, str]] = field(default_factory=list)
    # Registered on the fly (CONTRACT.md): (row position, id, name).
    applications: list[tuple[int, str, str | None]] = field(default_factory=list)
    # (row position, id, provider, name).
    addons: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    # (row position, price key, currency) of the `priced` rows no price covers (R4).
    unpriced: list[tuple[int, str, str]] = field(default_factory=list)
    registrations: Registrations = field(default_factory=Registrations)

    def named(self, refused: Collection[int]) -> Registrations:
        """What the rows not in `refused` name, to register."""
        rows = self.rows
        named = Registrations({row[4] for p, row in enumerate(rows) if p not in refused})
        for position, application, name in self.applications:
            if position not in refused:
                named.add_application((rows[position][4], application), name)
        for position, addon, provider, addon_name in self.addons:
            if position not in refused:
                named.add_addon((rows[position][4], addon), provider, addon_name)
        return named

    # A chunk crosses a process boundary in bulk ingestion. marshal writes these lists of
    # plain tuples four times faster than pickle, and the receiving process is the one
    # writing to the database: every microsecond spent there bounds the ingest rate.
    def __getstate__(self) -> bytes:
        refusals = [(r.index, r.source, r.id, r.field, r.message) for r in self.refusals]
        named = self.registrations
        return marshal.dumps(
            (
                self.size,
                self.rows,
                self.positions,
                self.repeats,
                refusals,
                self.priced,
                self.plan_changes,
                self.applications,
                self.addons,
                self.unpriced,
                (named.organizations, named.applications, named.addons),
            )
        )

    def __setstate__(self, state: bytes) -> None:
        (
            self.size,
            self.rows,
            self.positions,
            self.repeats,
            refusals,
            self.priced,
            self.plan_changes,
            self.applications,
            self.addons,
            self.unpriced,
            named,
        ) = marshal.loads(state)
        self.refusals = [Refusal(*refusal) for refusal in refusals]
        self.registrations = Registrations(*named)


def decode(item: Raw) -> Any:
    """One item as a decoded JSON value; raises `EventError` on field "event"."""
    if isinstance(item, Mapping):
        return item
    try:
        return orjson.loads(item)
    except orjson.JSONDecodeError as error:
        if not item.strip():
            raise EventError("event", "empty line: expected one JSON object") from None
        raise EventError("event", f"malformed JSON: {error}") from None


def canonical_document(raw: Mapping[str, Any]) -> bytes:
    """The stored form of an event: compact JSON with sorted keys."""
    try:
        return orjson.dumps(raw if type(raw) is dict else dict(raw), option=CANONICAL)
    except TypeError as error:
        raise EventError("event", f"cannot be stored as JSON: {error}") from None


def prepare_marshalled(items: bytes, now: datetime, prices: PriceCheck) -> PreparedChunk:
    """`prepare_chunk` of a list of items sent by `marshal.dumps` (see `__getstate__`)."""
    return prepare_chunk(marshal.loads(items), now, prices)


def prepare_chunk(
    items: Sequence[Raw], now: datetime, prices: PriceCheck, *, fast: bool = True
) -> PreparedChunk:
    """Validate every item, turn the valid ones into rows, and note what they register
    and which usage `prices` does not cover.

    Each decoded item goes through `event_schema.fast_event` (msgspec) first; what that
    does not accept goes through the reference, `parse_event`, which says why it is
    refused. `fast=False` uses the reference alone (the tests compare both).
    This loop is the hot path of bulk ingestion: it avoids needless calls.
    """
    chunk = PreparedChunk(len(items))
    rows, positions, repeats = chunk.rows, chunk.positions, chunk.repeats
    received_at = to_micros(now)
    first: dict[tuple[str, str], int] = {}
    sha256 = hashlib.sha256
    dumps, loads, epoch = orjson.dumps, orjson.loads, EPOCH
    for index, item in enumerate(items):
        raw: Any = None
        checked: Any = None
        try:
            kind_of_item = type(item)
            if kind_of_item is bytes or kind_of_item is str:  # a line: the usual case
                try:
                    raw = loads(item)  # type: ignore[arg-type]
                except orjson.JSONDecodeError:
                    raw = decode(item)  # raises EventError with the reference's message
                if fast and type(raw) is dict:
                    try:  # noqa: SIM105 - suppress() costs more on this hot path
                        checked = fast_event(item, raw, now)  # type: ignore[arg-type]
                    except NotFast:
                        pass
            else:
                raw = decode(item)
            if checked is None:
                event = parse_event(raw, now=now)
                document = canonical_document(raw)
            else:
                # fast_event accepted a dict of JSON values: orjson can always write it.
                document = dumps(raw, option=CANONICAL)
        except EventError as error:
            chunk.refusals.append(
                Refusal(index, _text(raw, "source"), _text(raw, "id"), error.field, error.message)
            )
            continue
        digest = sha256(document).digest()  # the payload hash (R3)
        if checked is None:
            source, event_id, kind, time = event.source, event.id, event.type, event.time
            organization, resource = event.organization_id, event.resource_id
        else:
            envelope, kind, time = checked
            source, event_id, organization = envelope.source, envelope.id, envelope.subject
            resource = _resource(envelope.data)
        key = (source, event_id)
        position = first.setdefault(key, len(rows))
        if position < len(rows):
            repeats.append((index, position, digest))
            continue
        rows.append(
            (
                source,
                event_id,
                kind,
                (time - epoch) // MICROSECOND,
                organization,
                resource,
                digest,
                received_at,
                document.decode(),
            )
        )
        positions.append(index)
        if checked is None:
            _note_implications(chunk, position, event)
        else:
            _note_fast_implications(chunk, position, envelope.data)
    chunk.registrations = chunk.named(())
    # PriceCheck.currency and .missing, inlined: a call each per priced event costs more.
    currency_of, spans_of = prices.currencies.get, prices.spans.get
    for position, price_key in chunk.priced:
        row = rows[position]
        currency, micros = currency_of(row[4], DEFAULT_CURRENCY), row[3]
        for begin, end in spans_of((price_key, currency), ()):
            if begin <= micros and (end is None or micros < end):
                break
        else:
            chunk.unpriced.append((position, price_key, currency))
    return chunk


def _resource(data: Any) -> str:
    """`Event.resource_id` of an event `fast_event` accepted."""
    kind = type(data)
    if kind is schema.InstanceStartedData or kind is schema.InstanceStoppedData:
        return str(data.instance_id)
    if kind is schema.TaskPerformedData:
        return str(data.task_id)
    if kind is schema.UsageReportedData:
        return str(data.resource_id)
    return str(data.addon_id)


def _note_fast_implications(chunk: PreparedChunk, position: int, data: Any) -> None:
    """`_note_implications` of an event `fast_event` accepted."""
    kind = type(data)
    if kind is schema.InstanceStartedData:
        chunk.priced.append((position, f"instance.{data.flavor}"))
        chunk.applications.append((position, data.application_id, data.application_name))
    elif kind is schema.AddonProvisionedData:
        chunk.priced.append((position, f"addon.{data.provider}.{data.plan}"))
        chunk.addons.append((position, data.addon_id, data.provider, data.name))
    elif kind is schema.AddonPlanChangedData:
        if data.provider is None:
            chunk.plan_changes.append((position, data.addon_id, data.plan))
        else:
            chunk.priced.append((position, f"addon.{data.provider}.{data.plan}"))
        chunk.addons.append((position, data.addon_id, data.provider, None))
    elif kind is schema.TaskPerformedData:
        if data.price_key is not None:  # a task with an amount carries its own price
            chunk.priced.append((position, data.price_key))
    elif kind is schema.UsageReportedData:
        chunk.priced.append((position, f"usage.{data.meter}"))


def _note_implications(chunk: PreparedChunk, position: int, event: Event) -> None:
    data = event.data
    if isinstance(data, InstanceStarted):
        chunk.priced.append((position, f"instance.{data.flavor}"))
        chunk.applications.append((position, data.application_id, data.application_name))
    elif isinstance(data, AddonProvisioned):
        chunk.priced.append((position, f"addon.{data.provider}.{data.plan}"))
        chunk.addons.append((position, data.addon_id, data.provider, data.name))
    elif isinstance(data, AddonPlanChanged):
        if data.provider is None:
            chunk.plan_changes.append((position, data.addon_id, data.plan))
        else:
            chunk.priced.append((position, f"addon.{data.provider}.{data.plan}"))
        chunk.addons.append((position, data.addon_id, data.provider, None))
    elif isinstance(data, TaskPerformed):
        if data.price_key is not None:  # a task with an amount carries its own price
            chunk.priced.append((position, data.price_key))
    elif isinstance(data, UsageReported):
        chunk.priced.append((position, f"usage.{data.meter}"))


def _text(raw: Any, key: str) -> str | None:
    value = raw.get(key) if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) else None
