"""What every renderer reads: the stored invoice document (docs/invoice-document.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The JSON document decoded as it is stored; renderers read it and never change it.
Document = Mapping[str, Any]


def is_credit_note(document: Document) -> bool:
    """A credit note corrects an issued invoice (R13); any other document is an invoice."""
    return bool(document.get("type", "invoice") == "credit_note")
