"""What every part of the PDF needs to know about the document it draws.

The same values the HTML template receives (render/html.py): the document itself, the
buyer's `Formatter` and wording, and the title and number printed in several places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..document import Document, is_credit_note
from ..formatting import Formatter, parse_locale
from ..labels import labels_for


@dataclass(frozen=True)
class Sheet:
    document: Document
    fmt: Formatter
    labels: Mapping[str, str]
    language: str
    credit_note: bool
    title: str  # "Invoice" or "Credit note", in the buyer's language
    number: str  # the invoice number, or "DRAFT" before it has one
    former: Mapping[str, Mapping[str, Any]]  # the former rule's lines (R15), by line id

    @classmethod
    def of(cls, document: Document) -> Sheet:
        locale = parse_locale(document["buyer"].get("locale"))
        labels = labels_for(locale.language)
        credit_note = is_credit_note(document)
        comparison = document.get("comparison")
        return cls(
            document=document,
            fmt=Formatter(locale, document["currency"], document["period"]["time_zone"]),
            labels=labels,
            language=locale.language,
            credit_note=credit_note,
            title=labels["credit_note"] if credit_note else labels["invoice"],
            number=document["number"] or labels["draft"],
            former={line["id"]: line for line in comparison["lines"]} if comparison else {},
        )

    @property
    def draft(self) -> bool:
        return not self.document["number"]

    @property
    def running_title(self) -> str:
        """The line at the top of every page after the first."""
        document = self.document
        return " · ".join(
            (
                document["seller"]["name"],
                f"{self.title} {self.number}",
                document["buyer"]["name"],
                self.fmt.month(document["period"]["start"]),
            )
        )
