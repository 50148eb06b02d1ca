"""VAT treatment of an organisation (R11)."""

from __future__ import annotations

from decimal import Decimal

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from .credits import VatTreatment

EU_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196, Council Directive 2006/112/EC)"
)
# VAT numbers of Greece start with EL, not with the ISO country code GR.
_VAT_PREFIX = {"GR": "EL"}


def is_valid_vat_number(number: str, country: str | None = None) -> bool:
    """Format and check digits of an EU VAT number (no online VIES look-up)."""
    try:
        compact = eu_vat.compact(number) if number else ""
        valid = bool(compact) and eu_vat.is_valid(compact)
    except ValidationError:  # text too short to carry a country prefix, and the like
        return False
    if not valid:
        return False
    return country is None or compact[:2] == _VAT_PREFIX.get(country, country)


def vat_treatment(
    country: str, vat_number: str, seller_country: str, rate: Decimal
) -> VatTreatment:
    """R11: the organisation's rate, or reverse charge for a valid VAT number in another
    EU country."""
    country = country.upper()
    if (
        country in EU_COUNTRIES
        and country != seller_country.upper()
        and is_valid_vat_number(vat_number, country)
    ):
        return VatTreatment(Decimal("0"), True, REVERSE_CHARGE_MENTION)
    return VatTreatment(rate)
