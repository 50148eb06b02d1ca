"""Invoice lines: one per application, add-on, custom task and metered quantity (R8).

Each line keeps every rated piece as a detail and rounds only its exact sum (R12).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .catalog import HOUR_SECONDS
from .credits import Accrual
from .metering import Usage
from .money import Currency, decimal_text, exact_sum, format_exact, round_half_up
from .period import rfc3339
from .rating import RatedPiece, Rating

KINDS = ("application", "addon", "task", "usage", "adjustment")
_KIND_ORDER = {kind: position for position, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Line:
    kind: str
    resource_id: str
    description: str
    billed_seconds: int
    exact: Fraction
    amount: Decimal  # R8/R12: the rounding of the exact sum of the details
    details: tuple[dict[str, Any], ...]
    accruals: tuple[Accrual, ...]
    corrects_period: str | None = None
    # The details already written as a canonical JSON array, by the batch billing path
    # (bysecond.batch), which rates uptime in columns; `details` is then empty.
    details_json: bytes | None = None

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (_KIND_ORDER[self.kind], self.corrects_period or "", self.resource_id)


def build_lines(rating: Rating, usage: Usage, cur: Currency, *, details: bool = True) -> list[Line]:
    """Group rated usage into lines, in a fixed order (R16); `details=False` leaves the
    details out of the lines."""
    groups: dict[tuple[str, str], list[RatedPiece]] = {}
    for rated in rating.pieces:
        kind = "application" if rated.piece.kind == "instance" else "addon"
        groups.setdefault((kind, rated.piece.owner_id), []).append(rated)
    lines = [
        _uptime_line(kind, owner, rated, usage, cur, details)
        for (kind, owner), rated in groups.items()
    ]
    tasks: dict[str, list[Any]] = {}
    for task in rating.tasks:
        tasks.setdefault(task.task.task_id, []).append(task)
    for task_id, rated_tasks in tasks.items():
        rated_tasks.sort(key=lambda t: (t.task.at, t.task.source, t.task.event_id))
        task_details = tuple(
            {
                "task_id": t.task.task_id,
                "event_id": t.task.event_id,
                "at": rfc3339(t.task.at),
                "price_key": t.price.key if t.price else None,
                "quantity": decimal_text(t.quantity),
                "unit_price": rate_text(t.unit_price, cur),
                "amount": format_exact(t.amount),
            }
            for t in rated_tasks
            if details
        )
        exact = exact_sum(t.amount for t in rated_tasks)
        accruals = tuple(Accrual(t.task.at, t.task.at, t.amount) for t in rated_tasks)
        lines.append(
            Line(
                "task",
                task_id,
                rated_tasks[0].task.description,
                0,
                exact,
                round_half_up(exact, cur),
                task_details,
                accruals,
            )
        )
    meters: dict[tuple[str, str], list[Any]] = {}
    for quantity in rating.quantities:
        meters.setdefault((quantity.usage.meter, quantity.usage.resource_id), []).append(quantity)
    for (meter, resource_id), rated_quantities in meters.items():
        rated_quantities.sort(key=lambda q: (q.usage.at, q.usage.source, q.usage.event_id))
        meter_details = tuple(
            {
                "meter": meter,
                "at": rfc3339(q.usage.at),
                "quantity": decimal_text(q.usage.quantity),
                "unit": q.price.unit,
                "unit_price": _unit_price_text(q.price.amount, cur),
                "amount": format_exact(q.amount),
            }
            for q in rated_quantities
            if details
        )
        exact = exact_sum(q.amount for q in rated_quantities)
        total_quantity = sum((q.usage.quantity for q in rated_quantities), Decimal(0))
        unit = rated_quantities[0].price.unit
        lines.append(
            Line(
                "usage",
                usage_line_id(resource_id, meter),
                f"{meter} of {resource_id}: {decimal_text(total_quantity)} {unit}",
                0,
                exact,
                round_half_up(exact, cur),
                meter_details,
                tuple(Accrual(q.usage.at, q.usage.at, q.amount) for q in rated_quantities),
            )
        )
    return sorted(lines, key=lambda line: line.sort_key)


def _uptime_line(
    kind: str, owner: str, rated: list[RatedPiece], usage: Usage, cur: Currency, details: bool
) -> Line:
    rated.sort(key=lambda r: (r.start, r.piece.resource_id, r.end, r.price.key))
    exact = exact_sum(r.amount for r in rated)
    billed = sum(r.billed_seconds for r in rated)
    if kind == "application":
        name = usage.application_names.get(owner, owner)
        instances = len({r.piece.resource_id for r in rated})
        builds = len({r.piece.resource_id for r in rated if r.piece.role == "build"})
        description = f"Application {name}: {instances} instance{'s' * (instances != 1)}"
        if builds:
            description += f", {builds} of them build{'s' * (builds != 1)}"
        written = tuple(_instance_detail(r, cur) for r in rated if details)
    else:
        name = usage.addon_names.get(owner, owner)
        plans = sorted({r.piece.price_key.split(".", 1)[1] for r in rated})
        description = f"Add-on {name} ({', '.join(plans)})"
        written = tuple(_addon_detail(r, cur) for r in rated if details)
    accruals = tuple(Accrual(r.start, r.end, r.amount) for r in rated)
    return Line(
        kind, owner, description, billed, exact, round_half_up(exact, cur), written, accruals
    )


def _timing(rated: RatedPiece, cur: Currency) -> dict[str, Any]:
    return {
        "price_key": rated.price.key,
        "start": rfc3339(rated.start),
        "end": rfc3339(rated.end),
        "elapsed_seconds": seconds_number(rated.elapsed_micros),
        "billed_seconds": rated.billed_seconds,
        "rate_per_hour": _rate_per_hour_text(rated.price.amount, rated.price.unit_seconds, cur),
        "amount": format_exact(rated.amount),
    }


def _instance_detail(rated: RatedPiece, cur: Currency) -> dict[str, Any]:
    piece = rated.piece
    return {
        "instance_id": piece.resource_id,
        "role": piece.role,
        "flavor": piece.variant,
        **_timing(rated, cur),
    }


def _addon_detail(rated: RatedPiece, cur: Currency) -> dict[str, Any]:
    _, provider, plan = rated.piece.price_key.split(".", 2)
    return {
        "addon_id": rated.piece.resource_id,
        "provider": provider,
        "plan": plan,
        **_timing(rated, cur),
    }


def usage_line_id(resource_id: str, meter: str) -> str:
    """A metered quantity's line is per resource and meter (R8)."""
    return f"{resource_id}/{meter}"


def seconds_number(micros: int) -> int | Decimal:
    """Elapsed time as a JSON number: whole seconds, or exact microsecond decimals."""
    if micros % 1_000_000 == 0:
        return micros // 1_000_000
    return Decimal(micros).scaleb(-6).normalize()


@functools.lru_cache(maxsize=1024)  # a catalog holds few prices; a line repeats them
def rate_text(value: Fraction, cur: Currency) -> str:
    """A unit price to 12 decimals, trailing zeros dropped down to the minor unit."""
    text = format_exact(value, 12)
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(cur.minor_unit, "0")
    return f"{whole}.{decimals}" if decimals else whole


@functools.lru_cache(maxsize=1024)
def _unit_price_text(amount: Decimal, cur: Currency) -> str:
    """A metered quantity's unit price as details write it, keyed by the price's
    decimal: every detail of a usage line repeats it."""
    return rate_text(Fraction(amount), cur)


@functools.lru_cache(maxsize=1024)
def _rate_per_hour_text(amount: Decimal, unit_seconds: int, cur: Currency) -> str:
    """A price's hourly rate as details write it; keyed by what it depends on, which
    hashes faster than the rate itself (a `Fraction`)."""
    return rate_text(Fraction(amount) * HOUR_SECONDS / unit_seconds, cur)


def line_totals(rating: Rating, cur: Currency) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """Billed seconds and rounded amount per line, without details: for comparisons (R15)."""
    amounts: dict[tuple[str, str], list[Fraction]] = {}
    billed: dict[tuple[str, str], int] = {}
    for rated in rating.pieces:
        key = ("application" if rated.piece.kind == "instance" else "addon", rated.piece.owner_id)
        amounts.setdefault(key, []).append(rated.amount)
        billed[key] = billed.get(key, 0) + rated.billed_seconds
    for task in rating.tasks:
        amounts.setdefault(("task", task.task.task_id), []).append(task.amount)
    for quantity in rating.quantities:
        key = ("usage", usage_line_id(quantity.usage.resource_id, quantity.usage.meter))
        amounts.setdefault(key, []).append(quantity.amount)
    return {
        key: (billed.get(key, 0), round_half_up(exact_sum(values), cur))
        for key, values in amounts.items()
    }


def subtotal(lines: Iterable[Line]) -> Decimal:
    """R9: the sum of the rounded line amounts."""
    return sum((line.amount for line in lines), Decimal(0))
