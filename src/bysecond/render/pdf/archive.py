"""What PDF/A-3 adds to the invoice PDF, for the Factur-X container (render/facturx_pdf).

PDF/A asks for every font embedded (always the case here: fonts.py), no font that is
merely named (the canvas starts in DejaVu Sans, not ReportLab's default Helvetica), and
an output intent naming the colour space of the page's colours: sRGB. The factur-x
package then adds the XMP metadata that declares PDF/A-3 and the attached XML.
"""

from __future__ import annotations

from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfgen.canvas import Canvas

from .srgb import srgb_profile

PDF_A_3B = "pdf/a-3b"
_SRGB = "sRGB IEC61966-2.1"
# The factur-x package writes the final file with pypdf and names it as the producer in
# the XMP metadata; PDF/A wants the document information to say the same (6.6.2.3).
_FACTURX_PRODUCER = "pypdf"


def prepare_archive(canvas: Canvas) -> None:
    """Makes the canvas's PDF ready to become a PDF/A-3 in the factur-x package."""
    _declare_srgb_output_intent(canvas)
    canvas.setProducer(_FACTURX_PRODUCER)


def _declare_srgb_output_intent(canvas: Canvas) -> None:
    """Adds the sRGB output intent (ISO 19005-3, 6.2.3) to the document's catalog."""
    document = canvas._doc  # ReportLab has no public call for catalog entries it lacks
    profile = PDFStream(PDFDictionary({"N": 3}), srgb_profile(), filters=[PDFZCompress])
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString(_SRGB),
            "Info": PDFString(_SRGB),
            "RegistryName": PDFString("http://www.color.org"),
            "DestOutputProfile": document.Reference(profile),
        }
    )
    catalog = document.Catalog
    catalog.OutputIntents = PDFArray([intent])
    # The catalog writes only the entries it lists; the list is extended for this one.
    catalog.__NoDefault__ = [*type(catalog).__NoDefault__, "OutputIntents"]
