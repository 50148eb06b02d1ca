"""The current period so far and projected to its end, and authorisations paid by credits.

Both read an organisation's stored events, grants and the catalog, then call the pure
core (`core.estimate`): a projection continues every running resource to the period's
end (R4), with every rule of a real invoice (R6-R12).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bysecond.core.catalog import Catalog
from bysecond.core.credits import GrantBalance
from bysecond.core.estimate import Authorization, Estimate, Request, authorize, estimate
from bysecond.core.events import NAME_PATTERN, Event
from bysecond.core.invoice import Seller
from bysecond.core.metering import Opening
from bysecond.core.period import MICROSECOND, BillingPeriod
from bysecond.store.prices import load_catalog

from .customers import Account, account, grant_balances
from .openings import opened_events

AUTHORIZABLE = ("instance.", "addon.")
# A request lasting longer than the period is billed to the period's end anyway.
MAX_DURATION_SECONDS = 366 * 86_400


class RequestError(ValueError):
    """An authorisation request that means nothing: the field at fault and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def current_estimate(
    session: Session, seller: Seller, organization_id: str, now: datetime
) -> Estimate:
    """The draft of the period containing `now` so far, and projected to its end."""
    found, opening, events, grants, catalog = _inputs(session, organization_id, now)
    return estimate(found.customer, now, events, catalog, grants, seller, opening=opening)


def authorization(
    session: Session, seller: Seller, organization_id: str, now: datetime, request: Request
) -> Authorization:
    """May this organisation create this resource now? A postpaid organisation always may."""
    found, opening, events, grants, catalog = _inputs(session, organization_id, now)
    return authorize(
        found.customer,
        now,
        events,
        catalog,
        grants,
        request,
        postpaid=found.postpaid,
        opening=opening,
    )


def _inputs(
    session: Session, organization_id: str, now: datetime
) -> tuple[Account, Opening | None, list[Event], list[GrantBalance], Catalog]:
    """What an estimate at `now` is computed from: the organisation, the state its
    earlier periods left (services/openings.py) and the events known by then since that
    state (all of them without one), its grants and the catalog."""
    found = account(session, organization_id)
    period = BillingPeriod.containing(now, found.customer.time_zone)
    connection = session.connection()
    counted, events = opened_events(
        connection, organization_id, period.start, _known_by(now, period)
    )
    opening = counted.opening if counted else None
    grants = grant_balances(session, organization_id, now)
    return found, opening, events, grants, load_catalog(connection)


def _known_by(now: datetime, period: BillingPeriod) -> datetime:
    """The end of the events an estimate at `now` reads: those at or before `now` (an
    event stamped later, within ingestion's tolerance for clocks, is not known yet)."""
    return min(period.end, now + MICROSECOND)


def requested(
    *,
    price_key: str | None = None,
    flavor: str | None = None,
    addon: tuple[str, str] | None = None,
    duration_seconds: int | None = None,
) -> Request:
    """The request for an add-on plan (provider, plan), a flavor, or a price key (R5 keys)."""
    given = [
        name
        for name, value in (("price_key", price_key), ("flavor", flavor), ("addon", addon))
        if value is not None
    ]
    if len(given) != 1:
        raise RequestError(
            "body", "give exactly one of addon (provider and plan), flavor or price_key"
        )
    if flavor is not None:
        key = f"instance.{_name('flavor', flavor)}"
    elif addon is not None:
        provider, plan = addon
        key = f"addon.{_name('addon.provider', provider)}.{_name('addon.plan', plan)}"
    else:
        assert price_key is not None
        if not price_key.startswith(AUTHORIZABLE):
            raise RequestError(
                "price_key",
                "only add-on plans (addon.<provider>.<plan>) and flavors"
                " (instance.<flavor>) are authorised",
            )
        key = price_key
    if duration_seconds is not None and not 1 <= duration_seconds <= MAX_DURATION_SECONDS:
        raise RequestError("duration_seconds", f"must be from 1 to {MAX_DURATION_SECONDS}")
    duration = None if duration_seconds is None else timedelta(seconds=duration_seconds)
    return Request(key, duration)


def _name(field: str, value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise RequestError(field, f"{value!r} is not a valid name")
    return value
