"""The opening states a billing run reads and writes (store/schema.py `OpeningState`).

A period starting at T is billed from the organisation's state at T and its events from
T on (core.metering.Opening), instead of every event since its first. A stored state is
trusted only while the organisation's count of events before its instant is the count
it was made from: events are only ever added (R3), so the same count means the same
events. Late usage (R14) of any earlier period changes the count, and the period's
events are then replayed from the start, as they always were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Connection, Table, and_, func, select

from bysecond.core.events import Event
from bysecond.core.metering import Opening
from bysecond.core.opening import OPENING_VERSION, opening_from_json, opening_json
from bysecond.store.events import events_before, events_for
from bysecond.store.schema import OpeningState
from bysecond.store.types import to_micros

_STATES: Final = cast(Table, OpeningState.__table__)


@dataclass(frozen=True)
class CountedOpening:
    """An opening state and the organisation's count of events before its instant."""

    opening: Opening
    events_before: int


def openings_at(
    connection: Connection, starts: Mapping[str, datetime]
) -> dict[str, CountedOpening]:
    """Each organisation's latest opening state at or before `starts[organisation]` that
    still holds, or an empty one at its start when it has no event before it. An
    organisation left out must be billed from all its events.
    """
    found: dict[str, CountedOpening] = {}
    by_start: dict[datetime, list[str]] = defaultdict(list)
    for organization_id, start in starts.items():
        by_start[start].append(organization_id)
    for start, organizations in by_start.items():  # one query per time zone
        latest = (
            select(_STATES.c.organization_id, func.max(_STATES.c.at).label("at"))
            .where(_STATES.c.organization_id.in_(organizations))
            .where(_STATES.c.at <= start, _STATES.c.version == OPENING_VERSION)
            .group_by(_STATES.c.organization_id)
            .subquery()
        )
        rows = connection.execute(
            select(
                _STATES.c.organization_id, _STATES.c.at, _STATES.c.events_before, _STATES.c.state
            )
            .join(
                latest,
                and_(
                    latest.c.organization_id == _STATES.c.organization_id,
                    latest.c.at == _STATES.c.at,
                ),
            )
            .where(_STATES.c.version == OPENING_VERSION)
        ).all()
        stored = {org: (at, count, bytes(state)) for org, at, count, state in rows}
        now = events_before(connection, {org: at for org, (at, _, _) in stored.items()})
        for org, (at, count, state) in stored.items():
            if now[org] == count:
                found[org] = CountedOpening(opening_from_json(at, state), count)
        # No state, or one that no longer holds: nothing before the start is nothing to
        # carry (an organisation's first period, the usual case).
        rest = [org for org in organizations if org not in found]
        for org, count in events_before(connection, dict.fromkeys(rest, start)).items():
            if count == 0:
                found[org] = CountedOpening(Opening(start), 0)
    return found


def opened_events(
    connection: Connection, organization_id: str, start: datetime, before: datetime
) -> tuple[CountedOpening | None, list[Event]]:
    """What a window starting at `start` is metered from: the organisation's opening
    state at or before it (`openings_at`), and its events before `before` from the
    state's instant; without a state, every event before `before`."""
    counted = openings_at(connection, {organization_id: start}).get(organization_id)
    if counted is None:
        return None, events_for(connection, organization_id, before=before)
    events = events_for(connection, organization_id, before=before, since=counted.opening.at)
    return counted, events


@dataclass(frozen=True, slots=True)
class OpeningRow:
    """A state in its stored form, made where it is computed (a billing worker), so that
    the process writing the shard only writes it."""

    at: datetime
    events_before: int
    state: bytes


def opening_row(counted: CountedOpening) -> OpeningRow:
    return OpeningRow(counted.opening.at, counted.events_before, opening_json(counted.opening))


# Values are bound, never spliced: the statement is a constant.
_UPSERT: Final = (
    "INSERT INTO opening_states (organization_id, at, version, events_before, state)"
    " VALUES ({0}, {0}, {0}, {0}, {0}) ON CONFLICT (organization_id, at) DO UPDATE SET"
    " version = excluded.version, events_before = excluded.events_before,"
    " state = excluded.state"
)


def save_openings(connection: Connection, rows: Mapping[str, OpeningRow]) -> None:
    """Store each organisation's state at its instant, replacing one stored there.

    Through the driver, in one executemany: a shard's 500 rows through the ORM's
    statement took a tenth of the writing process's time for the shard.
    """
    if not rows:
        return
    sqlite = connection.dialect.name == "sqlite"
    values = [
        (
            org,
            to_micros(row.at) if sqlite else row.at,
            OPENING_VERSION,
            row.events_before,
            row.state,
        )
        for org, row in sorted(rows.items())
    ]
    connection.exec_driver_sql(_UPSERT.format("?" if sqlite else "%s"), values)
