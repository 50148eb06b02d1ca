"""An organisation's credit account: the statement with the live balance, and its ledger.

The balance is never stored: it is a fold over the append-only ledger (invariant 4),
minus what the current period's draft so far would take (R10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bysecond.core.invoice import Seller
from bysecond.core.money import MoneyError, currency, parse_amount
from bysecond.store.schema import CreditGrant, LedgerEntry
from bysecond.store.schema import Invoice as StoredInvoice

from .contexts import billing_context
from .credits import CreditError, CreditStatement, grant_credit, live_statement
from .customers import organization


class GrantError(ValueError):
    """A grant that cannot be given: the field at fault and why."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.conflict = conflict  # the grant id is taken


@dataclass(frozen=True, slots=True)
class LedgerLine:
    id: int
    grant_id: str
    kind: str  # granted, applied, expired, returned
    amount: Decimal
    at: datetime
    invoice_id: str | None
    invoice_number: str | None


@dataclass(frozen=True)
class CreditAccount:
    statement: CreditStatement
    ledger: list[LedgerLine]


def credit_account(
    session: Session, seller: Seller, organization_id: str, now: datetime
) -> CreditAccount:
    statement = live_statement(session, billing_context(session, seller, now), organization_id)
    return CreditAccount(statement, ledger(session, organization_id))


def ledger(session: Session, organization_id: str) -> list[LedgerLine]:
    """Every movement of the organisation's grants, in the order written."""
    rows = session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.grant_id,
            LedgerEntry.kind,
            LedgerEntry.amount,
            LedgerEntry.at,
            LedgerEntry.invoice_id,
            StoredInvoice.number,
        )
        .outerjoin(StoredInvoice, StoredInvoice.id == LedgerEntry.invoice_id)
        .where(LedgerEntry.organization_id == organization_id)
        .order_by(LedgerEntry.id)
    )
    return [LedgerLine(*row) for row in rows]


def give_grant(
    session: Session,
    organization_id: str,
    *,
    amount: str,
    kind: str,
    now: datetime,
    expires_at: datetime | None = None,
    priority: int = 0,
    reason: str = "",
    grant_id: str | None = None,
) -> CreditGrant:
    """A grant given now, in the caller's transaction, each refusal naming its field."""
    cur = currency(organization(session, organization_id).currency)
    try:
        value = parse_amount(amount, cur)
    except MoneyError as error:
        raise GrantError("amount", str(error)) from None
    if value <= 0:
        raise GrantError("amount", "must be positive")
    if kind == "prepaid" and expires_at is not None:
        raise GrantError("expires_at", "prepaid credit is bought and never expires (R10)")
    if expires_at is not None and expires_at <= now:
        raise GrantError("expires_at", "must be after the grant, which is given now")
    if grant_id is not None and session.get(CreditGrant, grant_id) is not None:
        raise GrantError("grant_id", f"grant {grant_id} already exists", conflict=True)
    try:
        return grant_credit(
            session,
            organization_id,
            value,
            kind,
            granted_at=now,
            expires_at=expires_at,
            priority=priority,
            reason=reason,
            grant_id=grant_id,
        )
    except CreditError as error:
        raise GrantError("body", str(error)) from None
