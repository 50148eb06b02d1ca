"""Numbers, money, instants and durations written for the buyer's locale (Babel).

Every value comes from the invoice document as text and is read with `Decimal`, never
`float` (R7/R12): formatting only changes how a number is written, never its value, except
detail amounts, which are shown rounded to `DETAIL_PLACES` for reading (CONTRACT: the exact
value stays in the document and is never summed here).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.numbers import NumberPattern, format_currency, format_decimal, format_percent

from bysecond.core.money import D

# Detail amounts carry 12 decimals (CONTRACT); six are enough to read them and keep
# the detail tables narrow.
DETAIL_PLACES: Final = 6
_DETAIL_QUANTUM: Final = Decimal(1).scaleb(-DETAIL_PLACES)
_MICROSECOND = timedelta(microseconds=1)


def parse_locale(code: str | None) -> Locale:
    """A Babel locale from "fr", "fr-FR" or "fr_FR"; English when unknown or missing."""
    try:
        return Locale.parse((code or "en").replace("-", "_"))
    except (ValueError, LookupError, UnknownLocaleError):
        return Locale.parse("en")


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant of the document ("...Z"), timezone-aware (R1)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"instant without a time zone: {text!r}")
    return instant


def seconds_value(value: int | float | Decimal | str) -> Decimal:
    """`elapsed_seconds` is a JSON number; a float from `json.loads` is read through its
    shortest text so that 762.5 stays 762.5 (it is a duration, not money)."""
    if isinstance(value, bool):
        raise TypeError("a duration is not a boolean")
    return D(str(value)) if isinstance(value, float) else D(value)


def decimal_of(value: object) -> Decimal:
    """A document value read as a Decimal (`D` refuses floats). Anything that is not a
    number or text goes through `str()`, so that a field missing from the document stops
    the template with Jinja's own error (StrictUndefined) rather than a vague TypeError."""
    if isinstance(value, str | int | float | Decimal):
        return D(value)  # type: ignore[arg-type]  # D raises on a float: not money
    return D(str(value))


@lru_cache(maxsize=64)
def _currency_pattern(locale: Locale, places: int) -> NumberPattern:
    """The locale's currency pattern with exactly `places` decimals."""
    pattern: NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern


class Formatter:
    """Writes the document's values for one buyer: locale, currency and time zone."""

    def __init__(self, locale: Locale, currency: str, time_zone: str) -> None:
        self.locale = locale
        self.currency = currency
        self.zone = ZoneInfo(time_zone)

    # Money -------------------------------------------------------------------------

    def money(self, text: str) -> str:
        """A rounded amount ("12.34") in the currency's usual form: "€12.34", "12,34 €"."""
        return format_currency(decimal_of(text), self.currency, locale=self.locale)

    def deduction(self, text: str) -> str:
        """A rounded amount that the invoice subtracts (credits), written with a minus."""
        return self.money(str(-decimal_of(text)))

    def magnitude(self, text: str) -> str:
        """A rounded amount without its sign, for sentences that say the direction."""
        return self.money(str(abs(decimal_of(text))))

    @staticmethod
    def sign(text: str) -> int:
        """-1, 0 or 1: lets the template choose its words for a difference."""
        value = decimal_of(text)
        return (value > 0) - (value < 0)

    def exact(self, text: str) -> str:
        """A detail amount (12 decimals) shown to `DETAIL_PLACES` for reading only."""
        pattern = _currency_pattern(self.locale, DETAIL_PLACES)
        # Half-up like every rounding of the invoice (R12), not Babel's half-even.
        value = decimal_of(text).quantize(_DETAIL_QUANTUM, ROUND_HALF_UP)
        return str(pattern.apply(value, self.locale, currency=self.currency, currency_digits=False))

    def price(self, text: str) -> str:
        """A rate or unit price with every decimal the document gives ("0.008333")."""
        value = decimal_of(text)
        places = max(-int(value.as_tuple().exponent), 0)
        pattern = _currency_pattern(self.locale, places)
        return str(pattern.apply(value, self.locale, currency=self.currency, currency_digits=False))

    def percent(self, text: str) -> str:
        """A rate such as "0.20" or "0.055" as "20%" or "5,5 %"."""
        return format_percent(decimal_of(text), locale=self.locale, decimal_quantization=False)

    def number(self, text: str | int) -> str:
        """A quantity as given, with the locale's separators."""
        return format_decimal(decimal_of(text), locale=self.locale, decimal_quantization=False)

    # Time --------------------------------------------------------------------------

    def local(self, text: str) -> datetime:
        return parse_instant(text).astimezone(self.zone)

    def day(self, text: str) -> str:
        """A date in words: "November 1, 2026", "1 novembre 2026"."""
        return format_date(self.local(text), "long", locale=self.locale)

    def moment(self, text: str) -> str:
        """An instant within the period, to the second: "Oct 3, 14:00:05"."""
        when = self.local(text)
        day = format_skeleton("MMMd", when, locale=self.locale)
        clock = format_skeleton("Hms", when, locale=self.locale)
        return str(self.locale.datetime_formats["medium"]).format(clock, day)

    def instant(self, text: str) -> str:
        """An instant with its year: "Oct 1, 2026, 00:00"."""
        when = self.local(text)
        day = format_skeleton("yMMMd", when, locale=self.locale)
        clock = format_skeleton("Hm", when, locale=self.locale)
        return str(self.locale.datetime_formats["medium"]).format(clock, day)

    def month(self, start: str) -> str:
        """The billing month named in the buyer's language: "October 2026"."""
        return format_skeleton("yMMMM", self.local(start), locale=self.locale)

    def last_day(self, end: str) -> str:
        """The last day of `[start, end)`: the end instant is excluded (R1)."""
        return format_date(self.local(end) - _MICROSECOND, "long", locale=self.locale)

    def duration(self, seconds: int | float | Decimal | str) -> str:
        """A duration such as "42 s", "12 min 42 s", "3 h 05 min" or "3 h 05 min 07 s"."""
        value = seconds_value(seconds)
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        fraction = abs(value) - whole
        hours, rest = divmod(whole, 3600)
        minutes, secs = divmod(rest, 60)
        second_text = self.number(str(secs + fraction))
        padded = "0" + second_text if secs < 10 else second_text
        if hours:
            text = f"{self.number(hours)} h {minutes:02d} min"
            if secs or fraction:
                text += f" {padded} s"
        elif minutes:
            text = f"{minutes} min {padded} s"
        else:
            text = f"{second_text} s"
        return sign + text
