"""Reading invoices: the stored documents, byte for byte (R13)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from bysecond.store.schema import Invoice


class InvoiceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    organization_id: str
    period: str
    status: str
    number: str | None
    total: Decimal
    amount_due: Decimal
    currency: str


def list_invoices(
    session: Session, organization_id: str | None = None, period: str | None = None
) -> list[InvoiceSummary]:
    query = select(Invoice).order_by(Invoice.period, Invoice.organization_id)
    if organization_id:
        query = query.where(Invoice.organization_id == organization_id)
    if period:
        query = query.where(Invoice.period == period)
    return [summary(row) for row in session.scalars(query)]


def summary(row: Invoice) -> InvoiceSummary:
    document = orjson.loads(row.document)
    return InvoiceSummary(
        row.id,
        row.organization_id,
        row.period,
        row.status,
        row.number,
        Decimal(document["total"]),
        Decimal(document["amount_due"]),
        document["currency"],
    )


def stored_document(session: Session, organization_id: str, period: str) -> bytes:
    """The invoice document exactly as stored."""
    row = session.scalar(
        select(Invoice).where(Invoice.organization_id == organization_id, Invoice.period == period)
    )
    if row is None:
        raise InvoiceNotFound(
            f"no invoice of {organization_id} for {period}; "
            f"run `bysecond bill --period {period}` first"
        )
    return row.document


def decoded(document: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(document)
    return value
