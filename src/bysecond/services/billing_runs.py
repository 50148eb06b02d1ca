"""A billing run asked for over the API: every (or some) organisation's invoice for a period.

The same run as `bysecond bill`: drafts, or with `finalize` issued invoices (R13), which
only a period that is over can have. Running it again issues nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from bysecond.core.invoice import Seller
from bysecond.core.period import BillingPeriod
from bysecond.store.database import Database
from bysecond.store.schema import Organization

from .billing import BillingReport, bill_period
from .contexts import billing_context
from .customers import UnknownOrganization


class PeriodNotOver(ValueError):
    """Invoices of a period are issued after it ends (R13)."""


def run_billing(
    database: Database,
    seller: Seller,
    period_key: str,
    now: datetime,
    *,
    finalize: bool,
    organizations: Sequence[str] | None = None,
) -> BillingReport:
    """Raises `PeriodError` for a malformed period, `PeriodNotOver`, `UnknownOrganization`."""
    period = BillingPeriod.parse(period_key)
    # As `bysecond bill` does, the period's end is taken in UTC.
    if finalize and now < period.end:
        raise PeriodNotOver(f"{period.key} is not over yet: invoices are issued after it ends")
    with database.unit_of_work(read_only=True) as uow:
        known = set(uow.session.scalars(select(Organization.id)))
        context = billing_context(uow.session, seller, now)
    for organization_id in organizations or ():
        if organization_id not in known:
            raise UnknownOrganization(organization_id)
    chosen = sorted(set(organizations)) if organizations else sorted(known)
    # One process: an HTTP request does not start worker processes of its own.
    return bill_period(
        database, context, period.key, issue=finalize, organizations=chosen, workers=1
    )
