"""The invoice as HTML: one Jinja2 template for the web view and the PDF.

The template reads the invoice document only (docs/invoice-document.md): every amount it
prints is a field of the document, written by `Formatter`; nothing is added up or
recomputed here (R8-R12 belong to the core).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .document import Document, is_credit_note
from .formatting import Formatter, parse_locale
from .labels import labels_for

# The order of the totals on the summary page, as in the document's `totals_by_kind`.
KINDS = ("application", "addon", "task", "usage", "adjustment")


@cache
def environment() -> Environment:
    """One environment per process: Jinja compiles each template once and keeps it."""
    return Environment(
        loader=PackageLoader("bysecond.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a missing field is an error, never a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet_text() -> str:
    """The bundled print and screen CSS (no asset is ever fetched from the network)."""
    return files("bysecond.web").joinpath("static/invoice.css").read_text(encoding="utf-8")


def render_html(document: Document, *, embed_css: bool = True) -> str:
    """The invoice as a standalone HTML page (the web view; the PDF is drawn by
    `render.pdf` from the same document).

    With `embed_css` the stylesheet is inlined so the page needs no other file.
    """
    buyer = document["buyer"]
    locale = parse_locale(buyer.get("locale"))
    fmt = Formatter(locale, document["currency"], document["period"]["time_zone"])
    comparison = document.get("comparison")
    context = {
        "doc": document,
        "fmt": fmt,
        "L": labels_for(locale.language),
        "lang": locale.language,
        "kinds": KINDS,
        "credit_note": is_credit_note(document),
        "former": {line["id"]: line for line in comparison["lines"]} if comparison else {},
        "inline_css": stylesheet_text() if embed_css else None,
    }
    return environment().get_template("invoice.html").render(context)
