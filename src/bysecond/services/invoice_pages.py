"""An organisation's invoices page by page, and one invoice by id or number (R13).

Pages are read by keyset, newest period first: an organisation has one invoice per
period, so the period of the last invoice shown is where the next page starts, and an
invoice issued meanwhile neither shifts nor repeats what the reader has seen.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bysecond.store.schema import INVOICE_STATUSES, Invoice

from .invoices import InvoiceNotFound, InvoiceSummary, summary

MAX_PAGE: Final = 100
_PERIOD: Final = re.compile(r"^\d{4}-\d{2}$")


class CursorError(ValueError):
    """A cursor this service did not write."""


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[InvoiceSummary]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    id: str
    number: str | None
    status: str
    period: str
    document: bytes  # exactly as stored


def invoice_page(
    session: Session,
    organization_id: str,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> InvoicePage:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be from 1 to {MAX_PAGE}")
    if status is not None and status not in INVOICE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(INVOICE_STATUSES)}")
    query = (
        select(Invoice)
        .where(Invoice.organization_id == organization_id)
        .order_by(Invoice.period.desc())
        .limit(limit + 1)  # one more tells whether another page follows
    )
    if cursor is not None:
        query = query.where(Invoice.period < decode_cursor(cursor))
    if status is not None:
        query = query.where(Invoice.status == status)
    rows = list(session.scalars(query))
    shown = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(shown[-1].period) if more else None
    return InvoicePage([summary(row) for row in shown], next_cursor)


def find_invoice(session: Session, organization_id: str, reference: str) -> StoredInvoice:
    """The organisation's invoice with this id (`inv_...`) or number (`YYYY-NNNNNN`)."""
    row = session.scalar(
        select(Invoice).where(
            Invoice.organization_id == organization_id,
            or_(Invoice.id == reference, Invoice.number == reference),
        )
    )
    if row is None:
        raise InvoiceNotFound(f"no invoice {reference!r}")
    return StoredInvoice(row.id, row.number, row.status, row.period, row.document)


def encode_cursor(period: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"before": period})).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CursorError("the cursor is not one this API gave") from None
    period = value.get("before") if isinstance(value, dict) else None
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise CursorError("the cursor is not one this API gave")
    return period
