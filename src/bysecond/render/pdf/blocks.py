"""Blocks used on every kind of page: section headings and paragraphs."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from . import layout
from .fonts import SANS, SANS_BOLD
from .layout import Block, Run
from .style import CONTENT_WIDTH, HEADING_SIZE, INK, LEFT, LINE_HEIGHT, MUTED, mm


def heading(label: str, *, above: float = mm(5), below: float = mm(1.5), x: float = LEFT) -> Block:
    """A section heading in small capitals (the stylesheet's h2)."""
    leading = HEADING_SIZE * LINE_HEIGHT
    value = label.upper()

    def draw(canvas: Canvas, top: float) -> None:
        y = layout.baseline(top + above, HEADING_SIZE, leading)
        layout.text(canvas, x, y, value, SANS_BOLD, HEADING_SIZE, MUTED)

    return Block(above + leading + below, draw)


def paragraph(
    runs: Sequence[Run],
    size: float,
    *,
    x: float = LEFT,
    width: float = CONTENT_WIDTH,
    below: float = 0,
) -> Block:
    """A paragraph that wraps at spaces, its runs keeping their fonts and colours."""
    leading = size * LINE_HEIGHT
    lines = layout.wrap_runs(runs, size, width)

    def draw(canvas: Canvas, top: float) -> None:
        for number, line in enumerate(lines):
            y = layout.baseline(top + number * leading, size, leading)
            layout.draw_runs(canvas, x, y, line, size)

    return Block(len(lines) * leading + below, draw)


def plain(value: str, font: str = SANS, color: Color = MUTED) -> list[Run]:
    return [Run(value, font, color)]


class Stack:
    """Lines of text one under the other in a column of the page (a party, a fact):
    built first, so that its height is known before it is placed."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.height = 0.0
        self._lines: list[tuple[float, float, list[Run]]] = []  # (top, size, runs)

    def add(self, runs: Sequence[Run], size: float, *, before: float = 0) -> Stack:
        self.height += before
        for line in layout.wrap_runs(runs, size, self.width):
            self._lines.append((self.height, size, line))
            self.height += size * LINE_HEIGHT
        return self

    def draw(self, canvas: Canvas, x: float, top: float) -> None:
        for offset, size, line in self._lines:
            y = layout.baseline(top + offset, size, size * LINE_HEIGHT)
            layout.draw_runs(canvas, x, y, line, size)


def notice(
    message: str,
    border: Color,
    background: Color,
    *,
    x: float = LEFT,
    width: float = CONTENT_WIDTH,
) -> Block:
    """A sentence in a shaded box with a coloured left border (draft, reverse charge)."""
    above, pad_y, pad_x, size = mm(3), mm(2), mm(3), 8.0
    stack = Stack(width - 2 * pad_x - 2).add([Run(message, SANS, INK)], size)
    height = above + stack.height + 2 * pad_y

    def draw(canvas: Canvas, top: float) -> None:
        layout.box(canvas, x, top + above, width, height - above, background)
        layout.box(canvas, x, top + above, 2, height - above, border)
        stack.draw(canvas, x + 2 + pad_x, top + above + pad_y)

    return Block(height, draw)
