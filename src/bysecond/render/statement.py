"""Detail rows written as aligned text lines, for the PDF's long detail tables.

WeasyPrint lays out a table cell in about half a millisecond, so a run with nine cells
costs ~5 ms and an invoice listing every run of a busy month takes seconds. The PDF
therefore writes each run as one cell holding the row's values aligned in a monospace
font (~1 ms a row), inside a table whose header still repeats on every page. The web view
keeps one cell per value. The values are the same `Formatter` output either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .formatting import Formatter

# Spaces Babel puts inside numbers and units; a monospace layout needs plain ones.
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " "})
GAP = "  "


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Mapping[str, Any]], str]
    right: bool = False  # numbers are aligned on the right


@dataclass(frozen=True)
class Statement:
    header: str
    rows: list[str]


def statement(columns: Sequence[Column], details: Sequence[Mapping[str, Any]]) -> Statement:
    cells = [[column.value(d).translate(_SPACES) for column in columns] for d in details]
    # Headers in capitals, as the web view's CSS writes them.
    labels = [column.label.translate(_SPACES).upper() for column in columns]
    widths = [max([len(labels[i]), *(len(row[i]) for row in cells)]) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return GAP.join(
            value.rjust(width) if column.right else value.ljust(width)
            for column, value, width in zip(columns, values, widths, strict=True)
        ).rstrip()

    return Statement(line(labels), [line(row) for row in cells])


def uptime_statement(
    kind: str, details: Sequence[Mapping[str, Any]], fmt: Formatter, labels: Mapping[str, str]
) -> Statement:
    """The runs of an application or the intervals of an add-on, one text line each."""
    if kind == "application":
        first = [
            Column(labels["instance"], lambda d: str(d["instance_id"])),
            Column(labels["role"], lambda d: labels.get(f"role_{d['role']}", str(d["role"]))),
            Column(labels["flavor"], lambda d: str(d["flavor"])),
        ]
    else:
        first = [
            Column(labels["addon"], lambda d: str(d["addon_id"])),
            Column(labels["plan"], lambda d: f"{d['provider']} {d['plan']}"),
        ]
    timing = [
        Column(labels["start"], lambda d: fmt.moment(d["start"])),
        Column(labels["end"], lambda d: fmt.moment(d["end"])),
        Column(labels["duration"], lambda d: fmt.duration(d["elapsed_seconds"]), right=True),
        Column(labels["billed_seconds"], lambda d: fmt.number(d["billed_seconds"]), right=True),
        Column(labels["rate"], lambda d: fmt.price(d["rate_per_hour"]), right=True),
        Column(labels["amount"], lambda d: fmt.exact(d["amount"]), right=True),
    ]
    return statement([*first, *timing], details)
