"""The generated months: JSON Lines from `bysecond generate`, and a typed Parquet copy.

Both are cached under bench/data (git-ignored), named by every parameter that shapes
them, and written to a temporary name first: an interrupted run never leaves a file
that a later run would take for complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb

from .console import BenchError, console

MONTH: Final = "2026-10"
PERIOD_START: Final = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD_END: Final = datetime(2026, 11, 1, tzinfo=UTC)
SEED: Final = 42
EVENTS_PER_ORG: Final = 200
BYSECOND: Final = [sys.executable, "-m", "bysecond"]


@dataclass(frozen=True)
class Size:
    name: str
    orgs: int
    nominal_events: int


SIZES: Final = {
    size.name: size
    for size in (
        Size("XS", 25, 5_000),  # the smoke test's size
        Size("S", 500, 100_000),
        Size("M", 5_000, 1_000_000),
        Size("L", 50_000, 10_000_000),
    )
}

# Every field of the generated events that billing reads, flattened and typed; amounts
# and quantities as exact decimals, never floats.
_DATA_FIELDS: Final = (
    "instance_id",
    "application_id",
    "flavor",
    "role",
    "addon_id",
    "provider",
    "plan",
    "task_id",
    "amount",
    "meter",
    "quantity",
)
_JSON_COLUMNS: Final = {
    "source": "VARCHAR",
    "id": "VARCHAR",
    "type": "VARCHAR",
    "time": "VARCHAR",
    "subject": "VARCHAR",
    "data": "STRUCT(" + ", ".join(f"{name} VARCHAR" for name in _DATA_FIELDS) + ")",
}
_TO_PARQUET: Final = """
COPY (
    SELECT source, id, type, CAST(time AS TIMESTAMPTZ) AS time, subject AS organization_id,
        data.instance_id, data.application_id, data.flavor, data.role, data.addon_id,
        data.provider, data.plan, data.task_id,
        CAST(data.amount AS DECIMAL(18, 6)) AS amount, data.meter,
        CAST(data.quantity AS DECIMAL(18, 6)) AS quantity
    FROM read_json(?, format = 'newline_delimited', columns = ?)
) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
"""
_COUNTS: Final = """
SELECT count(*),
    count(DISTINCT (source, id)),
    count(DISTINCT organization_id),
    count(DISTINCT organization_id) FILTER (WHERE time >= ? AND time < ?)
FROM read_parquet(?)
"""


@dataclass(frozen=True)
class Dataset:
    """One size's month, and what a correct store must hold after ingesting it."""

    size: Size
    jsonl: Path
    parquet: Path
    lines: int  # events in the file, duplicate deliveries included
    distinct_events: int  # what an ingest stores: one per (source, id)
    organizations: int
    active_organizations: int  # organisations with an event inside the month


def prepare(size: Size, folder: Path) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"events-{MONTH}-orgs{size.orgs}-k{EVENTS_PER_ORG}-seed{SEED}"
    jsonl = folder / f"{stem}.jsonl"
    parquet = folder / f"{stem}.parquet"
    if not jsonl.exists():
        with console.status(f"{size.name}: generating {size.orgs:,} organisations"):
            _generate(size, jsonl)
    if not parquet.exists():
        with console.status(f"{size.name}: converting to Parquet"):
            _to_parquet(jsonl, parquet)
    with duckdb.connect() as con:
        row = con.execute(_COUNTS, [PERIOD_START, PERIOD_END, str(parquet)]).fetchone()
    assert row is not None
    lines, distinct, orgs, active = (int(value) for value in row)
    console.log(
        f"{size.name}: {jsonl.name}, {lines:,} events ({distinct:,} distinct),"
        f" {orgs:,} organisations"
    )
    return Dataset(size, jsonl, parquet, lines, distinct, orgs, active)


def _generate(size: Size, target: Path) -> None:
    partial = target.with_suffix(".partial")
    command = [
        *BYSECOND,
        "generate",
        "--month",
        MONTH,
        "--orgs",
        str(size.orgs),
        "--events-per-org",
        str(EVENTS_PER_ORG),
        "--seed",
        str(SEED),
        "-o",
        str(partial),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"bysecond generate failed ({done.returncode}): {done.stderr.strip()}")
    os.replace(partial, target)


def _to_parquet(source: Path, target: Path) -> None:
    partial = target.with_suffix(".partial")
    # COPY ... TO takes no parameter for its target; the path is ours, quoted for SQL.
    statement = _TO_PARQUET.format(target=str(partial).replace("'", "''"))
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(statement, [str(source), _JSON_COLUMNS])
    os.replace(partial, target)
