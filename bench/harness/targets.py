"""The targets of issue 8 on this 2-core machine, and whether each figure meets its own.

A verdict reads the median of the runs. Targets stated "at L" are judged only at L;
at other sizes the column says the target and "applies at L".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from . import results as r
from .results import Results, Series

GIB_IN_MIB: Final = 1024.0
L: Final = "L"
M: Final = "M"


@dataclass(frozen=True)
class Verdict:
    target: str  # the target in words, "" when the measure has none
    status: str  # "met", "not met", "applies at L", "needs M" or ""


def verdict(series: Series, results: Results) -> Verdict:
    m, figure, size = series.measure, series.median, series.size
    if m is r.BULK_INGEST:
        floor = 150_000 if series.target == "sqlite" else 60_000
        return _at_least(figure, floor, f">= {floor:,} events/s")
    if m is r.HTTP_INGEST:
        return _at_least(figure, 20_000, ">= 20,000 events/s")
    if m in (r.PDF_MEDIAN, r.PDF_AGGREGATE):
        return _at_least(figure, 20, ">= 20 invoices/s per core")
    if m is r.BILL_TOTAL:
        return _at_l(size, figure <= 60, "<= 60 s at L")
    if m is r.FLOOR_RATIO:
        return _at_l(size, figure <= 4, "<= 4x the floor at L")
    if m is r.ESTIMATE_P99:
        return _at_l(size, figure <= 20, "p99 <= 20 ms at L")
    if m is r.MEMORY_PEAK:
        return _memory(series, results)
    return Verdict("", "")


def _at_least(figure: float, floor: float, words: str) -> Verdict:
    return Verdict(words, "met" if figure >= floor else "not met")


def _at_l(size: str, holds: bool, words: str) -> Verdict:
    if size != L:
        return Verdict(words, "applies at L")
    return Verdict(words, "met" if holds else "not met")


def _memory(series: Series, results: Results) -> Verdict:
    words = "<= 2 GiB and <= 1.5x M's at L"
    if series.size != L:
        return Verdict(words, "applies at L")
    if series.median > 2 * GIB_IN_MIB:
        return Verdict(words, "not met")
    at_m = results.get(M, series.target, r.MEMORY_PEAK)
    if at_m is None:
        return Verdict(words, "2 GiB met; needs M in the same run")
    return Verdict(words, "met" if series.median <= 1.5 * at_m.median else "not met")
