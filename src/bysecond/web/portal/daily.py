"""Daily cost of an organisation's applications and add-ons in its current period.

Every piece of usage (R2-R4) is cut at the organisation's midnights (R1), each part under
one price (R5) rated as an invoice rates it (R6, R7), and the exact amounts added per day
and resource. Each day is rounded once, at the end (R12): the chart reads, it bills nothing.
A run cut at midnight has its billed seconds counted per part (R6): under a policy with
minimums or slices, or for a run with fractions of a second at both ends, the chart may
count a little more than the invoice line, which remains the figure billed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bysecond.core.metering import Piece, meter
from bysecond.core.money import currency, round_half_up
from bysecond.core.period import BillingPeriod, zone
from bysecond.core.policy import policy as named_policy
from bysecond.core.rating import rate_piece
from bysecond.services.customers import organization
from bysecond.store.events import events_for
from bysecond.store.prices import load_catalog


@dataclass(frozen=True, slots=True)
class DailySeries:
    """One application or add-on: its cost on each day of the period."""

    resource_id: str
    kind: str  # "instance" (an application's instances) or "addon"
    amounts: tuple[Decimal, ...]  # one per day, rounded to the minor unit


@dataclass(frozen=True)
class DailyCosts:
    period: str
    currency: str
    days: tuple[date, ...]
    series: tuple[DailySeries, ...]


def daily_costs(session: Session, organization_id: str, now: datetime) -> DailyCosts:
    """The current period from its start to `now`, day by day."""
    org = organization(session, organization_id)
    period = BillingPeriod.containing(now, org.time_zone)
    connection = session.connection()
    usage = meter(events_for(connection, organization_id, before=now), period.start, now)
    catalog = load_catalog(connection)
    policy = named_policy(org.policy)
    tz = zone(org.time_zone)
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    exact: dict[tuple[str, str], dict[date, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for piece in usage.pieces:
        for day, start, end in _by_day(piece, tz):
            for segment in catalog.segments(piece.price_key, org.currency, start, end):
                if segment.price is None:
                    continue  # unpriced usage is reported as an anomaly, never guessed (R4)
                rated = rate_piece(piece, segment.price, segment.start, segment.end, policy)
                exact[(_kind(piece), piece.owner_id)][day] += rated.amount
    cur = currency(org.currency)
    series = tuple(
        DailySeries(owner, kind, tuple(round_half_up(amounts[d], cur) for d in days))
        for (kind, owner), amounts in sorted(exact.items(), key=lambda item: item[0][1])
    )
    return DailyCosts(period.key, org.currency, days, series)


def _kind(piece: Piece) -> str:
    return "addon" if piece.price_key.startswith("addon.") else "instance"


def _by_day(piece: Piece, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The piece cut at each local midnight (R1), as (local day, start, end)."""
    parts: list[tuple[date, datetime, datetime]] = []
    start = piece.start
    while True:
        day = start.astimezone(tz).date()
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        end = min(piece.end, midnight.astimezone(piece.start.tzinfo))
        parts.append((day, start, end))
        if end >= piece.end:
            return parts
        start = end
