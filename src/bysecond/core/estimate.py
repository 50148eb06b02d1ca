"""Estimates and authorisations: the current period so far, projected to its end.

A projection needs no model of its own: running resources are billed up to the window's
end (R4), so billing the events known now over the whole period continues every running
instance and add-on at its current rate to the period's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .catalog import Catalog
from .credits import GrantBalance, Settlement
from .events import (
    AddonDeleted,
    AddonProvisioned,
    Event,
    InstanceStarted,
    InstanceStopped,
)
from .invoice import (
    Customer,
    Invoice,
    Seller,
    invoice_of_usage,
    project_settlement,
    settlement_of_usage,
)
from .metering import Opening, meter_cut
from .money import currency, format_decimal
from .period import BillingPeriod


@dataclass(frozen=True)
class Estimate:
    so_far: Invoice  # the draft invoice of the period up to `now`
    projected: Settlement  # its totals with running resources continued to the period's end


def estimate(
    customer: Customer,
    now: datetime,
    events: Sequence[Event],
    catalog: Catalog,
    grants: Sequence[GrantBalance],
    seller: Seller = Seller(),  # noqa: B008 - an immutable value
    *,
    opening: Opening | None = None,
) -> Estimate:
    """The period containing `now`, so far and projected. With an `opening` state at or
    before the period's start, `events` are those at or after its instant."""
    period = BillingPeriod.containing(now, customer.time_zone)
    known = [event for event in events if event.time <= now]
    # One replay of the events for both: the same as `build_invoice(..., until=now)` and
    # `project_settlement(...)`, which a property test holds it to.
    usage_so_far, usage_whole = meter_cut(
        known, period.start, period.clamp(now), period.end, opening=opening
    )
    so_far = invoice_of_usage(customer, period, usage_so_far, catalog, grants, seller=seller)
    projected = settlement_of_usage(customer, period, usage_whole, catalog, grants, seller=seller)
    return Estimate(so_far, projected)


@dataclass(frozen=True, slots=True)
class Request:
    """What the platform asks to create: an add-on plan or an instance of a flavor."""

    price_key: str  # addon.<provider>.<plan> or instance.<flavor>
    duration: timedelta | None = None  # None: until the end of the period


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    balance: Decimal  # credit left after the projected period, before the request
    projected_cost: Decimal  # what the request adds to the amount owed, VAT included
    reason: str


def authorize(
    customer: Customer,
    now: datetime,
    events: Sequence[Event],
    catalog: Catalog,
    grants: Sequence[GrantBalance],
    request: Request,
    *,
    postpaid: bool = False,
    opening: Opening | None = None,
) -> Authorization:
    """May this organisation create this resource now, paid by its credits?

    The request is billed as if it started now, next to everything already running, with
    every rule of a real invoice (policy, VAT, credit order and expiry): it is allowed
    when the credits still cover the whole projected period.
    """
    cur = currency(customer.currency)
    if catalog.price_at(request.price_key, cur.code, now) is None:
        return Authorization(False, Decimal(0), Decimal(0), f"{request.price_key} has no price")
    period = BillingPeriod.containing(now, customer.time_zone)
    known = [event for event in events if event.time <= now]
    before = project_settlement(customer, period, known, catalog, grants, opening=opening)
    # The request's own end, if it has one, lies in the future: it is added after the cut.
    with_request = [*known, *_requested(request, now, customer.id)]
    after = project_settlement(customer, period, with_request, catalog, grants, opening=opening)
    cost = after.total - before.total
    balance = sum((g.available for g in grants), Decimal(0)) - _credit_used(before)
    owed = after.amount_due
    if postpaid:
        return Authorization(True, balance, cost, "postpaid organisation: usage is invoiced")
    if owed <= 0:
        return Authorization(True, balance, cost, "credits cover the projected cost to period end")
    return Authorization(
        False,
        balance,
        cost,
        f"credits fall short by {format_decimal(owed, cur)} {cur.code} of the projected cost "
        "to period end",
    )


def _credit_used(s: Settlement) -> Decimal:
    expired = sum((use.expired for use in s.uses), Decimal(0))
    return s.promotional_applied + s.prepaid_applied + expired


def _requested(request: Request, now: datetime, organization_id: str) -> list[Event]:
    """The request as the events the platform would send for it."""
    kind, _, rest = request.price_key.partition(".")
    starts: Event
    ends: Event | None = None
    end = now + request.duration if request.duration else None
    if kind == "instance":
        rid = "authorization-request"
        starts = Event(
            "//bysecond/authorization",
            "start",
            "instance.started",
            now,
            organization_id,
            InstanceStarted(rid, "authorization-request", rest, "run"),
        )
        if end:
            ends = Event(
                "//bysecond/authorization",
                "stop",
                "instance.stopped",
                end,
                organization_id,
                InstanceStopped(rid),
            )
    elif kind == "addon":
        provider, _, plan = rest.partition(".")
        rid = "authorization-request"
        starts = Event(
            "//bysecond/authorization",
            "start",
            "addon.provisioned",
            now,
            organization_id,
            AddonProvisioned(rid, provider, plan),
        )
        if end:
            ends = Event(
                "//bysecond/authorization",
                "stop",
                "addon.deleted",
                end,
                organization_id,
                AddonDeleted(rid),
            )
    else:
        raise ValueError(f"only add-on plans and flavors are authorised, not {request.price_key}")
    return [starts] if ends is None else [starts, ends]
