"""The Factur-X invoice: the PDF/A-3 rendering with its EN 16931 XML embedded."""

from __future__ import annotations

from facturx import generate_from_binary

from .document import Document, is_credit_note
from .facturx_xml import facturx_xml
from .formatting import parse_locale
from .pdf import render_pdf
from .pdf.archive import PDF_A_3B


def render_facturx_pdf(document: Document) -> bytes:
    """A PDF/A-3b of the invoice with `factur-x.xml` (EN 16931 level) attached.

    The XML is checked against the Factur-X XSD before it is embedded; a draft is refused
    (see `facturx_xml`). The PDF comes with its fonts embedded and an sRGB output intent
    (pdf/archive.py); the factur-x package adds the XMP metadata declaring PDF/A-3 and
    the XML as associated file.
    """
    xml = facturx_xml(document)
    pdf = render_pdf(document, pdf_variant=PDF_A_3B)
    seller, number = document["seller"]["name"], document["number"]
    kind = "Credit note" if is_credit_note(document) else "Invoice"
    locale = parse_locale(document["buyer"].get("locale"))
    result: bytes = generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": seller,
            "keywords": f"Factur-X, {kind}",
            "title": f"{seller}: {kind} {number}",
            "subject": f"Factur-X {kind.lower()} {number} issued by {seller}",
        },
        lang=str(locale).replace("_", "-"),
    )
    return result
