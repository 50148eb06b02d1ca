"""The invoice document drawn as a PDF: a summary page, then the detail pages.

The pages are drawn straight onto a ReportLab canvas from the stored invoice document,
with the web view's wording (labels.py), formats (formatting.py) and look (style.py):
laying out HTML instead cost ~300 ms an invoice, this ~20 ms. Layout comes first
(summary.py, details.py), so the number of pages is known when they are drawn.
"""

from __future__ import annotations

from io import BytesIO

from reportlab.pdfgen.canvas import Canvas

from ..document import Document
from . import furniture
from .archive import PDF_A_3B, prepare_archive
from .context import Sheet
from .details import place_details
from .fonts import SANS, register_fonts
from .layout import Flow
from .style import BODY_SIZE, PAGE_HEIGHT, PAGE_WIDTH
from .summary import place_summary


def render_pdf(document: Document, *, pdf_variant: str | None = None) -> bytes:
    """The invoice document as a PDF (A4, numbered pages, repeated table headers).

    `pdf_variant` "pdf/a-3b" prepares the PDF for the Factur-X container (archive.py).
    The same document always gives the same bytes.
    """
    if pdf_variant not in (None, PDF_A_3B):
        raise ValueError(f"unknown PDF variant {pdf_variant!r}; {PDF_A_3B!r} is supported")
    register_fonts()
    sheet = Sheet.of(document)
    flow = Flow()
    place_summary(flow, sheet)
    place_details(flow, sheet)
    output = BytesIO()
    canvas = Canvas(
        output,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=True,  # no clock or random id in the file: same document, same bytes
        initialFontName=SANS,
        initialFontSize=BODY_SIZE,
        lang=sheet.language,
    )
    _describe(canvas, sheet)
    for number, operations in enumerate(flow.pages, start=1):
        furniture.under_content(canvas, sheet)
        for operation in operations:
            operation(canvas)
        furniture.over_content(canvas, sheet, number, len(flow.pages))
        canvas.showPage()
    if pdf_variant == PDF_A_3B:
        prepare_archive(canvas)
    canvas.save()
    return output.getvalue()


def _describe(canvas: Canvas, sheet: Sheet) -> None:
    """The document information a PDF reader shows, as the HTML page's title."""
    seller = sheet.document["seller"]["name"]
    canvas.setTitle(f"{seller} · {sheet.title} {sheet.number}")
    canvas.setAuthor(seller)
    canvas.setSubject(sheet.running_title)
    canvas.setCreator("bysecond")
