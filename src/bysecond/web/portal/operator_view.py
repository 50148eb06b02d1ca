"""The operator's page: organisations with their month and balance, and the billing runs.

Billing runs are not stored; their outcome is: every invoice is stored with its status.
So a run is read back from the invoices of its period (finalised, still draft), and an
invoice of a past period that is still a draft is one the last run refused, with the
reason its document gives (R13: usage without a price cannot be finalised).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from bysecond.core.invoice import Seller
from bysecond.core.period import BillingPeriod
from bysecond.services.credits import credit_statement
from bysecond.services.estimates import current_estimate
from bysecond.store.schema import Invoice, Organization


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    id: str
    name: str
    currency: str
    so_far: Decimal  # the current period's draft total so far, VAT included
    balance: Decimal  # the live credit balance (R10)


@dataclass(frozen=True, slots=True)
class Refusal:
    organization_id: str
    reason: str


@dataclass(frozen=True)
class BillingRun:
    period: str
    finalized: int
    drafts: int
    refused: list[Refusal]


def organization_rows(session: Session, seller: Seller, now: datetime) -> list[OrganizationRow]:
    rows = []
    for org in session.scalars(select(Organization).order_by(Organization.id)):
        result = current_estimate(session, seller, org.id, now)
        settlement = result.so_far.settlement
        takes = (
            settlement.promotional_applied
            + settlement.prepaid_applied
            + sum((u.expired for u in settlement.uses), Decimal(0))
        )
        # The same fold as `live_statement`, from the estimate already computed (R10).
        statement = credit_statement(session, org.id, now, takes)
        rows.append(
            OrganizationRow(
                org.id, org.name or "", org.currency, settlement.total, statement.live_balance
            )
        )
    return rows


def last_billing_run(session: Session, now: datetime) -> BillingRun | None:
    """The latest period with invoices, read back from them."""
    period = session.scalar(select(Invoice.period).order_by(Invoice.period.desc()).limit(1))
    if period is None:
        return None
    invoices = session.execute(
        select(Invoice, Organization.time_zone)
        .join(Organization, Organization.id == Invoice.organization_id)
        .where(Invoice.period == period)
        .order_by(Invoice.organization_id)
    ).all()
    counts = Counter(
        "draft" if invoice.status == "draft" else "finalized" for invoice, _ in invoices
    )
    refused = [
        Refusal(invoice.organization_id, _reason(invoice.document))
        for invoice, time_zone in invoices
        if invoice.status == "draft" and BillingPeriod.parse(period, time_zone).end <= now
    ]
    return BillingRun(period, counts["finalized"], counts["draft"], refused)


def _reason(document: bytes) -> str:
    unpriced = [a for a in orjson.loads(document).get("anomalies", []) if a["kind"] == "unpriced"]
    if unpriced:
        return (
            f"{len(unpriced)} piece(s) of usage have no price, first: {unpriced[0]['message']};"
            " add the prices to the catalog, then finalise again"
        )
    return "drafted but not finalised: run the billing again with --finalize"
