"""The price catalog: versioned prices (R5) and the platform's default prices of 2021."""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from .money import D, MoneyError, currency

HOUR_SECONDS = 3600
MONTH_SECONDS = 720 * HOUR_SECONDS  # R5: a month is 720 hours
TIME_UNITS = {"second": 1, "hour": HOUR_SECONDS, "month": MONTH_SECONDS}
_KEY = re.compile(r"^(instance|addon|task|usage)\.[A-Za-z0-9_.-]+$")


class CatalogError(ValueError):
    """A price that cannot be put in the catalog."""


@dataclass(frozen=True, slots=True)
class Price:
    """`(key, amount, currency, unit, effective_from[, effective_to])` (R5)."""

    key: str
    amount: Decimal
    currency: str
    unit: str
    effective_from: datetime
    effective_to: datetime | None = None

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise CatalogError(
                f"price key {self.key!r} must be instance.<flavor>, addon.<provider>.<plan>, "
                "task.<name> or usage.<meter>"
            )
        if self.amount < 0:
            raise CatalogError(f"price {self.key} is negative")
        try:
            currency(self.currency)
        except MoneyError as error:
            raise CatalogError(str(error)) from None
        if self.is_time_based and self.unit not in TIME_UNITS:
            raise CatalogError(f"{self.key} is billed by time: its unit must be hour or month")
        if self.effective_from.tzinfo is None:
            raise CatalogError(f"{self.key}: effective_from has no time zone")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise CatalogError(f"{self.key}: effective_to must follow effective_from")

    @property
    def is_time_based(self) -> bool:
        return self.key.startswith(("instance.", "addon."))

    @property
    def unit_seconds(self) -> int:
        return TIME_UNITS[self.unit]

    @property
    def rate_per_second(self) -> Fraction:
        """R5: amount / unit_seconds, kept exact."""
        return _rate_per_second(self.amount, self.unit_seconds)

    @property
    def rate_per_hour(self) -> Fraction:
        return self.rate_per_second * HOUR_SECONDS


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time priced by one price (or by none: unpriced)."""

    start: datetime
    end: datetime
    price: Price | None


@dataclass(frozen=True)
class Catalog:
    """All prices with their history; looked up by key, currency and instant."""

    prices: tuple[Price, ...] = ()
    _index: dict[tuple[str, str], list[Price]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _starts: dict[tuple[str, str], list[datetime]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[Price]] = {}
        for price in sorted(self.prices, key=lambda p: (p.key, p.currency, p.effective_from)):
            versions = index.setdefault((price.key, price.currency), [])
            if versions:
                before = versions[-1]
                if before.effective_to is None:
                    # R5: a new version ends the previous one when it takes effect.
                    versions[-1] = _ending(before, price.effective_from)
                elif before.effective_to > price.effective_from:
                    raise CatalogError(f"{price.key}: two prices overlap at {price.effective_from}")
            versions.append(price)
        object.__setattr__(self, "_index", index)
        starts = {k: [p.effective_from for p in v] for k, v in index.items()}
        object.__setattr__(self, "_starts", starts)

    def __iter__(self) -> Iterator[Price]:
        for versions in self._index.values():
            yield from versions

    def with_prices(self, prices: Iterable[Price]) -> Catalog:
        return Catalog((*self.prices, *prices))

    def price_at(self, key: str, currency_code: str, instant: datetime) -> Price | None:
        versions = self._index.get((key, currency_code), [])
        pos = bisect.bisect_right(self._starts.get((key, currency_code), []), instant) - 1
        if pos < 0:
            return None
        price = versions[pos]
        if price.effective_to is not None and instant >= price.effective_to:
            return None
        return price

    def segments(
        self, key: str, currency_code: str, start: datetime, end: datetime
    ) -> list[Segment]:
        """R5: `[start, end)` split wherever the price of `key` changes.

        A window of no duration is one segment: a run that stopped as it started is still
        shown, billed 0 s (R6).
        """
        at_start = self.price_at(key, currency_code, start)
        if start == end:
            return [Segment(start, end, at_start)]
        if at_start is not None and (at_start.effective_to is None or at_start.effective_to >= end):
            # The common case: one price covers the whole window. Versions never overlap,
            # so no other version can start or end inside it.
            return [Segment(start, end, at_start)]
        cuts = {start, end}
        for price in self._index.get((key, currency_code), []):
            for instant in (price.effective_from, price.effective_to):
                if instant is not None and start < instant < end:
                    cuts.add(instant)
        bounds = sorted(cuts)
        return [
            Segment(a, b, self.price_at(key, currency_code, a))
            for a, b in itertools.pairwise(bounds)
        ]

    def in_force(self, instant: datetime) -> list[Price]:
        found = []
        for key, code in sorted(self._index):
            price = self.price_at(key, code, instant)
            if price is not None:
                found.append(price)
        return found


@functools.lru_cache(maxsize=4096)
def _rate_per_second(amount: Decimal, unit_seconds: int) -> Fraction:
    return Fraction(amount) / unit_seconds


def _ending(price: Price, end: datetime) -> Price:
    return Price(price.key, price.amount, price.currency, price.unit, price.effective_from, end)


PRICE_SYSTEM_2021 = datetime(2021, 4, 1, tzinfo=UTC)

# Hourly flavor prices of the April 2021 price system, in EUR.
FLAVORS_2021 = {
    "pico": "0.00625",
    "nano": "0.008333",
    "XS": "0.02",
    "S": "0.04",
    "M": "0.10",
    "L": "0.20",
    "XL": "0.40",
    "2XL": "0.80",
    "3XL": "1.60",
}
# Monthly add-on plan prices of 2021, in EUR (billed by the second as monthly / 720 h).
ADDON_PLANS_2021 = {
    "postgresql": {"s": "10", "m": "30", "l": "240", "xs_tny": "13", "xs_sml": "17.5"},
    "mysql": {"s": "15", "m": "45", "l": "300"},
    "redis": {"s": "8.67", "m": "13.34", "l": "43.38"},
}


def default_catalog() -> Catalog:
    """The platform's published 2021 prices: flavors per hour, add-on plans per month."""
    prices = [
        Price(f"instance.{flavor}", D(amount), "EUR", "hour", PRICE_SYSTEM_2021)
        for flavor, amount in FLAVORS_2021.items()
    ]
    prices += [
        Price(f"addon.{provider}.{plan}", D(amount), "EUR", "month", PRICE_SYSTEM_2021)
        for provider, plans in ADDON_PLANS_2021.items()
        for plan, amount in plans.items()
    ]
    # Outbound traffic, first tier (0.09 EUR/GB up to 10 TB).
    prices.append(Price("usage.outbound-traffic", D("0.09"), "EUR", "GB", PRICE_SYSTEM_2021))
    return Catalog(tuple(prices))
