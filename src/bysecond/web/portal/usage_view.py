"""The usage page: runs and intervals grouped by application and add-on, with amounts.

Reads `services.usage` (pieces metered as an invoice meters them, R2-R4) and rates each
part under one price as the invoice does (R5-R7); a group's total is rounded once (R12).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.orm import Session

from bysecond.core.catalog import Catalog
from bysecond.core.money import currency, format_exact, round_half_up
from bysecond.core.period import zone
from bysecond.core.policy import Policy
from bysecond.core.policy import policy as named_policy
from bysecond.core.rating import rate_piece
from bysecond.services.customers import organization
from bysecond.services.usage import AnomalyReport, PieceUsage, UsageReport, usage_report
from bysecond.store.prices import load_catalog

# R4: what each anomaly means, for a customer rather than an engineer.
PLAIN_WORDS = {
    "duplicate_start": "An instance was reported started twice; the second start was ignored.",
    "stop_without_start": "An instance was reported stopped without having been started;"
    " nothing was billed for it.",
    "duplicate_provision": "An add-on was reported created twice; the second was ignored.",
    "unknown_addon": "A plan change was reported for an add-on we had never seen created.",
    "delete_without_addon": "An add-on was reported deleted without having been created;"
    " nothing was billed for it.",
    "unpriced": "Some usage has no price in the catalog yet: it is not billed until it has one,"
    " and the invoice waits for it.",
}


@dataclass(frozen=True, slots=True)
class Run:
    usage: PieceUsage
    amount: str  # exact, 12 places (R7); "" when unpriced


@dataclass(frozen=True)
class Group:
    resource_id: str
    kind: str  # "application" or "add-on"
    runs: list[Run]
    billed_seconds: int
    total: Decimal  # rounded once (R12)


@dataclass(frozen=True)
class UsagePage:
    report: UsageReport
    currency: str
    groups: list[Group]
    resources: list[str]  # every resource of the window, for the filter
    anomalies: list[tuple[AnomalyReport, str]]  # with their plain words


def usage_page(
    session: Session,
    organization_id: str,
    now: datetime,
    *,
    resource: str | None = None,
    day: date | None = None,
) -> UsagePage:
    """The current period so far, or one local day of it; optionally one resource."""
    org = organization(session, organization_id)
    start = end = None
    if day is not None:
        tz = zone(org.time_zone)
        start = datetime.combine(day, datetime.min.time(), tz)
        end = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), tz), now)
        end = max(end, start)
    report = usage_report(session, organization_id, now, start, end)
    catalog = load_catalog(session.connection())
    policy = named_policy(org.policy)
    cur = currency(org.currency)
    grouped: dict[tuple[str, str], list[PieceUsage]] = defaultdict(list)
    for used in report.pieces:
        kind = "add-on" if used.piece.price_key.startswith("addon.") else "application"
        grouped[(used.piece.owner_id, kind)].append(used)
    groups = []
    for (owner, kind), pieces in sorted(grouped.items()):
        if resource and owner != resource:
            continue
        runs, total = [], Fraction(0)
        for used in sorted(pieces, key=lambda u: (u.piece.start, u.piece.resource_id)):
            amount = _amount(used, catalog, org.currency, policy)
            total += amount or 0
            runs.append(Run(used, "" if amount is None else format_exact(amount)))
        billed = sum(u.billed_seconds for u in pieces)
        groups.append(Group(owner, kind, runs, billed, round_half_up(total, cur)))
    anomalies = [
        (a, PLAIN_WORDS.get(a.kind, "Something unexpected happened in the usage reported."))
        for a in report.anomalies
        if not resource or a.resource_id == resource
    ]
    resources = sorted({owner for owner, _ in grouped})
    return UsagePage(report, org.currency, groups, resources, anomalies)


def _amount(
    used: PieceUsage, catalog: Catalog, currency_code: str, policy: Policy
) -> Fraction | None:
    piece = used.piece
    total = Fraction(0)
    for segment in catalog.segments(piece.price_key, currency_code, piece.start, piece.end):
        if segment.price is None:
            return None  # R4: unpriced, reported as an anomaly
        total += rate_piece(piece, segment.price, segment.start, segment.end, policy).amount
    return total
