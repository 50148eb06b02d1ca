"""Credits usable for everything, VAT and the amount due (R10, R11, R12).

A grant pays any line. Promotional grants are a discount drawn before VAT, each one
paying the unpaid usage consumed before it expires, earliest first; prepaid grants are a
payment that settles the total after VAT. Because every promotional grant pays the
earliest unpaid usage, what has been paid is always a prefix of the period's usage in
time: one exact number, `paid`, tracks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from .money import Currency, MoneyError, exact_sum, is_on_minor_unit, round_half_up
from .period import require_aware

GrantKind = Literal["promotional", "prepaid"]
GRANT_KINDS: tuple[GrantKind, ...] = ("promotional", "prepaid")


@dataclass(frozen=True, slots=True)
class Grant:
    """`(id, kind, amount, currency, granted_at, expires_at?, priority=0)` (R10)."""

    id: str
    kind: GrantKind
    amount: Decimal
    currency: str
    granted_at: datetime
    expires_at: datetime | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        if self.kind not in GRANT_KINDS:
            raise MoneyError(f"grant kind must be promotional or prepaid, got {self.kind!r}")
        if self.amount <= 0:
            raise MoneyError("a grant's amount must be positive")
        require_aware(self.granted_at, "granted_at")
        if self.expires_at is not None:
            require_aware(self.expires_at, "expires_at")
            if self.kind == "prepaid":
                raise MoneyError("prepaid credit is bought by the customer and never expires")
            if self.expires_at <= self.granted_at:
                raise MoneyError("a grant must expire after it is granted")

    @property
    def draw_order(self) -> tuple[object, ...]:
        # R10: promotional by priority, expiry, grant time, id; prepaid without expiry.
        if self.kind == "promotional":
            far = (1, self.granted_at) if self.expires_at is None else (0, self.expires_at)
            return (self.priority, far, self.granted_at, self.id)
        return (self.priority, self.granted_at, self.id)


@dataclass(frozen=True, slots=True)
class GrantBalance:
    """What a grant still holds when an invoice is settled (after earlier invoices)."""

    grant: Grant
    available: Decimal


@dataclass(frozen=True, slots=True)
class Accrual:
    """Usage worth `amount`, consumed uniformly over `[start, end)` (at `start` if equal)."""

    start: datetime
    end: datetime
    amount: Fraction

    def before(self, instant: datetime) -> Fraction:
        """R10: the part of this usage consumed before `instant`."""
        if self.end <= instant and self.start < instant:
            return self.amount
        if self.start >= instant:
            return Fraction(0)
        share = Fraction((instant - self.start) // _MICRO, (self.end - self.start) // _MICRO)
        return self.amount * share


@dataclass(frozen=True, slots=True)
class VatTreatment:
    rate: Decimal
    reverse_charge: bool = False
    mention: str | None = None


@dataclass(frozen=True, slots=True)
class GrantUse:
    """One grant on one invoice: available_before = applied + expired + remaining."""

    grant: Grant
    available_before: Decimal
    applied: Decimal
    expired: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class Settlement:
    subtotal: Decimal
    promotional_applied: Decimal
    taxable: Decimal
    vat: VatTreatment
    vat_amount: Decimal
    total: Decimal
    prepaid_applied: Decimal
    amount_due: Decimal
    uses: tuple[GrantUse, ...]


def settle(
    subtotal: Decimal,
    accruals: Sequence[Accrual],
    balances: Sequence[GrantBalance],
    period_end: datetime,
    vat: VatTreatment,
    cur: Currency,
) -> Settlement:
    """R10-R12 for one invoice."""
    for balance in balances:
        if balance.grant.currency != cur.code:
            raise MoneyError(
                f"grant {balance.grant.id} is in {balance.grant.currency}, not {cur.code}"
            )
        if balance.available < 0 or not is_on_minor_unit(balance.available, cur):
            raise MoneyError(f"grant {balance.grant.id} holds an impossible {balance.available}")
    promotional = sorted(
        (b for b in balances if b.grant.kind == "promotional"), key=lambda b: b.grant.draw_order
    )
    prepaid = sorted(
        (b for b in balances if b.grant.kind == "prepaid"), key=lambda b: b.grant.draw_order
    )
    uses, promo_total = _draw_promotional(subtotal, accruals, promotional, period_end, cur)
    taxable = subtotal - promo_total
    vat_amount = round_half_up(Fraction(taxable) * Fraction(vat.rate), cur)  # R11, R12
    total = taxable + vat_amount
    left = max(total, Decimal(0))
    prepaid_total = Decimal(0)
    for balance in prepaid:
        # R12: a prepaid grant never pays more than what is left of the total.
        applied = min(balance.available, left)
        left -= applied
        prepaid_total += applied
        uses.append(
            GrantUse(
                balance.grant, balance.available, applied, Decimal(0), balance.available - applied
            )
        )
    uses.sort(key=lambda u: (u.grant.kind != "promotional", u.grant.draw_order))
    return Settlement(
        subtotal,
        promo_total,
        taxable,
        vat,
        vat_amount,
        total,
        prepaid_total,
        total - prepaid_total,
        tuple(uses),
    )


def _draw_promotional(
    subtotal: Decimal,
    accruals: Sequence[Accrual],
    balances: Sequence[GrantBalance],
    period_end: datetime,
    cur: Currency,
) -> tuple[list[GrantUse], Decimal]:
    cap = max(subtotal, Decimal(0))  # R12: never more than the subtotal
    # Only usage worth something is paid by credits (a numerator's sign is the amount's).
    charged = [a for a in accruals if a.amount.numerator > 0]
    usage_total = exact_sum(a.amount for a in charged)
    paid = Fraction(0)  # exact usage paid so far: always the earliest usage
    promo_total = Decimal(0)
    uses: list[GrantUse] = []
    for balance in balances:
        grant = balance.grant
        reach = (
            usage_total
            if grant.expires_at is None
            else exact_sum(a.before(grant.expires_at) for a in charged)
        )
        target = min(reach, paid + Fraction(balance.available))
        applied = Decimal(0)
        if target > paid:
            if target == usage_total:
                # This grant pays all the rest: it takes what is left of the rounded
                # subtotal, so a customer whose credit covers everything owes nothing.
                applied = cap - promo_total
            else:
                applied = round_half_up(target - paid, cur)  # R12
            applied = max(Decimal(0), min(applied, balance.available, cap - promo_total))
            paid = target
        promo_total += applied
        remaining = balance.available - applied
        expired = Decimal(0)
        if grant.expires_at is not None and grant.expires_at <= period_end:
            # R10: what a promotional grant still holds at its expiry is expired.
            expired, remaining = remaining, Decimal(0)
        uses.append(GrantUse(grant, balance.available, applied, expired, remaining))
    return uses, promo_total


_MICRO = timedelta(microseconds=1)
