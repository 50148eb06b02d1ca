"""The platform's own settings, read once from the environment and validated.

BYSECOND_SELLER_NAME, _ADDRESS, _COUNTRY, _VAT_NUMBER, _COMPANY_ID: who issues invoices.
BYSECOND_WELCOME_CREDIT (EUR, "0" to give none) and BYSECOND_WELCOME_DAYS: the credit
every new organisation receives.
BYSECOND_API_MAX_BODY_BYTES: the largest request body the HTTP API reads (default 10 MiB).
BYSECOND_PORTAL_SECRET: signs the customer portal's session cookies (at least 32
characters; unset, each process signs with a random secret of its own, with a warning).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from bysecond.core.invoice import Seller
from bysecond.core.money import MoneyError, currency, parse_amount
from bysecond.core.tax import EU_COUNTRIES, is_valid_vat_number
from bysecond.services.credits import WelcomeCredit

DEFAULT_SELLER = Seller(
    name="Nuage Platform SAS",
    address="3 rue de la Console, 44000 Nantes, France",
    country="FR",
    vat_number="FR44732829320",
    company_id="SIREN 732 829 320",
)

DEFAULT_WELCOME = WelcomeCredit()

MIB = 1024 * 1024
# A batch of 10,000 typical events is about 3 MiB: 10 MiB leaves room, and bounds what
# one request can make the server hold in memory.
DEFAULT_MAX_BODY_BYTES = 10 * MIB
MAX_BODY_BYTES_RANGE = (1024, 1024 * MIB)
MIN_PORTAL_SECRET = 32  # characters: a guessable secret would let anyone forge a session


class SettingsError(ValueError):
    """A setting that cannot be used."""


@dataclass(frozen=True)
class Settings:
    seller: Seller = DEFAULT_SELLER
    welcome: WelcomeCredit | None = DEFAULT_WELCOME
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # the HTTP API's request body limit
    portal_secret: str = field(default="", repr=False)  # "": a random one per process

    def __post_init__(self) -> None:
        low, high = MAX_BODY_BYTES_RANGE
        if not low <= self.max_body_bytes <= high:
            raise SettingsError(
                f"the request body limit must be between {low} and {high} bytes,"
                f" not {self.max_body_bytes}"
            )
        if self.portal_secret and len(self.portal_secret) < MIN_PORTAL_SECRET:
            raise SettingsError(
                f"BYSECOND_PORTAL_SECRET must be at least {MIN_PORTAL_SECRET} characters"
                " (generate one: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        seller = Seller(
            name=env.get("BYSECOND_SELLER_NAME", DEFAULT_SELLER.name),
            address=env.get("BYSECOND_SELLER_ADDRESS", DEFAULT_SELLER.address),
            country=env.get("BYSECOND_SELLER_COUNTRY", DEFAULT_SELLER.country).upper(),
            vat_number=env.get("BYSECOND_SELLER_VAT_NUMBER", DEFAULT_SELLER.vat_number),
            company_id=env.get("BYSECOND_SELLER_COMPANY_ID", DEFAULT_SELLER.company_id),
        )
        if seller.country in EU_COUNTRIES and not is_valid_vat_number(
            seller.vat_number, seller.country
        ):
            raise SettingsError(f"BYSECOND_SELLER_VAT_NUMBER {seller.vat_number!r} is not valid")
        try:
            amount = parse_amount(env.get("BYSECOND_WELCOME_CREDIT", "20.00"), currency("EUR"))
            days = int(env.get("BYSECOND_WELCOME_DAYS", "365"))
        except (MoneyError, ValueError) as error:
            raise SettingsError(f"welcome credit: {error}") from None
        if days < 1:
            raise SettingsError("BYSECOND_WELCOME_DAYS must be at least 1")
        welcome = WelcomeCredit(amount, timedelta(days=days)) if amount > Decimal(0) else None
        try:
            max_body = int(env.get("BYSECOND_API_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES)))
        except ValueError:
            raise SettingsError(
                "BYSECOND_API_MAX_BODY_BYTES must be a whole number of bytes"
            ) from None
        return cls(seller, welcome, max_body, env.get("BYSECOND_PORTAL_SECRET", "").strip())
