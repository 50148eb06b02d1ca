"""Shapes shared by several resources."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, Field

from bysecond.core.events import ID_PATTERN
from bysecond.core.money import decimal_text

DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"
UNSIGNED_PATTERN: Final = r"^[0-9]+(\.[0-9]+)?$"
MAX_DECIMAL_LENGTH: Final = 40


def _without_nul(value: str) -> str:
    # No store keeps NUL (PostgreSQL text cannot), and no name or address needs it.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _utc(value: AwareDatetime) -> AwareDatetime:
    return value.astimezone(UTC)


Amount = Annotated[
    str,
    Field(
        pattern=DECIMAL_PATTERN,
        description="An exact decimal amount, as a string (never a JSON number).",
        examples=["12.34"],
    ),
]
# An amount or quantity given by a client: not negative, at most 40 characters.
UnsignedDecimal = Annotated[
    str,
    Field(pattern=UNSIGNED_PATTERN, max_length=MAX_DECIMAL_LENGTH, examples=["80.00"]),
]
# Text a person or program gives: anything but NUL.
Text = Annotated[
    str,
    AfterValidator(_without_nul),
    Field(json_schema_extra={"pattern": r"^[^\x00]*$"}),
]
Identifier = Annotated[
    str,
    Field(pattern=ID_PATTERN.pattern, max_length=128, examples=["org-acme"]),
]
# R1: every instant a client gives carries its offset; it is kept in UTC.
InstantIn = Annotated[AwareDatetime, AfterValidator(_utc)]


def text(value: Decimal) -> str:
    """An amount as the API writes it: exact, no exponent."""
    return decimal_text(value)
