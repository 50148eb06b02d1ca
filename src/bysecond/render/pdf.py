"""The invoice as PDF: WeasyPrint lays out the same HTML as the web view.

The stylesheet is parsed once per process and reused for every invoice, with one font
configuration: parsing the CSS and loading fonts would otherwise be paid again for each
document of a billing run.
"""

from __future__ import annotations

from functools import cache

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .document import Document
from .html import render_html, stylesheet_text


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    return CSS(string=stylesheet_text(), font_config=_fonts())


def render_pdf(document: Document, *, pdf_variant: str | None = None) -> bytes:
    """The invoice document as a PDF (A4, numbered pages, repeated table headers).

    `pdf_variant` is WeasyPrint's, e.g. "pdf/a-3b" for the Factur-X container.
    """
    page = HTML(string=render_html(document, embed_css=False, compact=True))
    pdf: bytes | None = page.write_pdf(
        stylesheets=[_stylesheet()],
        font_config=_fonts(),
        pdf_variant=pdf_variant,
    )
    if pdf is None:  # write_pdf returns None only when given a target file
        raise RuntimeError("WeasyPrint returned no PDF")
    return pdf
