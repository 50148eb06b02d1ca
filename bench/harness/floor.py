"""The floor: DuckDB computing every organisation's per-second subtotal from Parquet.

One SQL query reads the size's Parquet file (nothing cached between repeats) and does
the arithmetic core of a billing run, without invoices, credits, VAT or storage:

- duplicate deliveries dropped: one event per (source, id);
- instances: each `instance.started` paired with the next event of the same instance
  (its `instance.stopped`; none: still running at the month's end), by a window
  function; stops sort before starts at the same instant (R3);
- add-ons: each `addon.provisioned` or `addon.plan_changed` priced at its plan (the
  provider comes from the provisioning) until the add-on's next event;
- every interval clipped to the month [2026-10-01, 2026-11-01) UTC, its length rounded
  up to whole seconds, multiplied by the flavor's hourly price / 3600 or the plan's
  monthly price / 720 h;
- plus the month's `task.performed` amounts and `usage.reported` quantities times their
  unit price; summed per organisation, rounded to the cent.

Prices are those of `default_catalog()` in force at the month's start (a price change
inside the month is not split). Only the query is timed; the price table is loaded
before. The billing run's time is then reported as a ratio to this floor.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

import duckdb

from bysecond.core.catalog import MONTH_SECONDS, default_catalog

from .datasets import PERIOD_END, PERIOD_START, Dataset

# Every time-based price as what a month of 720 h costs: one exact decimal per key, so
# that a flavor's hourly and an add-on's monthly price share one division at the end.
_PRICES: Final = "CREATE TEMP TABLE prices (key VARCHAR, per_month DECIMAL(18, 6))"
_UNIT_PRICES: Final = "CREATE TEMP TABLE unit_prices (key VARCHAR, amount DECIMAL(18, 6))"

SUBTOTALS: Final = """
WITH events AS (
    SELECT * FROM read_parquet($parquet)
    QUALIFY row_number() OVER (PARTITION BY source, id ORDER BY time) = 1
),
instance_events AS (
    SELECT organization_id, type, time, flavor,
        lead(time) OVER (
            PARTITION BY organization_id, instance_id
            ORDER BY time, CASE type WHEN 'instance.stopped' THEN 0 ELSE 1 END
        ) AS next_time
    FROM events
    WHERE type IN ('instance.started', 'instance.stopped')
),
addon_events AS (
    SELECT organization_id, type, time, plan,
        max(provider) OVER (PARTITION BY organization_id, addon_id) AS provider,
        lead(time) OVER (
            PARTITION BY organization_id, addon_id
            ORDER BY time, CASE type WHEN 'addon.deleted' THEN 0
                WHEN 'addon.provisioned' THEN 1 ELSE 2 END
        ) AS next_time
    FROM events
    WHERE type IN ('addon.provisioned', 'addon.plan_changed', 'addon.deleted')
),
intervals AS (
    SELECT organization_id, 'instance.' || flavor AS key, time AS start_at, next_time AS end_at
    FROM instance_events WHERE type = 'instance.started'
    UNION ALL
    SELECT organization_id, 'addon.' || provider || '.' || plan, time, next_time
    FROM addon_events WHERE type <> 'addon.deleted'
),
clipped AS (
    SELECT organization_id, key,
        epoch_us(least(coalesce(end_at, $period_end), $period_end))
            - epoch_us(greatest(start_at, $period_start)) AS micros
    FROM intervals
),
uptime AS (
    SELECT organization_id,
        sum(((micros + 999999) // 1000000) * prices.per_month) AS month_seconds_cost
    FROM clipped JOIN prices USING (key)
    WHERE micros > 0
    GROUP BY organization_id
),
one_offs AS (
    SELECT organization_id,
        sum(CASE WHEN type = 'task.performed' THEN events.amount
            ELSE quantity * unit_prices.amount END) AS cost
    FROM events LEFT JOIN unit_prices ON unit_prices.key = 'usage.' || events.meter
    WHERE type IN ('task.performed', 'usage.reported')
        AND time >= $period_start AND time < $period_end
    GROUP BY organization_id
)
SELECT organization_id,
    CAST(round(coalesce(uptime.month_seconds_cost, 0) / $month_seconds
        + coalesce(one_offs.cost, 0), 2) AS DECIMAL(18, 2)) AS subtotal
FROM uptime FULL JOIN one_offs USING (organization_id)
ORDER BY organization_id
"""


@dataclass(frozen=True)
class Floor:
    seconds: list[float]
    organizations: int
    total: Decimal  # the sum of the floor's subtotals


def floor_query(dataset: Dataset, repeats: int) -> Floor:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        _load_prices(con)
        parameters = {
            "parquet": str(dataset.parquet),
            "period_start": PERIOD_START,
            "period_end": PERIOD_END,
            "month_seconds": MONTH_SECONDS,
        }
        spent = []
        rows: list[tuple[str, Decimal]] = []
        for _ in range(repeats):
            began = time.perf_counter()
            rows = con.execute(SUBTOTALS, parameters).fetchall()
            spent.append(time.perf_counter() - began)
    total = sum((Decimal(subtotal) for _, subtotal in rows), Decimal(0))
    return Floor(spent, len(rows), total)


def _load_prices(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_PRICES)
    con.execute(_UNIT_PRICES)
    for price in default_catalog().in_force(PERIOD_START):
        if price.currency != "EUR":
            continue
        if price.is_time_based:
            per_month = _decimal(price.rate_per_second * MONTH_SECONDS)
            con.execute("INSERT INTO prices VALUES (?, ?)", [price.key, per_month])
        else:
            con.execute("INSERT INTO unit_prices VALUES (?, ?)", [price.key, price.amount])


def _decimal(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    if exact * value.denominator != value.numerator:
        raise ValueError(f"{value} has no exact decimal form")
    return exact


def median_seconds(floor: Floor) -> float:
    return statistics.median(floor.seconds)
