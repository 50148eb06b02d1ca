"""The detail pages: every piece behind every line (R8), one table per line.

The same columns and values as the web view's invoice_details.html. Detail amounts are
the document's exact values shown to 6 decimals; the line amount under each table is the
document's, never a sum made here (R12).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from . import layout
from .blocks import heading, paragraph, plain
from .context import Sheet
from .fonts import CONDENSED, MONO, SANS_BOLD
from .layout import Block, Flow, Run
from .style import (
    BODY_SIZE,
    CONTENT_WIDTH,
    DETAIL_IDENT_SIZE,
    DETAIL_SIZE,
    INK,
    LEFT,
    LINE_HEIGHT,
    MUTED,
    RIGHT,
    SMALL_SIZE,
    mm,
)
from .table import Column, Style, Table

Detail = Mapping[str, Any]
# A column: its label's key, its share of the page width, and the text of a detail.
Spec = tuple[str, float, Callable[[Detail], str]]

_STYLE = Style()
_TOTAL_SIZE = 7.5


def place_details(flow: Flow, sheet: Sheet) -> None:
    """The detail pages, from a new page."""
    labels = sheet.labels
    flow.new_page()
    flow.place(heading(labels["details"], above=0))
    flow.place(paragraph(plain(labels["details_intro"]), 7.5, below=mm(2)))
    for line in sheet.document["lines"]:
        specs = _specs(sheet, line["kind"])
        table = _table(sheet, specs)
        rows = [
            table.row([value(detail) for _, _, value in specs], index)
            for index, detail in enumerate(line["details"])
        ]
        flow.place_table(
            table.header(),
            [*rows, _line_total(sheet, line)],
            lead=[layout.space(mm(2.6)), _line_heading(line)],
        )


def _line_heading(line: Detail) -> Block:
    """The line's id and description, and its resource on the right (the h3)."""
    leading = BODY_SIZE * LINE_HEIGHT
    resource = line["resource_id"]
    resource_width = layout.width_of(resource, MONO, SMALL_SIZE)
    runs = [Run(f"{line['id']} ", MONO, MUTED), Run(line["description"], SANS_BOLD, INK)]
    lines = layout.wrap_runs(runs, BODY_SIZE, CONTENT_WIDTH - resource_width - mm(4))
    height = len(lines) * leading + mm(0.6)

    def draw(canvas: Canvas, top: float) -> None:
        for number, runs_of_line in enumerate(lines):
            y = layout.baseline(top + number * leading, BODY_SIZE, leading)
            layout.draw_runs(canvas, LEFT, y, runs_of_line, BODY_SIZE)
        y = layout.baseline(top, BODY_SIZE, leading)
        layout.text(canvas, RIGHT, y, resource, MONO, SMALL_SIZE, MUTED, right=True)

    return Block(height, draw)


def _line_total(sheet: Sheet, line: Detail) -> Block:
    """ "Line amount L001" and the document's line amount, under a rule."""
    label = f"{sheet.labels['line_total']} {line['id']}"
    amount = sheet.fmt.money(line["amount"])
    pad = _STYLE.pad_x
    leading = _TOTAL_SIZE * LINE_HEIGHT
    height = leading + 2 * _STYLE.pad_y + mm(1)
    amount_width = CONTENT_WIDTH * _AMOUNT_SHARE

    def draw(canvas: Canvas, top: float) -> None:
        layout.rule(canvas, LEFT, RIGHT, top + 0.4, 0.8, INK)
        y = layout.baseline(top + _STYLE.pad_y + 0.8, _TOTAL_SIZE, leading)
        layout.text(
            canvas, RIGHT - amount_width - pad, y, label, SANS_BOLD, _TOTAL_SIZE, INK, right=True
        )
        layout.text(canvas, RIGHT - pad, y, amount, SANS_BOLD, _TOTAL_SIZE, INK, right=True)

    return Block(height, draw)


# Columns of each kind of line ------------------------------------------------------------

_AMOUNT_SHARE = 0.12
_IDENTIFIERS = {"instance", "addon", "task", "price_key", "meter", "resource"}
_NUMBERS = {
    "duration",
    "billed_seconds",
    "rate",
    "amount",
    "quantity",
    "unit_price",
    "invoiced",
    "recomputed",
}


def _specs(sheet: Sheet, kind: str) -> Sequence[Spec]:
    fmt, labels = sheet.fmt, sheet.labels
    timing: list[Spec] = [
        ("start", 0.12, lambda d: fmt.moment(d["start"])),
        ("end", 0.12, lambda d: fmt.moment(d["end"])),
        ("duration", 0.14, lambda d: fmt.duration(d["elapsed_seconds"])),
        ("billed_seconds", 0.1, lambda d: fmt.number(d["billed_seconds"])),
    ]
    if kind == "application":
        return [
            ("instance", 0.16, lambda d: str(d["instance_id"])),
            ("role", 0.075, lambda d: labels.get(f"role_{d['role']}", str(d["role"]))),
            ("flavor", 0.065, lambda d: str(d["flavor"])),
            *timing,
            ("rate", 0.1, lambda d: fmt.price(d["rate_per_hour"])),
            ("amount", _AMOUNT_SHARE, lambda d: fmt.exact(d["amount"])),
        ]
    if kind == "addon":
        return [
            ("addon", 0.14, lambda d: str(d["addon_id"])),
            ("plan", 0.11, lambda d: f"{d['provider']} {d['plan']}"),
            *timing,
            ("rate", 0.15, lambda d: fmt.price(d["rate_per_hour"])),
            ("amount", _AMOUNT_SHARE, lambda d: fmt.exact(d["amount"])),
        ]
    if kind == "task":
        return [
            ("task", 0.22, lambda d: str(d["task_id"])),
            ("at", 0.16, lambda d: fmt.moment(d["at"])),
            ("price_key", 0.22, lambda d: d["price_key"] or labels["free_amount"]),
            ("quantity", 0.14, lambda d: fmt.number(d["quantity"])),
            ("unit_price", 0.14, lambda d: fmt.price(d["unit_price"])),
            ("amount", _AMOUNT_SHARE, lambda d: fmt.exact(d["amount"])),
        ]
    if kind == "usage":
        return [
            ("meter", 0.22, lambda d: str(d["meter"])),
            ("at", 0.18, lambda d: fmt.moment(d["at"])),
            ("quantity", 0.2, lambda d: f"{fmt.number(d['quantity'])} {d['unit']}"),
            ("unit_price", 0.28, lambda d: fmt.price(d["unit_price"])),
            ("amount", _AMOUNT_SHARE, lambda d: fmt.exact(d["amount"])),
        ]
    if kind == "adjustment":
        return [
            ("corrects_period", 0.12, lambda d: str(d["corrects_period"])),
            ("resource_kind", 0.14, lambda d: labels[f"one_{d['kind']}"]),
            ("resource", 0.3, lambda d: str(d["resource_id"])),
            ("invoiced", 0.16, lambda d: fmt.money(d["invoiced"])),
            ("recomputed", 0.16, lambda d: fmt.money(d["recomputed"])),
            # A difference of rounded amounts (R14): shown as it is, to the cent.
            ("amount", _AMOUNT_SHARE, lambda d: fmt.money(d["amount"])),
        ]
    raise ValueError(f"a line of unknown kind {kind!r}")


def _table(sheet: Sheet, specs: Sequence[Spec]) -> Table:
    columns = []
    for key, share, _ in specs:
        identifier = key in _IDENTIFIERS
        columns.append(
            Column(
                sheet.labels[key],
                CONTENT_WIDTH * share,
                right=key in _NUMBERS,
                font=MONO if identifier else CONDENSED,
                size=DETAIL_IDENT_SIZE if identifier else DETAIL_SIZE,
                anywhere=identifier,
            )
        )
    return Table(LEFT, columns, _STYLE)
