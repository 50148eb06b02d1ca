"""What billing reads at a given instant: the stored catalog, the seller, the clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bysecond.core.invoice import Seller
from bysecond.store.prices import load_catalog

from .billing import BillingContext


def billing_context(session: Session, seller: Seller, at: datetime) -> BillingContext:
    """The catalog as stored now (R5: every version), for billing as of `at`."""
    return BillingContext(load_catalog(session.connection()), seller, at)
