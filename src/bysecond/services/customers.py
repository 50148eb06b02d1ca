"""Organisations as the core sees them: billing settings and credit balances."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bysecond.core.credits import Grant, GrantBalance
from bysecond.core.invoice import Customer
from bysecond.store.schema import CreditGrant, LedgerEntry, Organization


class UnknownOrganization(LookupError):
    def __init__(self, organization_id: str) -> None:
        super().__init__(f"unknown organisation {organization_id!r}")
        self.organization_id = organization_id


def organization(session: Session, organization_id: str) -> Organization:
    row = session.get(Organization, organization_id)
    if row is None:
        raise UnknownOrganization(organization_id)
    return row


def customer(row: Organization) -> Customer:
    return Customer(
        id=row.id,
        name=row.name or "",
        address=row.address or "",
        country=row.country or "",
        vat_number=row.vat_number or "",
        time_zone=row.time_zone,
        policy=row.policy,
        vat_rate=row.vat_rate,
        currency=row.currency,
        locale=row.locale,
    )


def grant_value(row: CreditGrant) -> Grant:
    kind = "promotional" if row.kind == "promotional" else "prepaid"
    return Grant(
        row.id, kind, row.amount, row.currency, row.granted_at, row.expires_at, row.priority
    )


def grant_balances(
    session: Session, organization_id: str, granted_before: datetime
) -> list[GrantBalance]:
    """Each grant given before `granted_before` with what it still holds (R10).

    A balance is a fold over the append-only ledger, never a stored number: what was
    granted minus what finalised invoices applied and let expire (invariant 4).
    """
    grants = session.scalars(
        select(CreditGrant)
        .where(CreditGrant.organization_id == organization_id)
        .where(CreditGrant.granted_at <= granted_before)
        .order_by(CreditGrant.id)
    ).all()
    spent: dict[str, Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(LedgerEntry.grant_id, LedgerEntry.kind, LedgerEntry.amount).where(
            LedgerEntry.organization_id == organization_id
        )
    )
    for grant_id, kind, amount in rows:
        if kind in ("applied", "expired"):
            spent[grant_id] += amount
    return [GrantBalance(grant_value(g), g.amount - spent[g.id]) for g in grants]
