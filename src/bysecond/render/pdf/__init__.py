"""The invoice as PDF, drawn with ReportLab (see invoice.py)."""

from .fonts import FontsMissing
from .invoice import render_pdf

__all__ = ["FontsMissing", "render_pdf"]
