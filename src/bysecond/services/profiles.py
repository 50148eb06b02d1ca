"""Organisation profiles: read, and completed or changed field by field.

An organisation is registered on the fly by its first event with the default profile
(CONTRACT.md); its name, address, country, VAT number, billing time zone (R1), policy
(R6) and locale are completed later. Every change is validated before any is stored.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from babel import Locale, UnknownLocaleError
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError

from bysecond.core.policy import PolicyError
from bysecond.core.policy import policy as named_policy
from bysecond.core.tax import EU_COUNTRIES, is_valid_vat_number
from bysecond.store.schema import (
    DEFAULT_LOCALE,
    DEFAULT_POLICY,
    DEFAULT_TIME_ZONE,
    Organization,
)

from .countries import ISO_3166_ALPHA_2
from .customers import organization

EDITABLE: Final = (
    "name",
    "address",
    "country",
    "vat_number",
    "time_zone",
    "policy",
    "locale",
    "postpaid",
)
OPERATOR_ONLY: Final = frozenset({"postpaid"})  # whether usage is invoiced without credit
TEXT_LIMITS: Final = {"name": 200, "address": 500, "vat_number": 32, "locale": 16}


class ProfileError(ValueError):
    """Changes that cannot be made: each field at fault with the reason."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class NotAllowed(PermissionError):
    """A change only an operator may make."""


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str | None
    address: str | None
    country: str | None
    vat_number: str | None
    time_zone: str
    policy: str
    locale: str
    vat_rate: Decimal
    currency: str
    postpaid: bool
    created_at: datetime


def read_profile(session: Session, organization_id: str) -> Profile:
    return _profile(organization(session, organization_id))


def update_profile(
    session: Session, organization_id: str, changes: Mapping[str, object], *, operator: bool
) -> Profile:
    """Apply `changes` (field -> value; None restores the default) in the caller's
    transaction, all or none."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ProfileError([(field, "is not a profile field") for field in unknown])
    forbidden = sorted(OPERATOR_ONLY & set(changes))
    if forbidden and not operator:
        raise NotAllowed(f"only an operator may change {', '.join(forbidden)}")
    row = organization(session, organization_id)
    values, errors = _validated(row, changes)
    if errors:
        raise ProfileError(errors)
    for field, value in values.items():
        setattr(row, field, value)
    session.flush()
    return _profile(row)


def _validated(
    row: Organization, changes: Mapping[str, object]
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    values: dict[str, object] = {}
    errors: list[tuple[str, str]] = []

    def check(field: str, value: object) -> None:
        try:
            values[field] = _field(field, value)
        except ValueError as error:
            errors.append((field, str(error)))

    for field, value in changes.items():
        check(field, value)
    # R11: a VAT number of an EU country is checked against that country, whichever of
    # the two this change sets.
    country = values.get("country", row.country)
    vat_number = values.get("vat_number", row.vat_number)
    touched = "country" in values or "vat_number" in values
    checked = touched and isinstance(country, str) and country in EU_COUNTRIES and vat_number
    if checked and not _valid_vat_number(str(vat_number), str(country)):
        errors.append(("vat_number", f"{vat_number!r} is not a valid VAT number of {country}"))
    return values, errors


def _field(field: str, value: object) -> object:
    """The stored value of one field, or ValueError saying why not."""
    if field == "postpaid":
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a string")
    text = value.strip() if isinstance(value, str) else ""
    limit = TEXT_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise ValueError(f"has at most {limit} characters")
    if field in ("name", "address", "vat_number"):
        return text or None
    if field == "country":
        if not text:
            return None
        code = text.upper()
        if code not in ISO_3166_ALPHA_2:
            raise ValueError(f"{text!r} is not an ISO 3166-1 alpha-2 country code")
        return code
    if field == "time_zone":  # R1: an IANA name
        if not text:
            return DEFAULT_TIME_ZONE
        if text not in _iana_zones():
            raise ValueError(f"{text!r} is not an IANA time zone name")
        return text
    if field == "policy":  # R6
        try:
            return named_policy(text).name if text else DEFAULT_POLICY
        except PolicyError as error:
            raise ValueError(str(error)) from None
    # locale
    if not text:
        return DEFAULT_LOCALE
    try:
        Locale.parse(text.replace("-", "_"))
    except (ValueError, LookupError, UnknownLocaleError):
        raise ValueError(f"{text!r} is not a known locale") from None
    return text


def _valid_vat_number(number: str, country: str) -> bool:
    try:
        return is_valid_vat_number(number, country)
    except ValidationError:  # python-stdnum refuses some malformed numbers by raising
        return False


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _profile(row: Organization) -> Profile:
    return Profile(
        row.id,
        row.name,
        row.address,
        row.country,
        row.vat_number,
        row.time_zone,
        row.policy,
        row.locale,
        row.vat_rate,
        row.currency,
        row.postpaid,
        row.created_at,
    )
