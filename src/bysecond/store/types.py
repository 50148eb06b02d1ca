"""Column types that keep instants and amounts exact on both SQLite and PostgreSQL.

- `Instant`: an aware datetime kept in UTC to the microsecond (R1). PostgreSQL stores a
  `timestamptz`; SQLite stores whole microseconds since the Unix epoch in an INTEGER,
  which sorts and compares correctly, keeps every microsecond, and is the cheapest form
  for the event index (organization_id, time) that billing scans.
- `ExactDecimal`: a Decimal that never passes through a float (R7). PostgreSQL stores an
  unconstrained NUMERIC; SQLite stores the decimal text, because SQLite's NUMERIC
  affinity would turn "0.008333" into a binary float. Amounts are compared and summed by
  the core, never by SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware instant (R1)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant {instant!r} has no time zone (R1)")
    return (instant - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class Instant(TypeDecorator[datetime]):
    """An aware UTC datetime (R1); naive datetimes are refused, never guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"an instant must be a datetime, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return to_micros(value)
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"instant {value!r} has no time zone (R1)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return from_micros(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored without loss: NUMERIC on PostgreSQL, decimal text on SQLite (R7)."""

    impl = Numeric(asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float) or not isinstance(value, Decimal | int):
            raise TypeError(f"amounts are Decimal, never {type(value).__name__} (R7)")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"amount {value!r} is not finite")
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)
