"""Credits (R10): grants, the welcome credit, and each organisation's credit statement."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from bysecond.core.credits import Grant
from bysecond.core.money import MoneyError, currency, parse_amount
from bysecond.core.period import BillingPeriod
from bysecond.store.schema import CreditGrant, LedgerEntry
from bysecond.store.schema import Invoice as StoredInvoice

from .billing import BillingContext, draft_invoice
from .customers import grant_value, organization


class CreditError(ValueError):
    """A grant that cannot be given."""


@dataclass(frozen=True)
class WelcomeCredit:
    """What every new organisation receives (default: 20 EUR, free, for a year)."""

    amount: Decimal = Decimal("20.00")
    valid_for: timedelta = timedelta(days=365)


def grant_credit(
    session: Session,
    organization_id: str,
    amount: str | Decimal,
    kind: str,
    *,
    granted_at: datetime,
    expires_at: datetime | None = None,
    priority: int = 0,
    reason: str = "",
    grant_id: str | None = None,
) -> CreditGrant:
    """Record a grant and its `granted` ledger entry, in the caller's transaction."""
    org = organization(session, organization_id)
    cur = currency(org.currency)
    try:
        value = parse_amount(str(amount), cur)
        grant = Grant(
            grant_id or _new_grant_id(organization_id, granted_at, value, kind, reason),
            kind,  # type: ignore[arg-type]  # checked by Grant itself
            value,
            cur.code,
            granted_at,
            expires_at,
            priority,
        )
    except MoneyError as error:
        raise CreditError(str(error)) from None
    if session.get(CreditGrant, grant.id) is not None:
        raise CreditError(f"grant {grant.id} already exists")
    row = CreditGrant(
        id=grant.id,
        organization_id=organization_id,
        kind=grant.kind,
        amount=grant.amount,
        currency=grant.currency,
        granted_at=granted_at,
        expires_at=expires_at,
        priority=priority,
        reason=reason or None,
    )
    session.add(row)
    session.flush()
    session.add(
        LedgerEntry(
            grant_id=row.id,
            organization_id=organization_id,
            invoice_id=None,
            kind="granted",
            amount=grant.amount,
            at=granted_at,
        )
    )
    return row


def give_welcome_credits(
    connection: Connection, joined: Mapping[str, datetime], welcome: WelcomeCredit
) -> None:
    """The welcome credit of organisations new to the store, dated when each first used
    the platform, with its `granted` ledger entry (R10). Registered with the default
    profile, they are billed in EUR, the currency of the welcome credit."""
    if not joined:
        return
    grants = [
        {
            "id": f"welcome-{org}",
            "organization_id": org,
            "kind": "promotional",
            "amount": welcome.amount,
            "currency": "EUR",
            "granted_at": at,
            "expires_at": at + welcome.valid_for,
            "priority": 0,
            "reason": "welcome credit",
        }
        for org, at in sorted(joined.items())
    ]
    connection.execute(insert(CreditGrant), grants)
    connection.execute(
        insert(LedgerEntry),
        [
            {
                "grant_id": g["id"],
                "organization_id": g["organization_id"],
                "invoice_id": None,
                "kind": "granted",
                "amount": g["amount"],
                "at": g["granted_at"],
            }
            for g in grants
        ],
    )


def _new_grant_id(
    organization_id: str, at: datetime, amount: Decimal, kind: str, reason: str
) -> str:
    seed = f"{organization_id}|{at.isoformat()}|{amount}|{kind}|{reason}".encode()
    return "grant_" + hashlib.sha256(seed).hexdigest()[:20]


@dataclass(frozen=True)
class GrantLine:
    """One grant on a statement: what it paid, on which invoice, and what is left."""

    grant: Grant
    reason: str
    paid: list[tuple[str, str, Decimal]] = field(default_factory=list)  # number, period, amount
    expired: Decimal = Decimal(0)

    @property
    def applied(self) -> Decimal:
        return sum((amount for _, _, amount in self.paid), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return self.grant.amount - self.applied - self.expired


@dataclass(frozen=True)
class CreditStatement:
    organization_id: str
    currency: str
    grants: list[GrantLine]
    draft_period: str
    draft_takes: Decimal  # what the current period's draft would draw (and let expire)

    @property
    def remaining(self) -> Decimal:
        return sum((g.remaining for g in self.grants), Decimal(0))

    @property
    def live_balance(self) -> Decimal:
        """Remaining credit minus what the current draft would take (R10)."""
        return self.remaining - self.draft_takes


def live_statement(
    session: Session, context: BillingContext, organization_id: str
) -> CreditStatement:
    """The statement with the live balance: what the current period's draft so far
    would take from the remaining credit (R10)."""
    org = organization(session, organization_id)
    current = BillingPeriod.containing(context.as_of, org.time_zone)
    draft = draft_invoice(session, context, organization_id, current.key, until=context.as_of)
    s = draft.settlement
    takes = s.promotional_applied + s.prepaid_applied + sum((u.expired for u in s.uses), Decimal(0))
    return credit_statement(session, organization_id, context.as_of, takes)


def credit_statement(
    session: Session, organization_id: str, as_of: datetime, draft_takes: Decimal
) -> CreditStatement:
    """Every grant with its ledger folded: paid per invoice, expired, remaining."""
    org = organization(session, organization_id)
    rows = session.scalars(
        select(CreditGrant)
        .where(CreditGrant.organization_id == organization_id)
        .order_by(CreditGrant.granted_at, CreditGrant.id)
    ).all()
    lines = {row.id: GrantLine(grant_value(row), row.reason or "") for row in rows}
    expired: dict[str, Decimal] = {}
    entries = session.execute(
        select(
            LedgerEntry.grant_id,
            LedgerEntry.kind,
            LedgerEntry.amount,
            StoredInvoice.number,
            StoredInvoice.period,
        )
        .outerjoin(StoredInvoice, StoredInvoice.id == LedgerEntry.invoice_id)
        .where(LedgerEntry.organization_id == organization_id)
        .order_by(LedgerEntry.id)
    )
    for grant_id, kind, amount, number, period in entries:
        if kind == "applied":
            lines[grant_id].paid.append((number or "", period or "", amount))
        elif kind == "expired":
            expired[grant_id] = expired.get(grant_id, Decimal(0)) + amount
    grants = [
        GrantLine(line.grant, line.reason, line.paid, expired.get(gid, Decimal(0)))
        for gid, line in lines.items()
    ]
    period = BillingPeriod.containing(as_of, org.time_zone)
    return CreditStatement(organization_id, org.currency, grants, period.key, draft_takes)
