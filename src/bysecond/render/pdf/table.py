"""Tables of the PDF: columns of fixed width, header row, rows that wrap their cells.

Each row becomes a `Block` (layout.py) of the height of its tallest cell, so a `Flow`
can break a table between rows and repeat the header on the next page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from . import layout
from .fonts import CONDENSED, CONDENSED_BOLD
from .layout import Block
from .style import ACCENT, ACCENT_SOFT, DETAIL_SIZE, INK, MUTED, TABLE_HEAD_SIZE, ZEBRA, mm


@dataclass(frozen=True)
class Column:
    label: str
    width: float
    right: bool = False  # numbers are aligned on the right
    font: str = CONDENSED
    size: float = DETAIL_SIZE
    color: Color = INK
    anywhere: bool = False  # an identifier may break at any character


@dataclass(frozen=True)
class Cell:
    """A cell's text with an optional tag after it (the period an adjustment corrects)."""

    value: str
    tag: str | None = None


class Line(NamedTuple):
    """One line of a cell as it is drawn."""

    value: str
    font: str
    size: float
    color: Color
    leading: float


@dataclass(frozen=True)
class Style:
    pad_x: float = mm(1.2)
    pad_y: float = mm(0.5)
    line_height: float = 1.25
    head_font: str = CONDENSED_BOLD
    head_size: float = TABLE_HEAD_SIZE
    head_rule: float = 0.8  # the rule under the header
    head_rule_color: Color = INK
    head_upper: bool = True  # labels in capitals
    zebra: bool = True  # every second row shaded
    row_rule: Color | None = None  # or a rule under every row


_TAG_SIZE = 6.0


class Table:
    def __init__(self, x: float, columns: Sequence[Column], style: Style) -> None:
        self.x = x
        self.columns = columns
        self.style = style
        self.width = sum(column.width for column in columns)
        self.starts: list[float] = []
        position = x
        for column in columns:
            self.starts.append(position)
            position += column.width

    # Header -----------------------------------------------------------------------------

    def header(self) -> Block:
        """The column labels, in capitals when the stylesheet writes them so."""
        style = self.style
        leading = style.head_size * style.line_height
        labels = [
            [
                Line(label, style.head_font, style.head_size, MUTED, leading)
                for label in layout.wrap(
                    column.label.upper() if style.head_upper else column.label,
                    style.head_font,
                    style.head_size,
                    self._inner(column),
                )
            ]
            for column in self.columns
        ]
        height = max(map(len, labels)) * leading + 2 * style.pad_y + style.head_rule
        rule_y = height - style.head_rule / 2

        def draw(canvas: Canvas, top: float) -> None:
            for column, start, lines in zip(self.columns, self.starts, labels, strict=True):
                # Labels sit on the rule, as a bottom-aligned table header does.
                line_top = top + height - style.head_rule - style.pad_y - len(lines) * leading
                for line in lines:
                    self._write(canvas, column, start, line_top, line)
                    line_top += leading
            right = self.x + self.width
            layout.rule(canvas, self.x, right, top + rule_y, style.head_rule, style.head_rule_color)

        return Block(height, draw)

    # Rows ---------------------------------------------------------------------------------

    def row(self, cells: Sequence[str | Cell], index: int = 0) -> Block:
        """A row of cells; `index` (from 0) shades every second row."""
        style = self.style
        laid = [
            self._lay_out(column, cell) for column, cell in zip(self.columns, cells, strict=True)
        ]
        height = max(sum(line.leading for line in lines) for lines, _ in laid) + 2 * style.pad_y
        shaded = style.zebra and index % 2 == 1

        def draw(canvas: Canvas, top: float) -> None:
            if shaded:
                layout.box(canvas, self.x, top, self.width, height, ZEBRA)
            for column, start, (lines, tag) in zip(self.columns, self.starts, laid, strict=True):
                line_top = top + style.pad_y
                for line in lines:
                    self._write(canvas, column, start, line_top, line)
                    line_top += line.leading
                if tag is not None:
                    self._tag(canvas, start, line_top - lines[-1].leading, lines[-1], tag)
            if style.row_rule is not None:
                layout.rule(canvas, self.x, self.x + self.width, top + height, 0.5, style.row_rule)

        return Block(height, draw)

    # Cells ----------------------------------------------------------------------------------

    def _inner(self, column: Column) -> float:
        return column.width - 2 * self.style.pad_x

    def _lay_out(self, column: Column, cell: str | Cell) -> tuple[list[Line], str | None]:
        """A cell's lines, and its tag."""
        value, tag = (cell.value, cell.tag) if isinstance(cell, Cell) else (cell, None)
        inner = self._inner(column)
        if tag is not None:
            inner -= layout.width_of(tag, CONDENSED, _TAG_SIZE) + mm(3)
        leading = column.size * self.style.line_height
        # Numbers are never cut in two (the stylesheet's `white-space: nowrap`), and an
        # identifier only when it cannot fit even a little smaller.
        whole = column.right or (
            column.anywhere and layout.fits_smaller(value, column.font, column.size, inner)
        )
        values = (
            [value]
            if whole
            else layout.wrap(value, column.font, column.size, inner, anywhere=column.anywhere)
        )
        return [
            Line(
                value,
                column.font,
                layout.fit_size(value, column.font, column.size, inner),
                column.color,
                leading,
            )
            for value in values
        ], tag

    def _write(self, canvas: Canvas, column: Column, start: float, top: float, line: Line) -> None:
        y = layout.baseline(top, line.size, line.leading)
        pad = self.style.pad_x
        x = start + column.width - pad if column.right else start + pad
        layout.text(canvas, x, y, line.value, line.font, line.size, line.color, right=column.right)

    def _tag(self, canvas: Canvas, start: float, top: float, last: Line, tag: str) -> None:
        """A small pill after the cell's last line, as the web view's `.tag`."""
        x = start + self.style.pad_x + layout.width_of(last.value, last.font, last.size) + mm(1.5)
        width = layout.width_of(tag, CONDENSED, _TAG_SIZE) + mm(2.4)
        pill = _TAG_SIZE * 1.3
        pill_top = top + (last.leading - pill) / 2
        layout.box(canvas, x, pill_top, width, pill, ACCENT_SOFT, radius=_TAG_SIZE * 0.6)
        y = layout.baseline(top, _TAG_SIZE, last.leading)
        layout.text(canvas, x + mm(1.2), y, tag, CONDENSED, _TAG_SIZE, ACCENT)
