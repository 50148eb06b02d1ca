"""The current period so far, and projected to its end."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bysecond.core.credits import Settlement
from bysecond.core.money import currency, format_decimal

from .common import Amount
from .invoices import InvoiceDocument


class PeriodOut(BaseModel):
    key: str = Field(examples=["2026-10"])
    start: datetime
    end: datetime
    time_zone: str


class ProjectedTotals(BaseModel):
    """The invoice at period end if everything running keeps running (R4, R10-R12)."""

    subtotal: Amount
    promotional_credits_applied: Amount
    taxable_amount: Amount
    vat_amount: Amount
    total: Amount
    prepaid_credits_applied: Amount
    amount_due: Amount

    @classmethod
    def of(cls, settlement: Settlement, currency_code: str) -> ProjectedTotals:
        cur = currency(currency_code)
        s = settlement
        return cls(
            subtotal=format_decimal(s.subtotal, cur),
            promotional_credits_applied=format_decimal(s.promotional_applied, cur),
            taxable_amount=format_decimal(s.taxable, cur),
            vat_amount=format_decimal(s.vat_amount, cur),
            total=format_decimal(s.total, cur),
            prepaid_credits_applied=format_decimal(s.prepaid_applied, cur),
            amount_due=format_decimal(s.amount_due, cur),
        )


class EstimatePublic(BaseModel):
    organization_id: str
    as_of: datetime
    currency: str
    period: PeriodOut
    so_far: InvoiceDocument = Field(description="The draft invoice of the period up to now.")
    projected: ProjectedTotals
