"""A billing run: every organisation's invoice for a period, drafted or issued (R13)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bysecond.services.billing import BillingReport

from .common import Amount, Identifier, text

Outcome = Literal["finalized", "draft", "refused", "already_final", "no_usage"]
OUTCOMES: tuple[Outcome, ...] = ("finalized", "draft", "refused", "already_final", "no_usage")


class BillingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-10"])
    finalize: bool = Field(
        default=False, description="Issue the invoices: numbered, final (R13). Else drafts."
    )
    organizations: list[Identifier] | None = Field(
        default=None, max_length=10_000, description="Only these organisations. Default: all."
    )


class OrganizationOutcome(BaseModel):
    organization_id: str
    outcome: Outcome
    number: str | None
    subtotal: Amount
    total: Amount
    amount_due: Amount
    credits_used: Amount
    reason: str | None


class BillingRunPublic(BaseModel):
    """The same report as `bysecond bill --json`."""

    period: str
    finalize: bool
    counts: dict[Outcome, int]
    organizations: list[OrganizationOutcome]

    @classmethod
    def of(cls, report: BillingReport) -> BillingRunPublic:
        return cls(
            period=report.period,
            finalize=report.finalize,
            counts={outcome: report.count(outcome) for outcome in OUTCOMES},
            organizations=[
                OrganizationOutcome(
                    organization_id=r.organization_id,
                    outcome=r.outcome,
                    number=r.number,
                    subtotal=text(r.subtotal),
                    total=text(r.total),
                    amount_due=text(r.amount_due),
                    credits_used=text(r.credits_used),
                    reason=r.reason or None,
                )
                for r in report.results
            ],
        )
