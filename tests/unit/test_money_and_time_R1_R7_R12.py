"""R1 (time), R7 (exact amounts) and R12 (half-up rounding in one place)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from bysecond.core.money import (
    MoneyError,
    currency,
    exact,
    format_exact,
    parse_amount,
    round_half_up,
)
from bysecond.core.period import BillingPeriod, PeriodError, micros_between, rfc3339

EUR = currency("EUR")


def test_R12_rounds_half_up_to_the_cent() -> None:
    assert round_half_up(Fraction(5, 1000), EUR) == Decimal("0.01")
    assert round_half_up(Fraction(4999, 1_000_000), EUR) == Decimal("0.00")
    assert round_half_up(Fraction(-5, 1000), EUR) == Decimal("-0.01")
    assert round_half_up(Fraction(1, 3), EUR) == Decimal("0.33")
    assert str(round_half_up(Fraction(2), EUR)) == "2.00"


def test_R12_rounds_to_the_currency_minor_unit() -> None:
    assert round_half_up(Fraction(15, 10), currency("JPY")) == Decimal("2")
    assert round_half_up(Fraction(12345, 10000), currency("BHD")) == Decimal("1.235")


def test_R7_floats_are_refused_as_money() -> None:
    with pytest.raises(TypeError):
        exact(0.1)  # type: ignore[arg-type]


def test_R7_exact_amounts_keep_rates_without_rounding() -> None:
    per_second = exact("0.008333") / 3600
    assert per_second * 3600 == Fraction(8333, 1_000_000)
    assert format_exact(Fraction(762) * exact("0.10") / 3600) == "0.021166666667"


def test_amounts_given_by_people_are_refused_beyond_the_minor_unit() -> None:
    assert parse_amount("20", EUR) == Decimal("20.00")
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_amount("20.001", EUR)
    with pytest.raises(MoneyError, match="negative"):
        parse_amount("-1", EUR)
    with pytest.raises(MoneyError, match="not a decimal"):
        parse_amount("twelve", EUR)


def test_R1_a_period_is_a_calendar_month_in_utc_by_default() -> None:
    october = BillingPeriod.parse("2026-10")
    assert october.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert october.end == datetime(2026, 11, 1, tzinfo=UTC)
    assert micros_between(october.start, october.end) == 744 * 3600 * 1_000_000


def test_R1_a_period_follows_the_billing_time_zone_across_daylight_saving() -> None:
    october = BillingPeriod.parse("2026-10", "Europe/Paris")
    assert october.start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # CEST, UTC+2
    assert october.end == datetime(2026, 10, 31, 23, tzinfo=UTC)  # CET, UTC+1
    assert micros_between(october.start, october.end) == 745 * 3600 * 1_000_000


def test_R1_december_rolls_over_to_january() -> None:
    december = BillingPeriod.parse("2026-12")
    assert december.next().key == "2027-01"
    assert december.end == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "October", ""])
def test_R1_malformed_periods_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        BillingPeriod.parse(text)


def test_R1_unknown_time_zones_are_refused() -> None:
    with pytest.raises(PeriodError, match="unknown time zone"):
        BillingPeriod.parse("2026-10", "Mars/Olympus")


def test_R1_instants_are_written_in_utc_to_the_microsecond() -> None:
    paris = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2026, 10, 3, 14, 0, tzinfo=paris)) == "2026-10-03T12:00:00Z"
    assert (
        rfc3339(datetime(2026, 10, 3, 12, 0, 0, 250, tzinfo=UTC)) == "2026-10-03T12:00:00.000250Z"
    )
