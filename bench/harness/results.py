"""Figures as they are measured: one series per (size, target database, measure).

Timing and memory figures are floats: they are measurements, not money.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Final

NO_DATABASE: Final = "-"  # measures that involve no database (rendering, the floor)


@dataclass(frozen=True)
class Measure:
    name: str
    unit: str
    digits: int  # decimals shown in the Markdown table


BULK_INGEST: Final = Measure("bulk ingest (JSON Lines, `bysecond ingest`)", "events/s", 0)
HTTP_INGEST: Final = Measure("HTTP batch ingest (1,000 per request)", "events/s", 0)
BILL_DRAFTS: Final = Measure("billing run: drafts", "s", 2)
BILL_FINALIZE: Final = Measure("billing run: finalisation", "s", 2)
BILL_TOTAL: Final = Measure("billing run: drafts + finalisation", "s", 2)
MEMORY_DRAFTS: Final = Measure("billing peak memory: drafts", "MiB", 0)
MEMORY_FINALIZE: Final = Measure("billing peak memory: finalisation", "MiB", 0)
MEMORY_PEAK: Final = Measure("billing peak memory (larger of the two)", "MiB", 0)
FLOOR_RATIO: Final = Measure("billing run / DuckDB floor", "x", 1)
ESTIMATE_P50: Final = Measure("estimate latency p50", "ms", 1)
ESTIMATE_P99: Final = Measure("estimate latency p99", "ms", 1)
PDF_MEDIAN: Final = Measure("PDF rendering, one core (median of 1/time)", "invoices/s", 1)
PDF_AGGREGATE: Final = Measure("PDF rendering, one core (invoices / total time)", "invoices/s", 1)
PDF_PAGES: Final = Measure("PDF pages per invoice (median)", "pages", 0)
FLOOR: Final = Measure("DuckDB floor: per-second subtotals from Parquet", "s", 3)

ORDER: Final = (
    BULK_INGEST,
    HTTP_INGEST,
    BILL_DRAFTS,
    BILL_FINALIZE,
    BILL_TOTAL,
    FLOOR,
    FLOOR_RATIO,
    MEMORY_DRAFTS,
    MEMORY_FINALIZE,
    MEMORY_PEAK,
    ESTIMATE_P50,
    ESTIMATE_P99,
    PDF_MEDIAN,
    PDF_AGGREGATE,
    PDF_PAGES,
)


@dataclass
class Series:
    size: str
    target: str
    measure: Measure
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


@dataclass
class Results:
    series: dict[tuple[str, str, str], Series] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, if it did

    def add(self, size: str, target: str, measure: Measure, value: float) -> None:
        key = (size, target, measure.name)
        self.series.setdefault(key, Series(size, target, measure)).values.append(value)

    def get(self, size: str, target: str, measure: Measure) -> Series | None:
        return self.series.get((size, target, measure.name))

    def check(self, **facts: Any) -> None:
        """Record a verified fact of a run (the run stopped already if it did not hold)."""
        self.checks.append(facts)

    def ordered(self, sizes: list[str], targets: list[str]) -> list[Series]:
        rank = {name: i for i, name in enumerate(sizes)}
        places = {name: i for i, name in enumerate([*targets, NO_DATABASE])}
        measures = {m.name: i for i, m in enumerate(ORDER)}
        return sorted(
            self.series.values(),
            key=lambda s: (rank[s.size], measures[s.measure.name], places[s.target]),
        )
