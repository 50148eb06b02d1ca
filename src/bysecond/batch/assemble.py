"""One organisation's invoice from its uptime lines (rated in columns) and the rest of
its usage (metered and rated by the core), settled by the core (R8-R12, R15)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from bysecond.core.catalog import Catalog
from bysecond.core.credits import Accrual, GrantBalance
from bysecond.core.events import Event
from bysecond.core.invoice import Comparison, Customer, Invoice, Seller, assemble_invoice
from bysecond.core.lines import Line, build_lines, line_totals
from bysecond.core.metering import Opening, Usage, meter_closing
from bysecond.core.money import currency, round_half_up
from bysecond.core.period import BillingPeriod
from bysecond.core.policy import FORMER_POLICY, Policy
from bysecond.core.rating import rate, rebill

from .uptime import ApplicationUptime


@dataclass(frozen=True)
class OrganizationInput:
    customer: Customer
    period: BillingPeriod
    policy: Policy
    balances: Sequence[GrantBalance]


def invoice_from_columns(
    given: OrganizationInput,
    uptime: Sequence[ApplicationUptime],
    usage: Usage,
    denominator: int,
    catalog: Catalog,
    seller: Seller,
) -> Invoice:
    """The same invoice `core.invoice.build_invoice` gives for these events.

    Instances and add-ons never share state in the core's replay, so the events other
    than instance starts and stops are metered alone with the same result: `usage` is
    theirs, metered over the period by the caller (`other_usage`). Uptime
    lines accrue over the whole period: the batch path takes only organisations whose
    promotional credit does not expire inside it, and for them R10's "usage consumed
    before the expiry" is all of it.
    """
    period, cur = given.period, currency(given.customer.currency)
    rating = rate(usage, catalog, cur.code, given.policy)
    compared = line_totals(rebill(rating, FORMER_POLICY), cur)
    lines = build_lines(rating, usage, cur)
    for app in uptime:
        exact = Fraction(app.exact, denominator)
        lines.append(
            Line(
                "application",
                app.application_id,
                _description(app),
                app.billed_seconds,
                exact,
                round_half_up(exact, cur),
                (),
                (Accrual(period.start, period.end, exact),),
                details_json=app.details_json,
            )
        )
        compared[("application", app.application_id)] = (
            app.former_billed_seconds,
            round_half_up(Fraction(app.former_exact, denominator), cur),
        )
    return assemble_invoice(
        given.customer,
        period,
        given.policy,
        lines,
        given.balances,
        seller=seller,
        adjustments=(),
        comparison=Comparison(FORMER_POLICY, compared),
        anomalies=(*usage.anomalies, *rating.unpriced),
        usage=usage,
    )


def _description(app: ApplicationUptime) -> str:
    """As `core.lines` describes an application line."""
    name = app.application_name or app.application_id
    text = f"Application {name}: {app.instances} instance{'s' * (app.instances != 1)}"
    if app.builds:
        text += f", {app.builds} of them build{'s' * (app.builds != 1)}"
    return text


def other_usage(
    given: OrganizationInput, other_events: Sequence[Event], opening: Opening | None
) -> tuple[Usage, Opening]:
    """The usage of the events other than instance starts and stops over the period, and
    the add-ons' part of the state they leave at its end, in one replay. `opening`: the
    add-ons' part of the opening state (core.metering.Opening.without_runs) when
    `other_events` are the period's own only."""
    return meter_closing(other_events, given.period.start, given.period.end, opening=opening)
