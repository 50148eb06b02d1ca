"""Invoices: the stored document (docs/invoice-document.md) and pages of summaries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bysecond.services.invoices import InvoiceSummary

from .common import Amount, text


class InvoicePeriod(BaseModel):
    model_config = ConfigDict(extra="allow")

    start: str
    end: str


class InvoiceDocument(BaseModel):
    """The invoice document, exactly as stored (CONTRACT.md; docs/invoice-document.md
    describes every field). Amounts are decimal strings."""

    model_config = ConfigDict(extra="allow")

    id: str
    number: str | None = Field(description="YYYY-NNNNNN once finalized; null for a draft.")
    status: Literal["draft", "finalized", "paid"]
    organization_id: str
    currency: str
    policy: str
    period: InvoicePeriod
    lines: list[dict[str, Any]]
    subtotal: Amount
    promotional_credits_applied: Amount
    taxable_amount: Amount
    vat_rate: Amount
    vat_amount: Amount
    total: Amount
    prepaid_credits_applied: Amount
    amount_due: Amount
    credits: list[dict[str, Any]]
    comparison: dict[str, Any]


class InvoiceSummaryOut(BaseModel):
    id: str
    number: str | None
    organization_id: str
    period: str = Field(examples=["2026-10"])
    status: Literal["draft", "finalized", "paid"]
    total: Amount
    amount_due: Amount
    currency: str

    @classmethod
    def of(cls, summary: InvoiceSummary) -> InvoiceSummaryOut:
        return cls(
            id=summary.id,
            number=summary.number,
            organization_id=summary.organization_id,
            period=summary.period,
            status=summary.status,  # type: ignore[arg-type]  # the schema's check constraint
            total=text(summary.total),
            amount_due=text(summary.amount_due),
            currency=summary.currency,
        )


class InvoicePagePublic(BaseModel):
    invoices: list[InvoiceSummaryOut] = Field(description="Newest period first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
