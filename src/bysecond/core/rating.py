"""Rating: pieces x catalog x policy -> exact amounts per detail (R5, R6, R7).

Nothing here rounds: every amount is an exact `Fraction` until the invoice rounds its
lines (R12). A piece crossing a price change is split, each side with its own price and
its own billed seconds (R5, R6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from .catalog import Catalog, Price
from .metering import Anomaly, Piece, QuantityCharge, TaskCharge, Usage
from .period import micros_between, rfc3339
from .policy import Policy


@dataclass(frozen=True, slots=True)
class RatedPiece:
    """One detail line of uptime: a piece, or the part of it under one price."""

    piece: Piece
    start: datetime
    end: datetime
    elapsed_micros: int
    billed_seconds: int
    price: Price
    amount: Fraction

    @property
    def accrual(self) -> tuple[datetime, datetime]:
        return (self.start, self.end)


@dataclass(frozen=True, slots=True)
class RatedTask:
    task: TaskCharge
    price: Price | None  # None when the task carries its own amount
    quantity: Decimal
    unit_price: Fraction
    amount: Fraction


@dataclass(frozen=True, slots=True)
class RatedQuantity:
    usage: QuantityCharge
    price: Price
    amount: Fraction


@dataclass(frozen=True)
class Rating:
    pieces: tuple[RatedPiece, ...]
    tasks: tuple[RatedTask, ...]
    quantities: tuple[RatedQuantity, ...]
    unpriced: tuple[Anomaly, ...]  # usage that has no price: the invoice cannot be final


def rate_piece(
    piece: Piece, price: Price, start: datetime, end: datetime, policy: Policy
) -> RatedPiece:
    elapsed = micros_between(start, end)
    billed = policy.billed_seconds(elapsed)
    # R7: billed_seconds * amount / unit_seconds, exact (one gcd, not a product's four).
    per_second = price.rate_per_second
    amount = Fraction(billed * per_second.numerator, per_second.denominator)
    return RatedPiece(piece, start, end, elapsed, billed, price, amount)


def rebill(rating: Rating, policy: Policy) -> Rating:
    """The same rated usage under another policy (R15): the same pieces, cut at the same
    price changes, each billed by `policy`. One-off charges do not depend on it."""
    pieces = tuple(rate_piece(r.piece, r.price, r.start, r.end, policy) for r in rating.pieces)
    return Rating(pieces, rating.tasks, rating.quantities, rating.unpriced)


def rate(usage: Usage, catalog: Catalog, currency: str, policy: Policy) -> Rating:
    pieces: list[RatedPiece] = []
    unpriced: list[Anomaly] = []
    for piece in usage.pieces:
        for segment in catalog.segments(piece.price_key, currency, piece.start, piece.end):
            if segment.price is None:
                unpriced.append(
                    Anomaly(
                        "unpriced",
                        "",
                        "",
                        piece.resource_id,
                        segment.start,
                        f"{piece.resource_id} used {piece.price_key} from {rfc3339(segment.start)} "
                        f"to {rfc3339(segment.end)}, which has no {currency} price",
                    )
                )
                continue
            pieces.append(rate_piece(piece, segment.price, segment.start, segment.end, policy))
    tasks: list[RatedTask] = []
    for task in usage.tasks:
        rated = _rate_task(task, catalog, currency)
        if rated is None:
            unpriced.append(
                Anomaly(
                    "unpriced",
                    task.source,
                    task.event_id,
                    task.task_id,
                    task.at,
                    f"task {task.task_id} uses {task.price_key}, which has no {currency} price "
                    f"at {rfc3339(task.at)}",
                )
            )
        else:
            tasks.append(rated)
    quantities: list[RatedQuantity] = []
    for quantity in usage.quantities:
        price = catalog.price_at(quantity.price_key, currency, quantity.at)
        if price is None:
            unpriced.append(
                Anomaly(
                    "unpriced",
                    quantity.source,
                    quantity.event_id,
                    quantity.resource_id,
                    quantity.at,
                    f"{quantity.meter} of {quantity.resource_id} has no {currency} price "
                    f"at {rfc3339(quantity.at)}",
                )
            )
            continue
        quantities.append(
            RatedQuantity(quantity, price, Fraction(quantity.quantity) * Fraction(price.amount))
        )
    return Rating(tuple(pieces), tuple(tasks), tuple(quantities), tuple(unpriced))


def _rate_task(task: TaskCharge, catalog: Catalog, currency: str) -> RatedTask | None:
    if task.amount is not None:
        return RatedTask(task, None, Decimal(1), Fraction(task.amount), Fraction(task.amount))
    assert task.price_key is not None and task.quantity is not None
    price = catalog.price_at(task.price_key, currency, task.at)
    if price is None:
        return None
    unit_price = Fraction(price.amount)
    return RatedTask(task, price, task.quantity, unit_price, Fraction(task.quantity) * unit_price)
