"""What every page carries around its content: the running title from page 2 on, the
page number, and the DRAFT watermark of an invoice not yet issued (R13)."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from . import layout
from .context import Sheet
from .fonts import SANS, SANS_BOLD
from .style import (
    BOTTOM,
    FAINT,
    LEFT,
    MARGIN_TEXT_SIZE,
    PAGE_WIDTH,
    RIGHT,
    TOP,
    WATERMARK,
    mm,
)

_WATERMARK_SIZE = 72
_WATERMARK_CENTRE = mm(118)  # from the top of the page, as the stylesheet places it
_WATERMARK_ANGLE = 28  # degrees, rising to the right


def under_content(canvas: Canvas, sheet: Sheet) -> None:
    """Drawn first, so the text of the page stays readable over it."""
    if not sheet.draft:
        return
    canvas.saveState()
    canvas.translate(PAGE_WIDTH / 2, layout.pdf_y(_WATERMARK_CENTRE))
    canvas.rotate(_WATERMARK_ANGLE)
    canvas.setFillColor(WATERMARK)
    canvas.setFont(SANS_BOLD, _WATERMARK_SIZE)
    canvas.drawCentredString(0, -_WATERMARK_SIZE * 0.35, sheet.number, charSpace=7)
    canvas.restoreState()


def over_content(canvas: Canvas, sheet: Sheet, number: int, pages: int) -> None:
    """The running title (page 1 has the full heading instead) and "Page 2 of 5"."""
    labels = sheet.labels
    if number > 1:
        y = TOP - mm(3) - MARGIN_TEXT_SIZE * 0.25
        layout.text(canvas, LEFT, y, sheet.running_title, SANS, MARGIN_TEXT_SIZE, FAINT)
    y = BOTTOM + mm(3) + MARGIN_TEXT_SIZE * 0.95
    page = f"{labels['page']} {number} {labels['of']} {pages}"
    layout.text(canvas, RIGHT, y, page, SANS, MARGIN_TEXT_SIZE, FAINT, right=True)
