"""Billing periods: calendar months in the organisation's time zone (R1)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
MICROSECOND = timedelta(microseconds=1)


class PeriodError(ValueError):
    """A period or time zone that cannot be billed."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r}") from None


def require_aware(instant: datetime, what: str = "instant") -> datetime:
    """R1: every instant is timezone-aware; it is kept in UTC."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PeriodError(f"{what} has no time zone")
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class BillingPeriod:
    """`[first day 00:00, first day of next month 00:00)` in `time_zone`, as UTC instants."""

    year: int
    month: int
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9998:
            raise PeriodError(f"no such month: {self.year}-{self.month:02d}")
        zone(self.time_zone)

    @classmethod
    def parse(cls, text: str, time_zone: str = "UTC") -> BillingPeriod:
        match = _PERIOD.match(text.strip())
        if not match:
            raise PeriodError(f"period must be YYYY-MM, got {text!r}")
        return cls(int(match[1]), int(match[2]), time_zone)

    @classmethod
    def containing(cls, instant: datetime, time_zone: str = "UTC") -> BillingPeriod:
        local = require_aware(instant).astimezone(zone(time_zone))
        return cls(local.year, local.month, time_zone)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return _month_start(self.year, self.month, self.time_zone)

    @property
    def end(self) -> datetime:
        return _month_start(*_month_after(self.year, self.month), self.time_zone)

    def next(self) -> BillingPeriod:
        return BillingPeriod(*_month_after(self.year, self.month), self.time_zone)

    def previous(self) -> BillingPeriod:
        if self.month == 1:
            return BillingPeriod(self.year - 1, 12, self.time_zone)
        return BillingPeriod(self.year, self.month - 1, self.time_zone)

    def clamp(self, instant: datetime) -> datetime:
        """`instant` if it lies in the period, else the period's nearer bound."""
        return max(self.start, min(instant, self.end))

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def __str__(self) -> str:
        return self.key


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


# Billing asks a period for its bounds dozens of times per invoice (metering, rating,
# accruals, credits, the document): each is computed once per month and zone.
@functools.lru_cache(maxsize=4096)
def _month_start(year: int, month: int, time_zone: str) -> datetime:
    """The first instant of a month in `time_zone`, in UTC (R1)."""
    return datetime(year, month, 1, tzinfo=zone(time_zone)).astimezone(UTC)


def micros_between(start: datetime, end: datetime) -> int:
    """Elapsed time in whole microseconds (R1: instants are kept to the microsecond)."""
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def rfc3339(instant: datetime) -> str:
    """UTC, with microseconds only when there are some: 2026-10-03T12:00:00Z."""
    # isoformat writes the microseconds only when there are some, as RFC 3339 allows.
    if instant.tzinfo is UTC:  # most instants: every detail of every invoice has two
        return instant.isoformat()[:-6] + "Z"  # drops "+00:00"
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
