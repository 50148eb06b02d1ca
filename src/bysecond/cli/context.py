"""What the billing commands share: the clock option, periods, settings and the context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

import typer

from bysecond.core.events import EventError, parse_instant
from bysecond.core.period import BillingPeriod, PeriodError
from bysecond.services.billing import BillingContext
from bysecond.settings import Settings, SettingsError
from bysecond.store.database import Database
from bysecond.store.prices import load_catalog

from .options import fail

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="INSTANT",
        help="The clock reading to act at (RFC 3339, e.g. 2026-11-01T06:00:00Z). Default: now.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
PERIOD_HELP: Final = "The billing period, YYYY-MM."


def instant(text: str | None, option: str = "--at") -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_instant(text, option)
    except EventError as error:
        raise fail(f"{option}: {error.message}") from None


def period(text: str) -> BillingPeriod:
    try:
        return BillingPeriod.parse(text)
    except PeriodError as error:
        raise fail(f"--period: {error}") from None


def settings() -> Settings:
    try:
        return Settings.from_environment()
    except SettingsError as error:
        raise fail(str(error)) from None


def billing_context(database: Database, at: datetime) -> BillingContext:
    with database.unit_of_work(read_only=True) as uow:
        catalog = load_catalog(uow.connection)
    return BillingContext(catalog, settings().seller, at)
