"""Instance prices as integer columns: every rate per second over one common denominator.

R7 wants exact amounts. A rate per second is `amount / unit_seconds`, a rational; over the
least common denominator D of every rate, each rate is an integer numerator, so a piece's
exact amount is `billed_seconds * numerator / D` and a line's exact sum is a sum of
integers, which DuckDB adds in 128-bit integers without any rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from bysecond.core.catalog import Catalog
from bysecond.core.lines import rate_text
from bysecond.core.money import currency
from bysecond.core.period import MICROSECOND

# The end of "no end" for a price in force: later than any instant billed.
FOREVER_MICROS = 253_402_300_799_000_000  # 9999-12-31T23:59:59Z
# The largest amount (in currency units) a line may reach and still be shown to 12
# decimals inside 128-bit integers: far beyond any invoice line.
_HUGEINT_MAX = 2**127 - 1
_LARGEST_LINE = 10**12


@dataclass(frozen=True)
class PriceColumns:
    """One row per instance price version: what the uptime query joins pieces with."""

    denominator: int  # D: every rate per second is numerator / D
    rows: list[tuple[str, str, int, int, int, str]]  # key, currency, from, to, numerator, rate

    @property
    def fits(self) -> bool:
        """Whether every line amount, times 10^12 for its 12 shown decimals, fits in 128 bits."""
        return self.denominator * _LARGEST_LINE * 10**12 * 2 < _HUGEINT_MAX


def instance_prices(catalog: Catalog) -> PriceColumns:
    versions = [p for p in catalog if p.key.startswith("instance.")]
    denominator = math.lcm(1, *(p.rate_per_second.denominator for p in versions))
    rows = []
    for price in versions:
        rate: Fraction = price.rate_per_second
        numerator = rate.numerator * (denominator // rate.denominator)
        end = price.effective_to
        rows.append(
            (
                price.key,
                price.currency,
                _micros(price.effective_from),
                FOREVER_MICROS if end is None else _micros(end),
                numerator,
                rate_text(price.rate_per_hour, currency(price.currency)),
            )
        )
    return PriceColumns(denominator, rows)


def _micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
