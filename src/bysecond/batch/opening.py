"""Opening states in the columnar run: a shard's organisations billed from the state at
their period's start and their events from its instant on (services/openings.py), and
the state at their period's end made for the next period.

The state's open runs go to the uptime query as starts at their own instants, before
any event read: the query then sees each instance as the core's replay does after the
events before the state (R2, R4), and its applications' names as a table of their own.
The add-ons' part goes to the core, which meters add-on events from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from bysecond.core.metering import Opening, Span
from bysecond.core.opening import instant, micros
from bysecond.services.openings import CountedOpening

from .load import EventReader
from .uptime import OpenRun, ShardUptime

_INSTANCE_PRICE = "instance."
# More organisations of a shard than this share without a state: one read of their
# whole histories with the rest, instead of one read each.
_READ_ALONE_AT_MOST = 0.25


def read_events(
    reader: EventReader,
    organizations: Sequence[str],
    before_micros: int,
    openings: Mapping[str, CountedOpening],
) -> pa.Table:
    """The shard's events an invoice needs: from its opening state's instant for an
    organisation that has one, all of them before `before_micros` for one that has not.
    """
    if not openings:
        return reader.read(organizations, before_micros)
    lacking = [org for org in organizations if org not in openings]
    instants = {micros(counted.opening.at) for counted in openings.values()}
    if len(lacking) > _READ_ALONE_AT_MOST * len(organizations):
        events = reader.read(organizations, before_micros)
    else:
        since = min(instants)
        bounded = reader.read(organizations, before_micros, since)
        if not lacking and len(instants) == 1:
            # Every organisation's state is at `since` (one time zone, the usual case):
            # the read is already what each needs. Organisations outside the shard that
            # the range brings are left out later, as from any read.
            return bounded
        alone = [reader.read([org], before_micros) for org in lacking]
        if lacking:  # their events from `since` come again whole from their own read
            bounded = bounded.filter(
                pc.invert(pc.is_in(bounded.column("organization_id"), pa.array(lacking)))
            )
        events = pa.concat_tables([bounded, *alone])
    # Each organisation's events from its state's instant (from the first without one).
    # An organisation outside the shard, which a range read may bring, is left out.
    shard = pa.array(organizations, pa.string())
    first = pa.array(
        [micros(openings[o].opening.at) if o in openings else None for o in organizations],
        pa.int64(),
    )
    since_each = pc.take(first, pc.index_in(events.column("organization_id"), shard))
    kept = pc.or_kleene(
        pc.and_kleene(pc.is_null(since_each), pc.is_in(events.column("organization_id"), shard)),
        pc.greater_equal(events.column("time_us"), since_each),
    )
    return events.filter(pc.fill_null(kept, False))


def opening_runs(openings: Mapping[str, CountedOpening], schema: pa.Schema) -> pa.Table:
    """Each state's open runs as the starts that opened them, rows of `schema`
    (batch/load.py's), at their own instants, before any event of the state's."""
    rows: dict[str, list[object]] = {name: [] for name in schema.names}
    for org, counted in sorted(openings.items()):
        for instance_id, run in sorted(counted.opening.runs.items()):
            data = {
                "application_id": run.owner_id,
                "flavor": run.price_key.removeprefix(_INSTANCE_PRICE),
                "role": run.role,
            }
            rows["organization_id"].append(org)
            rows["time_us"].append(micros(run.start))
            rows["type"].append("instance.started")
            rows["source"].append("")
            rows["id"].append("")
            rows["resource_id"].append(instance_id)
            rows["document"].append(orjson.dumps({"data": data}).decode())
    return pa.table(rows, schema=schema)


def opening_names(openings: Mapping[str, CountedOpening]) -> pa.Table:
    """The applications' names the states carry, for the uptime query."""
    found = [
        (org, app, name)
        for org, counted in sorted(openings.items())
        for app, name in sorted(counted.opening.application_names.items())
    ]
    return pa.table(
        {
            "organization_id": pa.array([org for org, _, _ in found], pa.string()),
            "application_id": pa.array([app for _, app, _ in found], pa.string()),
            "application_name": pa.array([name for _, _, name in found], pa.string()),
        }
    )


def closing_openings(
    ends: Mapping[str, int],
    uptime: ShardUptime,
    addon_states: Mapping[str, Opening],
    counts: Mapping[str, int],
) -> dict[str, CountedOpening]:
    """The state at each organisation's period end (`ends`, microseconds), for its next
    period: the uptime query's open runs and names, with the add-ons' part the core's
    replay of the other events left (`addon_states`, batch/assemble.py's `other_usage`).
    `counts`: the organisation's events before its end, which the state is made from."""
    runs: dict[str, dict[str, Span]] = {org: {} for org in ends}
    for run in uptime.open_runs:
        if run.organization_id in runs:
            runs[run.organization_id][run.instance_id] = _span(run)
    names: dict[str, dict[str, str]] = {org: {} for org in ends}
    for org, app, name in uptime.names:
        if org in names:
            names[org][app] = name
    made: dict[str, CountedOpening] = {}
    for org in ends:
        addons = addon_states[org]
        state = Opening(
            addons.at,
            runs[org],
            addons.intervals,
            addons.providers,
            names[org],
            addons.addon_names,
        )
        made[org] = CountedOpening(state, counts.get(org, 0))
    return made


def _span(run: OpenRun) -> Span:
    return Span(run.application_id, _INSTANCE_PRICE + run.flavor, run.role, instant(run.start_us))
