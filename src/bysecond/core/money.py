"""Exact money: the one module that owns numbers (R7, R12).

Exact amounts are `Fraction`s: a rate per second such as 0.008333 EUR / 3600 s has no
finite decimal form, and R7 forbids rounding before R12. Rounded amounts are `Decimal`s
quantized to the currency's minor unit. Floats are refused everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final

ZERO: Final = Fraction(0)

# ISO 4217 minor units of the currencies a platform is likely to bill in.
_MINOR_UNITS: Final[dict[str, int]] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
}


# The smallest amount of each minor unit (0.01 for 2): read for every amount written.
_QUANTA: Final[dict[int, Decimal]] = {
    places: Decimal(1).scaleb(-places) for places in set(_MINOR_UNITS.values())
}


class MoneyError(ValueError):
    """An amount or currency that cannot be billed."""


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    minor_unit: int

    @property
    def quantum(self) -> Decimal:
        known = _QUANTA.get(self.minor_unit)
        return Decimal(1).scaleb(-self.minor_unit) if known is None else known


def currency(code: str) -> Currency:
    try:
        return Currency(code, _MINOR_UNITS[code])
    except KeyError:
        raise MoneyError(f"unknown currency {code!r}") from None


def D(value: str | int | Decimal) -> Decimal:
    """A Decimal from text or an integer, never from a float."""
    if isinstance(value, float):
        raise TypeError("floats are not money")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"not a decimal number: {value!r}") from None
    if not result.is_finite():
        raise MoneyError(f"not a finite number: {value!r}")
    return result


def exact(value: str | int | Decimal | Fraction) -> Fraction:
    """The exact rational value of a decimal amount."""
    if isinstance(value, float):
        raise TypeError("floats are not money")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        value = D(value)
    return Fraction(value)


def exact_sum(values: Iterable[Fraction]) -> Fraction:
    """The exact sum of many amounts, with a handful of gcds instead of one per term.

    Rated amounts share few denominators (a price per second times whole seconds):
    numerators are added as integers per denominator, then over their common multiple.
    """
    numerators: dict[int, int] = {}
    for value in values:
        denominator = value.denominator
        numerators[denominator] = numerators.get(denominator, 0) + value.numerator
    if not numerators:
        return ZERO
    common = math.lcm(*numerators)
    return Fraction(sum(numerator * (common // d) for d, numerator in numerators.items()), common)


def round_half_up(amount: Fraction | Decimal, cur: Currency) -> Decimal:
    """R12: the only rounding in bysecond: half-up (away from zero) to the minor unit."""
    value = Fraction(amount) if isinstance(amount, Decimal) else amount
    # On the integers of the fraction: every invoice line, credit and VAT amount is
    # rounded here, and Fraction arithmetic costs a gcd per operation.
    numerator, denominator = value.numerator, value.denominator
    units, remainder = divmod(abs(numerator) * 10**cur.minor_unit, denominator)
    if remainder * 2 >= denominator:
        units += 1
    if numerator < 0:
        units = -units
    return Decimal(units).scaleb(-cur.minor_unit).quantize(cur.quantum)


def is_on_minor_unit(value: Decimal, cur: Currency) -> bool:
    return value == value.quantize(cur.quantum)


def parse_amount(text: str, cur: Currency, *, allow_negative: bool = False) -> Decimal:
    """An amount given by a person or a program: exact in the minor unit, else refused."""
    value = D(text)
    if not allow_negative and value < 0:
        raise MoneyError(f"amount must not be negative: {text}")
    if not is_on_minor_unit(value, cur):
        raise MoneyError(f"amount {text} has more than {cur.minor_unit} decimals for {cur.code}")
    return value.quantize(cur.quantum)


def format_decimal(value: Decimal, cur: Currency) -> str:
    """A rounded amount as the document writes it: "12.34"."""
    return str(value.quantize(cur.quantum))


def format_exact(value: Fraction, places: int = 12) -> str:
    """An exact amount shown to `places` decimals for reading (CONTRACT: details)."""
    scaled, remainder = divmod(abs(value.numerator) * 10**places, value.denominator)
    if remainder * 2 >= value.denominator:
        scaled += 1
    digits = str(scaled).rjust(places + 1, "0")
    sign = "-" if value < 0 and scaled else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent notation, trailing zeros kept as given."""
    return format(value, "f")
