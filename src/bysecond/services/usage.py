"""An organisation's usage in a window: its pieces with their seconds, and its anomalies.

The pieces are metered exactly as an invoice meters them (R2-R4): runs and intervals
clipped to the window, a run still open at its end billed up to it. Billed seconds follow
the organisation's policy (R6) on each part of a piece under one price (R5), so they
add up to what an invoice of the same window bills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from bysecond.core.catalog import Catalog
from bysecond.core.metering import Piece, QuantityCharge, TaskCharge, meter
from bysecond.core.period import BillingPeriod, micros_between, require_aware
from bysecond.core.policy import Policy
from bysecond.core.policy import policy as named_policy
from bysecond.store.anomalies import anomalies_for
from bysecond.store.prices import load_catalog

from .customers import organization
from .openings import opened_events

MICROS_PER_SECOND = 1_000_000


class WindowError(ValueError):
    """A window that cannot be read: the parameter at fault and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PieceUsage:
    piece: Piece
    elapsed_micros: int
    billed_seconds: int  # R6 per part under one price (R5)

    @property
    def elapsed_seconds(self) -> Decimal:
        return Decimal(self.elapsed_micros).scaleb(-6).normalize()


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    kind: str
    source: str
    event_id: str
    resource_id: str
    time: datetime
    message: str


@dataclass(frozen=True)
class UsageReport:
    organization_id: str
    start: datetime
    end: datetime
    policy: str
    pieces: list[PieceUsage]
    tasks: list[TaskCharge]
    quantities: list[QuantityCharge]
    anomalies: list[AnomalyReport]


def usage_report(
    session: Session,
    organization_id: str,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> UsageReport:
    """Usage with `start <= time < end`; by default the current period so far (R1)."""
    org = organization(session, organization_id)
    current = BillingPeriod.containing(now, org.time_zone)
    start = _instant(start, "from") if start is not None else current.start
    end = _instant(end, "to") if end is not None else max(now, start)
    if end < start:
        raise WindowError("to", "must not be before from")
    connection = session.connection()
    # Events before the window still count: they open runs reaching into it (R4). The
    # state they left, where one is stored and holds, stands for them (openings.py).
    counted, events = opened_events(connection, organization_id, start, end)
    opening = counted.opening if counted else None
    usage = meter(events, start, end, opening=opening)
    policy = named_policy(org.policy)
    catalog = load_catalog(connection)
    pieces = [_piece_usage(p, catalog, org.currency, policy) for p in usage.pieces]
    stored = anomalies_for(connection, organization_id, start, end)
    anomalies = [
        AnomalyReport(a.kind, a.source, a.event_id, a.resource_id, a.time, a.message)
        for a in usage.anomalies
    ] + [
        AnomalyReport(a.kind, a.source, a.event_id, a.resource_id, a.time, a.message)
        for a in stored  # R4/R5: usage without a price, recorded at ingestion
    ]
    anomalies.sort(key=lambda a: (a.time, a.source, a.event_id, a.kind))
    return UsageReport(
        organization_id,
        start,
        end,
        policy.name,
        pieces,
        list(usage.tasks),
        list(usage.quantities),
        anomalies,
    )


def _piece_usage(piece: Piece, catalog: Catalog, currency: str, policy: Policy) -> PieceUsage:
    segments = catalog.segments(piece.price_key, currency, piece.start, piece.end)
    billed = sum(policy.billed_seconds(micros_between(s.start, s.end)) for s in segments)
    return PieceUsage(piece, micros_between(piece.start, piece.end), billed)


def _instant(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise WindowError(field, "must carry a time zone offset (R1)")
    return require_aware(value, field)
