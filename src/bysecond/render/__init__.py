"""Invoice documents rendered for people and machines: HTML, PDF and Factur-X.

Each renderer reads the stored invoice document (docs/invoice-document.md) and nothing
else; no amount is recomputed here.
"""

from .facturx_pdf import render_facturx_pdf
from .facturx_xml import FacturXError, facturx_xml
from .html import render_html
from .pdf import render_pdf

__all__ = ["FacturXError", "facturx_xml", "render_facturx_pdf", "render_html", "render_pdf"]
