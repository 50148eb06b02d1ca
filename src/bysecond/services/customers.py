"""Organisations as the core sees them: billing settings and credit balances."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from bysecond.core.credits import Grant, GrantBalance, GrantKind
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


@dataclass(frozen=True, slots=True)
class Account:
    """What billing needs of an organisation: its settings, and whether it is postpaid."""

    customer: Customer
    postpaid: bool


_ORGANIZATIONS = Organization.__table__.c
# What `customer` reads, as plain columns (an ORM object costs as much as the query).
ACCOUNT_COLUMNS = (
    _ORGANIZATIONS.id,
    _ORGANIZATIONS.name,
    _ORGANIZATIONS.address,
    _ORGANIZATIONS.country,
    _ORGANIZATIONS.vat_number,
    _ORGANIZATIONS.time_zone,
    _ORGANIZATIONS.policy,
    _ORGANIZATIONS.vat_rate,
    _ORGANIZATIONS.currency,
    _ORGANIZATIONS.locale,
    _ORGANIZATIONS.postpaid,
)
_ACCOUNT = select(*ACCOUNT_COLUMNS).where(_ORGANIZATIONS.id == bindparam("organization_id"))


def account(session: Session, organization_id: str) -> Account:
    """The organisation's `Account`, read as plain columns: estimates and authorisations
    read it on every request, where loading an ORM object costs as much as the query."""
    session.flush()  # as a query through the session would: pending changes first
    row = session.connection().execute(_ACCOUNT, {"organization_id": organization_id}).first()
    if row is None:
        raise UnknownOrganization(organization_id)
    return Account(customer(row), bool(row.postpaid))


def customer(row: Organization | Row[*tuple[Any, ...]]) -> Customer:
    """The core's settings of an organisation's row: the ORM object or `ACCOUNT_COLUMNS`."""
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


_GRANT_COLUMNS = CreditGrant.__table__.c
# What `grant_value` reads.
GRANT_COLUMNS = (
    _GRANT_COLUMNS.id,
    _GRANT_COLUMNS.kind,
    _GRANT_COLUMNS.amount,
    _GRANT_COLUMNS.currency,
    _GRANT_COLUMNS.granted_at,
    _GRANT_COLUMNS.expires_at,
    _GRANT_COLUMNS.priority,
)
_GRANTS = (
    select(*GRANT_COLUMNS)
    .where(_GRANT_COLUMNS.organization_id == bindparam("organization_id"))
    .where(_GRANT_COLUMNS.granted_at <= bindparam("granted_before"))
    .order_by(_GRANT_COLUMNS.id)
)
_LEDGER_COLUMNS = LedgerEntry.__table__.c
_LEDGER = select(_LEDGER_COLUMNS.grant_id, _LEDGER_COLUMNS.kind, _LEDGER_COLUMNS.amount).where(
    _LEDGER_COLUMNS.organization_id == bindparam("organization_id")
)


def grant_value(row: CreditGrant | Row[*tuple[Any, ...]]) -> Grant:
    """A grant's row, the ORM object or `GRANT_COLUMNS`, as the core's `Grant`."""
    kind: GrantKind = "promotional" if row.kind == "promotional" else "prepaid"
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
    # Plain columns, not ORM objects: estimates read the balances on every request.
    session.flush()  # as a query through the session would: pending changes first
    connection = session.connection()
    grants = connection.execute(
        _GRANTS, {"organization_id": organization_id, "granted_before": granted_before}
    ).all()
    spent: dict[str, Decimal] = defaultdict(Decimal)
    rows = connection.execute(_LEDGER, {"organization_id": organization_id})
    for grant_id, kind, amount in rows:
        if kind in ("applied", "expired"):
            spent[grant_id] += amount
    return [GrantBalance(grant_value(g), g.amount - spent[g.id]) for g in grants]
