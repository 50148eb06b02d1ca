"""How the invoice writes money, instants and durations for the buyer's locale."""

from decimal import Decimal

import pytest

from bysecond.render.formatting import Formatter, parse_locale, seconds_value
from bysecond.render.labels import labels_for

EN = Formatter(parse_locale("en"), "EUR", "Europe/Paris")
FR = Formatter(parse_locale("fr"), "EUR", "Europe/Paris")
NBSP, NNBSP = "\u00a0", "\u202f"


def test_rounded_amounts_are_written_in_the_buyers_currency_format() -> None:
    assert EN.money("1234.50") == "€1,234.50"
    assert FR.money("1234.50") == f"1{NNBSP}234,50{NBSP}€"
    assert EN.money("-0.42") == "-€0.42"


def test_credits_are_written_as_deductions() -> None:
    assert EN.deduction("26.40") == "-€26.40"
    assert FR.deduction("20.00") == f"-20,00{NBSP}€"


def test_detail_amounts_are_shown_to_six_decimals_for_reading() -> None:
    assert EN.exact("0.021166666667") == "€0.021167"
    assert EN.exact("59.590000000000") == "€59.590000"
    assert FR.exact("0.013972222222") == f"0,013972{NBSP}€"
    assert EN.exact("0.000000500000") == "€0.000001"  # half-up, as R12 rounds


def test_rates_keep_every_decimal_the_document_gives() -> None:
    assert EN.price("0.013888888889") == "€0.013888888889"
    assert EN.price("0.10") == "€0.10"
    assert FR.price("0.008333") == f"0,008333{NBSP}€"


def test_vat_rates_are_percentages_without_rounding() -> None:
    assert EN.percent("0.20") == "20%"
    assert EN.percent("0.055") == "5.5%"
    assert FR.percent("0") == f"0{NBSP}%"


def test_money_is_never_read_from_a_float() -> None:
    with pytest.raises(TypeError):
        EN.money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "english"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (762, "12 min 42 s"),  # the seed's build of 12 min 42 s
        (3 * 3600 + 5 * 60, "3 h 05 min"),
        (3 * 3600 + 5 * 60 + 7, "3 h 05 min 07 s"),
        (745 * 3600, "745 h 00 min"),
        (2160 * 3600, "2,160 h 00 min"),
        (762.5, "12 min 42.5 s"),
        (65.25, "1 min 05.25 s"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, english: str) -> None:
    assert EN.duration(seconds) == english


def test_durations_use_the_locales_separators() -> None:
    assert FR.duration(762.5) == "12 min 42,5 s"
    assert FR.duration(2160 * 3600) == f"2{NNBSP}160 h 00 min"


def test_elapsed_seconds_decoded_as_float_keep_their_shortest_text() -> None:
    assert seconds_value(762.123456) == Decimal("762.123456")
    assert seconds_value(762) == Decimal(762)


def test_instants_are_shown_in_the_periods_time_zone() -> None:
    # 12:00:05 UTC is 14:00:05 in Paris in early October (CEST).
    assert EN.moment("2026-10-03T12:00:05Z") == "Oct 3, 14:00:05"
    assert FR.moment("2026-10-03T12:00:05Z") == "3 oct., 14:00:05"
    assert EN.instant("2026-09-30T22:00:00Z") == "Oct 1, 2026, 00:00"


def test_the_period_is_named_by_its_month_and_its_end_is_excluded() -> None:
    assert EN.month("2026-09-30T22:00:00Z") == "October 2026"
    assert FR.month("2026-09-30T22:00:00Z") == "octobre 2026"
    assert EN.last_day("2026-10-31T23:00:00Z") == "October 31, 2026"


def test_locales_are_parsed_leniently_and_fall_back_to_english() -> None:
    assert parse_locale("fr-FR").language == "fr"
    assert parse_locale("fr_BE").language == "fr"
    assert parse_locale("xx-nowhere").language == "en"
    assert parse_locale(None).language == "en"


def test_every_language_has_every_label() -> None:
    english = labels_for("en")
    assert set(labels_for("fr")) == set(english)
    assert labels_for("de") is english
