"""Instance uptime in columns: runs, pieces, billed seconds and exact amounts (R2-R8).

One DuckDB query over a shard's events does what `core.metering` and `core.rating` do
for instances, and writes each application line's details in the document's canonical
JSON. Organisations the query cannot bill exactly as the core would are named instead:
an instance started twice or stopped while not running (R4 anomalies, whose records the
core writes), or uptime with no price in force (R5: the invoice must be refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .prices import PriceColumns

# R3: at one instant an instance stops before it starts again; then by (source, id).
_ORDER = "t, rank, source, id"
_BEFORE_ANY = "(-9223372036854775807)::BIGINT"  # an instant before every event
# Organisation and instance as integers in the order of their ids (`_in_sequence`).
_SEQUENCE = [
    ("organization", "ascending"),
    ("instance", "ascending"),
    ("time_us", "ascending"),
    ("rank", "ascending"),
    ("source", "ascending"),
    ("id", "ascending"),
]
_INSTANCE_TYPES = pa.array(["instance.started", "instance.stopped"])
_NO_TYPE = pa.scalar(None, pa.string())
_NO_TIME = pa.scalar(None, pa.int64())


def _instant(column: str) -> str:
    """RFC 3339 in UTC, microseconds only when there are some (core.period.rfc3339)."""
    return f"replace(strftime(make_timestamp({column}), '%Y-%m-%dT%H:%M:%S.%fZ'), '.000000Z', 'Z')"


def _seconds(column: str) -> str:
    """Whole seconds, or exact decimals of a second (core.lines.seconds_number)."""
    return (
        f"CASE WHEN {column} % 1000000 = 0 THEN ({column} // 1000000)::VARCHAR "
        f"ELSE ({column} // 1000000)::VARCHAR || '.' || "
        f"rtrim(lpad(({column} % 1000000)::VARCHAR, 6, '0'), '0') END"
    )


def _twelve(column: str) -> str:
    """An amount scaled by 10^12 written with its 12 decimals (core.money.format_exact).

    DuckDB's lpad also cuts text longer than its width, hence the greatest().
    """
    text = f"{column}::VARCHAR"
    padded = f"lpad({text}, greatest(length({text}), 13)::INTEGER, '0')"
    return f"left({padded}, length({padded}) - 12) || '.' || right({padded}, 12)"


# The f-strings below put together constant SQL fragments of this module only; every
# value from the store reaches DuckDB as a registered Arrow column, never as text.
_STEPS = (
    # One parse of each start's document into typed fields (a struct), not one per
    # field, over the instance events already in R3's order (`_in_sequence`).
    """
CREATE OR REPLACE TEMP TABLE sequenced AS
SELECT org, t, type, source, id, rank, instance_id, before_type, next_type, next_t,
       data.application_id, data.flavor, data.role, data.application_name
FROM (
    -- A stop names only its instance, the event's resource (load.py leaves its
    -- document out); a start is parsed for the rest.
    SELECT *, CASE WHEN type = 'instance.started' THEN from_json(document,
        '{"data": {"application_id": "VARCHAR", "flavor": "VARCHAR",
        "role": "VARCHAR", "application_name": "VARCHAR"}}').data END AS data
    FROM instance_events
)
""",
    # R4: a second start of a running instance, a stop of a stopped one. The core
    # records these as anomalies; such organisations take the reference path.
    """
CREATE OR REPLACE TEMP TABLE anomalous AS
SELECT DISTINCT org FROM sequenced
WHERE (type = 'instance.started' AND before_type = 'instance.started')
   OR (type = 'instance.stopped' AND coalesce(before_type, '') <> 'instance.started')
""",
    # R2: a run goes from a start to the next stop of the same instance; R4: clipped to
    # the period, a run still open billed up to the period's end.
    """
CREATE OR REPLACE TEMP TABLE kept AS
SELECT *, row_number() OVER () AS piece FROM (
    SELECT r.org, r.instance_id, r.application_id, r.flavor, r.role,
           o.currency, o.slice_s, o.minimum_s,
           greatest(r.t, o.start_us) AS s,
           least(coalesce(r.run_stop, o.end_us), o.end_us) AS e,
           r.t >= o.start_us AND r.t < o.end_us AS started_inside
    FROM (
        SELECT *, CASE WHEN next_type = 'instance.stopped' THEN next_t END AS run_stop
        FROM sequenced
        WHERE type = 'instance.started' AND org NOT IN (SELECT org FROM anomalous)
    ) r JOIN orgs o ON o.organization_id = r.org
)
WHERE s < e OR (s = e AND started_inside)
""",
    # R5: a piece is split wherever the price changes.
    """
CREATE OR REPLACE TEMP TABLE segments AS
SELECT k.*, p.numerator, p.rate_text, 'instance.' || k.flavor AS price_key,
       greatest(k.s, p.valid_from) AS seg_s, least(k.e, p.valid_to) AS seg_e
FROM kept k JOIN prices p
  ON p.key = 'instance.' || k.flavor AND p.currency = k.currency
 AND p.valid_to > k.s AND (p.valid_from < k.e OR (k.s = k.e AND p.valid_from <= k.s))
""",
    # Each application's name in force at its organisation's period end: the last one a
    # start gave (R3's order), else the one the opening state carries (batch/opening.py).
    f"""
CREATE OR REPLACE TEMP TABLE names AS
SELECT org, application_id, last(application_name ORDER BY {_ORDER}) AS application_name
FROM (
    SELECT org, t, rank, source, id, application_id, application_name FROM sequenced
    WHERE type = 'instance.started' AND application_name IS NOT NULL
    UNION ALL
    SELECT organization_id, {_BEFORE_ANY}, 0, '', '', application_id, application_name
    FROM opening_names
)
GROUP BY org, application_id
""",
    # Uptime with no price in force: the reference path refuses to finalise it.
    """
CREATE OR REPLACE TEMP TABLE unpriced AS
SELECT DISTINCT org FROM (
    SELECT k.org FROM kept k LEFT JOIN segments g ON g.piece = k.piece
    GROUP BY k.org, k.piece, k.s, k.e
    HAVING count(g.piece) = 0 OR sum(g.seg_e - g.seg_s) <> k.e - k.s
)
""",
)

_PIECES = """
WITH rated AS (  -- R6 and R7, under the organisation's policy and the former one (R15)
    SELECT g.*, g.seg_e - g.seg_s AS elapsed,
           CASE WHEN g.seg_e <= g.seg_s THEN 0 ELSE greatest(
               (g.seg_e - g.seg_s + g.slice_s * 1000000 - 1) // (g.slice_s * 1000000)
               * g.slice_s, g.minimum_s) END AS billed,
           CASE WHEN g.seg_e <= g.seg_s THEN 0 ELSE
               (g.seg_e - g.seg_s + 599999999) // 600000000 * 600 END AS former_billed
    FROM segments g
    WHERE g.org NOT IN (SELECT org FROM unpriced)
),
amounts AS (
    SELECT *, billed::$integer * numerator AS exact,
           former_billed::$integer * numerator AS former
    FROM rated
),
shown AS (  -- the detail as CONTRACT.md writes it: 12 decimals, half up (R7)
    -- exact / D to 12 decimals = exact * (10^12 / g) / (D / g), g = gcd(10^12, D)
    SELECT *, exact * $scale // $divisor
              + CASE WHEN 2 * (exact * $scale % $divisor) >= $divisor
                     THEN 1 ELSE 0 END AS scaled
    FROM amounts
)
"""

# Each piece's detail in the document's canonical JSON, in the order of the line's
# details. DuckDB sorts them once; Arrow then joins each line's run of them. An ordered
# string_agg sorted every line's details on its own, at twice the cost. One concat of
# all the parts, not a chain of ||, which wrote out every intermediate text. (Every
# part is present: ingestion requires a start's instance, role and flavor.)
_DETAILS = f"""{_PIECES}
SELECT org, application_id, concat(
    '{{"instance_id":"', instance_id, '","role":"', role, '","flavor":"', flavor,
    '","price_key":"', price_key, '","start":"', {_instant("seg_s")},
    '","end":"', {_instant("seg_e")}, '","elapsed_seconds":', {_seconds("elapsed")},
    ',"billed_seconds":', billed::VARCHAR, ',"rate_per_hour":"', rate_text,
    '","amount":"', {_twelve("scaled")}, '"}}'
) AS detail
FROM shown
ORDER BY org, application_id, seg_s, instance_id, seg_e, price_key
"""

# Each application line's totals, in the same order of lines as _DETAILS.
_TOTALS = f"""{_PIECES}
SELECT d.org, d.application_id, n.application_name,
       sum(d.billed)::BIGINT AS billed, sum(d.exact) AS exact,
       sum(d.former_billed)::BIGINT AS former_billed, sum(d.former) AS former,
       count(DISTINCT d.instance_id) AS instances,
       count(DISTINCT d.instance_id) FILTER (WHERE d.role = 'build') AS builds
FROM shown d LEFT JOIN names n USING (org, application_id)
GROUP BY d.org, d.application_id, n.application_name
ORDER BY d.org, d.application_id
"""

_NEEDS_REFERENCE = "SELECT org FROM anomalous UNION SELECT org FROM unpriced"
# What the events before each organisation's period end leave for its next period
# (core.metering.Opening): the runs still open, and the applications' names. An
# organisation with an anomaly is left out: the core bills it and makes its state.
_OPEN_RUNS = """
SELECT org, instance_id, application_id, flavor, role, t FROM sequenced
WHERE type = 'instance.started' AND next_type IS NULL AND org NOT IN (SELECT org FROM anomalous)
ORDER BY org, instance_id
"""
_NAMES = """
SELECT org, application_id, application_name FROM names
WHERE org NOT IN (SELECT org FROM anomalous)
ORDER BY org, application_id
"""
_TABLES = ("sequenced", "anomalous", "names", "kept", "segments", "unpriced")


@dataclass(frozen=True, slots=True)
class ApplicationUptime:
    """One application line rated in columns: amounts are `numerator / denominator`."""

    organization_id: str
    application_id: str
    application_name: str | None
    details_json: bytes
    billed_seconds: int
    exact: int
    former_billed_seconds: int
    former_exact: int
    instances: int
    builds: int


@dataclass(frozen=True, slots=True)
class OpenRun:
    """A run still open at its organisation's period end (core.metering.Span's fields)."""

    organization_id: str
    instance_id: str
    application_id: str
    flavor: str
    role: str
    start_us: int


@dataclass(frozen=True)
class ShardUptime:
    lines: list[ApplicationUptime]
    needs_reference: set[str]  # organisations the reference path must bill
    # For the others: what their period leaves to the next (batch/opening.py).
    open_runs: list[OpenRun]
    names: list[tuple[str, str, str]]  # organisation, application, name


# The applications' names carried by opening states (empty: none).
NO_NAMES = pa.table(
    {
        "organization_id": pa.array([], pa.string()),
        "application_id": pa.array([], pa.string()),
        "application_name": pa.array([], pa.string()),
    }
)


class UptimeRater:
    """Rates shards' uptime with one DuckDB connection, kept from shard to shard.

    A connection made per shard had its memory given back to the system and faulted
    in again at every shard; kept, it reuses it. Each shard's tables are replaced by
    the next one's, and its events let go when it is rated.
    """

    def __init__(self, *, threads: int | None = None) -> None:
        # One thread per worker process when several share the cores; DuckDB's default
        # (one per core) when shards are rated by one process alone.
        self._connection = duckdb.connect(config={"threads": threads} if threads else {})

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> UptimeRater:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def rate(
        self,
        events: pa.Table,
        orgs: pa.Table,
        prices: PriceColumns,
        opening_names: pa.Table = NO_NAMES,
    ) -> ShardUptime:
        """Every application line of the shard's organisations, and who needs the core.

        `events` hold each organisation's runs open at its opening state as starts at
        their own instants, and `opening_names` the names that state carries
        (batch/opening.py); without a state, `events` are all its events.
        """
        integer, scale, divisor = _arithmetic(orgs, prices)
        connection = self._connection
        connection.register("instance_events", _in_sequence(events, orgs))
        connection.register("orgs", orgs)
        connection.register("price_rows", _price_table(prices))
        connection.register("opening_names", opening_names)
        try:
            connection.execute(
                "CREATE OR REPLACE TEMP VIEW prices AS SELECT key, currency, valid_from, "
                f"valid_to, numerator_text::{integer} AS numerator, rate_text FROM price_rows"
            )
            for step in _STEPS:
                connection.execute(step)

            # Integers computed here, never user input, written into the queries as literals.
            def written(query: str) -> str:
                return (
                    query.replace("$integer", integer)
                    .replace("$scale", f"{scale}::{integer}")
                    .replace("$divisor", f"{divisor}::{integer}")
                )

            details = connection.execute(written(_DETAILS)).to_arrow_table()
            totals = connection.execute(written(_TOTALS)).fetchall()
            needs = {org for (org,) in connection.execute(_NEEDS_REFERENCE).fetchall()}
            open_runs = [OpenRun(*row) for row in connection.execute(_OPEN_RUNS).fetchall()]
            names = connection.execute(_NAMES).fetchall()
        finally:
            for name in ("instance_events", "orgs", "price_rows", "opening_names"):
                connection.unregister(name)
            for table in _TABLES:  # the shard's rows, not kept until the next shard
                connection.execute(f"DROP TABLE IF EXISTS {table}")
        texts = _joined_details(details, [(org, app) for org, app, *_ in totals])
        lines = [
            ApplicationUptime(org, app, name, text, billed, exact, former_billed, former, n, b)
            for (org, app, name, billed, exact, former_billed, former, n, b), text in zip(
                totals, texts, strict=True
            )
        ]
        return ShardUptime(lines, needs, open_runs, names)


def _in_sequence(events: pa.Table, orgs: pa.Table) -> pa.Table:
    """The instance events of the shard's organisations before their period's end, each
    instance's in R3's order, with the type before and the type and time after each
    event of the same instance (what `core.metering` replays one event at a time).

    Arrow sorts them, comparing the text tie-breakers only where the keys before them
    are equal; DuckDB's window functions sorted every row on all of them, at about
    three times the cost. Organisations and instances are sorted as integers given in
    the order of their ids (the shard's organisations are in order; an instance's
    number is the rank of its id among the shard's distinct ones), and the events are
    taken from the shard once, already in order.
    """
    position = pc.index_in(events.column("organization_id"), orgs.column("organization_id"))
    end = pc.take(orgs.column("end_us"), position)
    wanted = pc.and_(
        pc.is_in(events.column("type"), _INSTANCE_TYPES), pc.less(events.column("time_us"), end)
    )
    # An organisation outside the shard has no end: its events are left out. (One array:
    # Arrow's indices_nonzero crashes on a chunked array of no chunks, an empty shard.)
    rows = pc.indices_nonzero(wanted.combine_chunks())
    keys = events.select(["resource_id", "time_us", "type", "source", "id"]).take(rows)
    instances = keys.column("resource_id").combine_chunks().dictionary_encode()
    rank = pc.if_else(pc.equal(keys.column("type"), "instance.stopped"), 0, 1).cast(pa.int8())
    keys = keys.append_column("organization", pc.take(position, rows))
    keys = keys.append_column(
        "instance", pc.take(pc.rank(instances.dictionary, "ascending"), instances.indices)
    )
    keys = keys.append_column("rank", rank)
    order = pc.sort_indices(keys, _SEQUENCE)
    ordered = events.take(pc.take(rows, order)).combine_chunks()
    numbers = keys.select(["organization", "instance", "rank"]).take(order).combine_chunks()
    count = ordered.num_rows
    org, instance = numbers.column("organization"), numbers.column("instance")
    kind, time = ordered.column("type"), ordered.column("time_us")
    if count:
        # same[i]: event i + 1 belongs to event i's instance.
        same = pc.and_(pc.equal(org[1:], org[:-1]), pc.equal(instance[1:], instance[:-1]))
        same = same.combine_chunks()
        after_same = pa.concat_arrays([pa.array([False]), same])
        before_same = pa.concat_arrays([same, pa.array([False])])
        before_type = pc.if_else(after_same, _shifted(kind, 1), _NO_TYPE)
        next_type = pc.if_else(before_same, _shifted(kind, -1), _NO_TYPE)
        next_t = pc.if_else(before_same, _shifted(time, -1), _NO_TIME)
    else:
        before_type = next_type = pa.nulls(0, pa.string())
        next_t = pa.nulls(0, pa.int64())
    return pa.table(
        {
            "org": ordered.column("organization_id"),
            "t": time,
            "type": kind,
            "source": ordered.column("source"),
            "id": ordered.column("id"),
            "rank": numbers.column("rank"),
            "instance_id": ordered.column("resource_id"),
            "document": ordered.column("document"),
            "before_type": before_type,
            "next_type": next_type,
            "next_t": next_t,
        }
    )


def _shifted(values: pa.ChunkedArray, by: int) -> pa.Array:
    """`values` moved `by` rows down (up when negative), a null in the row left empty."""
    array = values.combine_chunks()
    empty = pa.nulls(abs(by), array.type)
    if by > 0:
        return pa.concat_arrays([empty, array[:-by]])
    return pa.concat_arrays([array[-by:], empty])


def _joined_details(details: pa.Table, lines: list[tuple[str, str]]) -> list[bytes]:
    """Each line's details as one JSON array, from the details sorted by line: the runs
    of equal (organisation, application) are cut out as lists and joined by Arrow."""
    count = details.num_rows
    if count == 0:
        if lines:
            raise AssertionError("application lines without details")
        return []
    orgs = details.column("org").combine_chunks()
    apps = details.column("application_id").combine_chunks()
    changes = pc.or_(pc.not_equal(orgs[1:], orgs[:-1]), pc.not_equal(apps[1:], apps[:-1]))
    starts = pc.add(pc.indices_nonzero(changes), 1).cast(pa.int32())
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), starts, pa.array([count], pa.int32())])
    firsts = offsets[:-1]
    keys = list(
        zip(pc.take(orgs, firsts).to_pylist(), pc.take(apps, firsts).to_pylist(), strict=True)
    )
    if keys != lines:  # both queries read the same pieces, in the same order
        raise AssertionError("application lines and their details do not match")
    runs = pa.ListArray.from_arrays(offsets, details.column("detail").combine_chunks())
    return [f"[{text}]".encode() for text in pc.binary_join(runs, ",").to_pylist()]


# The most seconds a piece can be billed: a month of 31 days and a daylight-saving hour,
# rounded up to one more slice (R6).
_LONGEST_PERIOD_SECONDS = (31 * 24 + 1) * 3600
_BIGINT_MAX = 2**63 - 1


def _arithmetic(orgs: pa.Table, prices: PriceColumns) -> tuple[str, int, int]:
    """The integer type the amounts need, and the scale and divisor that show them to
    12 decimals. 64-bit integers are several times faster than 128-bit ones; they are
    used only when no product can overflow them (DuckDB would stop with an error, never
    wrap around)."""
    g = math.gcd(10**12, prices.denominator)
    scale, divisor = 10**12 // g, prices.denominator // g
    slices = pc.max(orgs.column("slice_s")).as_py() or 1
    minimum = pc.max(orgs.column("minimum_s")).as_py() or 0
    longest = max(_LONGEST_PERIOD_SECONDS + max(slices, 600), minimum)
    numerator = max((row[4] for row in prices.rows), default=0)
    if 2 * longest * numerator * scale < _BIGINT_MAX:
        return "BIGINT", scale, divisor
    return "HUGEINT", scale, divisor


def _price_table(prices: PriceColumns) -> pa.Table:
    keys, currencies, starts, ends, numerators, rates = (
        zip(*prices.rows, strict=True) if (prices.rows) else ((), (), (), (), (), ())
    )
    return pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "currency": pa.array(currencies, pa.string()),
            "valid_from": pa.array(starts, pa.int64()),
            "valid_to": pa.array(ends, pa.int64()),
            # Numerators can exceed 64 bits; DuckDB reads them back from text exactly.
            "numerator_text": pa.array([str(n) for n in numerators], pa.string()),
            "rate_text": pa.array(rates, pa.string()),
        }
    )
