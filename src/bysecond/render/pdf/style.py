"""The PDF's page, colours and type sizes: the print rules of web/static/invoice.css.

Kept in step with the stylesheet by hand, so that the PDF and the web view look like the
same document. Lengths are in PDF points (1/72 inch); `mm` converts.
"""

from __future__ import annotations

from typing import Final

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4


def mm(value: float) -> float:
    return value * 72 / 25.4


PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_TOP: Final = mm(17)
MARGIN_BOTTOM: Final = mm(16)
MARGIN_SIDE: Final = mm(14)
LEFT: Final = MARGIN_SIDE
RIGHT: Final = PAGE_WIDTH - MARGIN_SIDE
CONTENT_WIDTH: Final = RIGHT - LEFT
# The content area, measured from the top of the page (see `layout`).
TOP: Final = MARGIN_TOP
BOTTOM: Final = PAGE_HEIGHT - MARGIN_BOTTOM

INK: Final[Color] = HexColor("#17202e")
MUTED: Final[Color] = HexColor("#5c6778")
FAINT: Final[Color] = HexColor("#8a93a3")
RULE: Final[Color] = HexColor("#d8dde6")
ZEBRA: Final[Color] = HexColor("#f5f7fa")
ACCENT: Final[Color] = HexColor("#2f4fb5")
ACCENT_SOFT: Final[Color] = HexColor("#eef2fc")
CREDIT: Final[Color] = HexColor("#1d6b35")
PAID_BACKGROUND: Final[Color] = HexColor("#e3f4e8")
DRAFT: Final[Color] = HexColor("#c0392b")
DRAFT_BACKGROUND: Final[Color] = HexColor("#fdf1f0")
# The stylesheet's rgba(200, 40, 40, 0.07) over white, as an opaque colour: the
# watermark is drawn first, under everything, so it needs no transparency.
WATERMARK: Final[Color] = HexColor("#fbf0f0")
WHITE: Final[Color] = HexColor("#ffffff")

BODY_SIZE: Final = 8.5
LINE_HEIGHT: Final = 1.35  # leading = size x LINE_HEIGHT
HEADING_SIZE: Final = 7.5  # the uppercase section headings (h2)
SMALL_SIZE: Final = 7.0
MARGIN_TEXT_SIZE: Final = 7.0  # running header and page numbers
DETAIL_SIZE: Final = 6.8
DETAIL_IDENT_SIZE: Final = 6.3
TABLE_HEAD_SIZE: Final = 6.5
