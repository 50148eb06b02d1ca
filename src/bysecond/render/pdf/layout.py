"""Placing blocks on pages, top to bottom, and drawing text on a ReportLab canvas.

Layout happens before any drawing: content is cut into `Block`s of known height, which a
`Flow` puts one under the other and moves to a new page when the next one does not fit.
Only once every page is known are they drawn, so each can say "Page 3 of 12".

Positions here are measured from the top of the page (`y` grows downwards, as a reader
goes); `pdf_y` turns them into PDF coordinates, which grow upwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .style import BOTTOM, PAGE_HEIGHT, TOP

# Something drawn on a page once its position is fixed.
Op = Callable[[Canvas], None]

# DejaVu's ascent and descent, in ems: where the baseline sits in a line box.
_ASCENT = 0.928
_DESCENT = 0.236
_WORDS = re.compile(r"\S+|\s+")


def pdf_y(y: float) -> float:
    return PAGE_HEIGHT - y


def baseline(top: float, size: float, leading: float) -> float:
    """The baseline of a line of text of `size` in a line box of height `leading`, the
    text centred in the box as CSS does."""
    return top + (leading - (_ASCENT + _DESCENT) * size) / 2 + _ASCENT * size


def width_of(text: str, font: str, size: float) -> float:
    return float(stringWidth(text, font, size))


# Drawing --------------------------------------------------------------------------------


def text(
    canvas: Canvas,
    x: float,
    y: float,
    value: str,
    font: str,
    size: float,
    color: Color,
    *,
    right: bool = False,
) -> None:
    """One line of text whose baseline is at `y`; `right` aligns its end on `x`."""
    canvas.setFont(font, size)
    canvas.setFillColor(color)
    if right:
        canvas.drawRightString(x, pdf_y(y), value)
    else:
        canvas.drawString(x, pdf_y(y), value)


def box(
    canvas: Canvas,
    x: float,
    top: float,
    width: float,
    height: float,
    color: Color,
    radius: float = 0,
) -> None:
    """A filled rectangle whose top edge is at `top`."""
    canvas.setFillColor(color)
    if radius:
        canvas.roundRect(x, pdf_y(top + height), width, height, radius, stroke=0, fill=1)
    else:
        canvas.rect(x, pdf_y(top + height), width, height, stroke=0, fill=1)


def rule(canvas: Canvas, x1: float, x2: float, y: float, thickness: float, color: Color) -> None:
    canvas.setStrokeColor(color)
    canvas.setLineWidth(thickness)
    canvas.line(x1, pdf_y(y), x2, pdf_y(y))


# Wrapping ---------------------------------------------------------------------------------


def wrap(value: str, font: str, size: float, width: float, *, anywhere: bool = False) -> list[str]:
    """`value` cut into lines no wider than `width`: at spaces, or at any character when
    `anywhere` (identifiers, as the stylesheet's `word-break: break-all`). A word wider
    than the line stays whole otherwise; `fit_size` then shrinks it."""
    if width_of(value, font, size) <= width:
        return [value]
    if anywhere:
        lines, current = [], ""
        for character in value:
            if current and width_of(current + character, font, size) > width:
                lines.append(current)
                current = ""
            current += character
        return [*lines, current]
    lines, current = [], ""
    for word in value.split():
        candidate = f"{current} {word}" if current else word
        if current and width_of(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines or [""]


# How much smaller a line may be drawn to fit its cell and stay easy to read.
_SMALLEST = 0.8


def fit_size(value: str, font: str, size: float, width: float) -> float:
    """The size at which one line fits `width`: a long number is made a little smaller
    rather than cut in two (never below `_SMALLEST`)."""
    actual = width_of(value, font, size)
    return size if actual <= width else max(size * width / actual, size * _SMALLEST)


def fits_smaller(value: str, font: str, size: float, width: float) -> bool:
    return width_of(value, font, size * _SMALLEST) <= width


@dataclass(frozen=True)
class Run:
    """A piece of a sentence in one font and colour (a bold amount in a sentence)."""

    value: str
    font: str
    color: Color


def wrap_runs(runs: Sequence[Run], size: float, width: float) -> list[list[Run]]:
    """A sentence of several runs cut into lines at spaces."""
    lines: list[list[Run]] = [[]]
    used = 0.0
    for run in runs:
        for token in _WORDS.findall(run.value):
            token_width = width_of(token, run.font, size)
            if token.isspace():
                if lines[-1]:  # no space at the start of a line
                    lines[-1].append(Run(token, run.font, run.color))
                    used += token_width
            elif used + token_width > width and lines[-1]:
                while lines[-1] and lines[-1][-1].value.isspace():
                    lines[-1].pop()
                lines.append([Run(token, run.font, run.color)])
                used = token_width
            else:
                lines[-1].append(Run(token, run.font, run.color))
                used += token_width
    return [_merged(line) for line in lines]


def _merged(line: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in line:
        if merged and merged[-1].font == run.font and merged[-1].color == run.color:
            merged[-1] = Run(merged[-1].value + run.value, run.font, run.color)
        else:
            merged.append(run)
    return merged


def draw_runs(canvas: Canvas, x: float, y: float, line: Sequence[Run], size: float) -> None:
    """One line of runs as one text object, so a PDF reader reads it as one sentence."""
    writer = canvas.beginText(x, pdf_y(y))
    for run in line:
        writer.setFont(run.font, size)
        writer.setFillColor(run.color)
        writer.textOut(run.value)
    canvas.drawText(writer)


# Blocks and pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Something of known height that draws itself with its top edge at a given y."""

    height: float
    draw: Callable[[Canvas, float], None]


def space(height: float) -> Block:
    return Block(height, lambda canvas, top: None)


@dataclass
class Flow:
    """Pages filled with blocks from `TOP` to `BOTTOM`."""

    pages: list[list[Op]] = field(default_factory=lambda: [[]])
    y: float = TOP

    def fits(self, height: float) -> bool:
        return self.y + height <= BOTTOM

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP

    def keep(self, height: float) -> None:
        """Starts a new page unless `height` fits under what is already on this one."""
        if not self.fits(height) and self.y > TOP:
            self.new_page()

    def place(self, block: Block) -> None:
        self.keep(block.height)
        top = self.y
        self.pages[-1].append(lambda canvas: block.draw(canvas, top))
        self.y += block.height

    def place_all(self, blocks: Iterable[Block]) -> None:
        for block in blocks:
            self.place(block)

    def place_table(self, header: Block, rows: Iterable[Block], lead: Sequence[Block] = ()) -> None:
        """A table whose header row is repeated at the top of every page it runs onto.

        A row is never cut in two. `lead` (a heading) stays on the page of the first row,
        with the header, as the stylesheet's `break-after: avoid` keeps them together.
        """
        first = True
        for row in rows:
            if first:
                self.keep(sum(block.height for block in lead) + header.height + row.height)
                self.place_all([*lead, header])
                first = False
            elif not self.fits(row.height):
                self.new_page()
                self.place(header)
            self.place(row)
        if first:  # a table without rows: its heading and header still say it is empty
            self.place_all([*lead, header])
