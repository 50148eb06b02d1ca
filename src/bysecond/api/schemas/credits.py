"""Credits usable for everything (R10): grants, what each paid, the live balance, the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bysecond.core.money import currency, format_decimal
from bysecond.services.credit_accounts import CreditAccount
from bysecond.store.schema import CreditGrant

from .common import Amount, Identifier, InstantIn, Text, UnsignedDecimal, text


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: UnsignedDecimal = Field(description="In the organisation's currency, e.g. 50.00.")
    kind: Literal["promotional", "prepaid"] = Field(
        description="promotional: free, may expire, before VAT; prepaid: bought, after VAT."
    )
    expires_at: InstantIn | None = Field(default=None, description="Promotional grants only.")
    priority: int = Field(default=0, ge=-1000, le=1000, description="Lower is drawn first.")
    reason: Text = Field(default="", max_length=500, description="Shown on the statement.")
    grant_id: Identifier | None = Field(
        default=None, max_length=64, description="Default: derived from the grant."
    )


class GrantPublic(BaseModel):
    grant_id: str
    organization_id: str
    kind: Literal["promotional", "prepaid"]
    amount: Amount
    currency: str
    granted_at: datetime
    expires_at: datetime | None
    priority: int
    reason: str | None

    @classmethod
    def of(cls, row: CreditGrant) -> GrantPublic:
        return cls(
            grant_id=row.id,
            organization_id=row.organization_id,
            kind=row.kind,  # type: ignore[arg-type]  # the table's check constraint
            amount=text(row.amount),
            currency=row.currency,
            granted_at=row.granted_at,
            expires_at=row.expires_at,
            priority=row.priority,
            reason=row.reason,
        )


class GrantPayment(BaseModel):
    invoice: str | None = Field(description="The invoice number.")
    period: str
    amount: Amount


class GrantLineOut(BaseModel):
    grant_id: str
    kind: Literal["promotional", "prepaid"]
    amount: Amount
    granted_at: datetime
    expires_at: datetime | None
    priority: int
    reason: str | None
    paid: list[GrantPayment] = Field(description="What it paid, invoice by invoice.")
    applied: Amount
    expired: Amount
    remaining: Amount


class LedgerEntryOut(BaseModel):
    id: int
    grant_id: str
    kind: Literal["granted", "applied", "expired", "returned"]
    amount: Amount
    at: datetime
    invoice_id: str | None
    invoice_number: str | None


class CreditsPublic(BaseModel):
    organization_id: str
    currency: str
    balance: Amount = Field(
        description="The live balance: remaining credit minus what the current draft takes."
    )
    remaining: Amount = Field(description="Granted minus what issued invoices took.")
    current_period: str
    current_draft_takes: Amount
    grants: list[GrantLineOut]
    ledger: list[LedgerEntryOut]

    @classmethod
    def of(cls, account: CreditAccount) -> CreditsPublic:
        s = account.statement
        cur = currency(s.currency)
        return cls(
            organization_id=s.organization_id,
            currency=s.currency,
            balance=format_decimal(s.live_balance, cur),
            remaining=format_decimal(s.remaining, cur),
            current_period=s.draft_period,
            current_draft_takes=format_decimal(s.draft_takes, cur),
            grants=[
                GrantLineOut(
                    grant_id=g.grant.id,
                    kind=g.grant.kind,
                    amount=text(g.grant.amount),
                    granted_at=g.grant.granted_at,
                    expires_at=g.grant.expires_at,
                    priority=g.grant.priority,
                    reason=g.reason or None,
                    paid=[
                        GrantPayment(invoice=number or None, period=period, amount=text(amount))
                        for number, period, amount in g.paid
                    ],
                    applied=format_decimal(g.applied, cur),
                    expired=format_decimal(g.expired, cur),
                    remaining=format_decimal(g.remaining, cur),
                )
                for g in s.grants
            ],
            ledger=[
                LedgerEntryOut(
                    id=e.id,
                    grant_id=e.grant_id,
                    kind=e.kind,  # type: ignore[arg-type]  # the table's check constraint
                    amount=text(e.amount),
                    at=e.at,
                    invoice_id=e.invoice_id,
                    invoice_number=e.invoice_number,
                )
                for e in account.ledger
            ],
        )
