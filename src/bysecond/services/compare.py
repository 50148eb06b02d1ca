"""R15 for the whole platform: what each organisation's period costs under another policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from bysecond.core.invoice import build_invoice
from bysecond.core.period import BillingPeriod
from bysecond.core.policy import Policy
from bysecond.services.billing import BillingContext
from bysecond.services.customers import customer, grant_balances
from bysecond.store.database import Database
from bysecond.store.events import events_for
from bysecond.store.schema import Organization


@dataclass(frozen=True)
class OrganizationComparison:
    organization_id: str
    policy: str
    subtotal: Decimal
    other_subtotal: Decimal

    @property
    def change(self) -> Decimal:
        """What the organisation's own policy saves (negative) or costs against the other."""
        return self.subtotal - self.other_subtotal

    @property
    def change_percent(self) -> Decimal | None:
        if not self.other_subtotal:
            return None
        return (self.change * 100 / self.other_subtotal).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PlatformComparison:
    period: str
    other_policy: str
    organizations: list[OrganizationComparison]

    @property
    def subtotal(self) -> Decimal:
        return sum((o.subtotal for o in self.organizations), Decimal(0))

    @property
    def other_subtotal(self) -> Decimal:
        return sum((o.other_subtotal for o in self.organizations), Decimal(0))

    def saving_quantile(self, percent: int) -> Decimal:
        """The saving (other subtotal minus own) that `percent` % of organisations do not
        exceed, by nearest rank: exact, no interpolation."""
        savings = sorted(-o.change for o in self.organizations)
        if not savings:
            return Decimal(0)
        rank = max(1, -(-len(savings) * percent // 100))
        return savings[rank - 1]

    @property
    def largest_saving(self) -> OrganizationComparison | None:
        return min(self.organizations, key=lambda o: (o.change, o.organization_id), default=None)


def compare_period(
    database: Database,
    context: BillingContext,
    period_key: str,
    other: Policy,
    progress: Callable[[str], None] | None = None,
) -> PlatformComparison:
    """Rate every organisation's period under its policy and under `other` (R15)."""
    BillingPeriod.parse(period_key)
    results = []
    with database.unit_of_work(read_only=True) as uow:
        session = uow.session
        for row in session.scalars(select(Organization).order_by(Organization.id)):
            settings = customer(row)
            period = BillingPeriod.parse(period_key, settings.time_zone)
            events = events_for(session.connection(), row.id, before=period.end)
            balances = grant_balances(session, row.id, context.as_of)
            invoice = build_invoice(
                settings,
                period,
                events,
                context.catalog,
                balances,
                seller=context.seller,
                compare_with=other,
            )
            if invoice.lines:
                results.append(
                    OrganizationComparison(
                        row.id,
                        invoice.policy.name,
                        invoice.settlement.subtotal,
                        invoice.comparison.subtotal,
                    )
                )
            if progress:
                progress(row.id)
    return PlatformComparison(period_key, other.name, results)
