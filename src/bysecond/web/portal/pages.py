"""The portal's templates: one Jinja2 environment, amounts formatted from exact Decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

LOCALE = "en_GB"


def money(value: Decimal | str, currency_code: str) -> str:
    """`12.50 EUR` as `€12.50`: a Decimal, or the decimal string of a document (never float)."""
    amount = value if isinstance(value, Decimal) else Decimal(value)
    return format_currency(amount, currency_code, locale=LOCALE)


def exact(value: Decimal | str) -> str:
    """A detail amount to 12 places, as the invoice shows it (R7)."""
    amount = value if isinstance(value, Decimal) else Decimal(value)
    return format_decimal(amount, format="#,##0.############", locale=LOCALE)


def moment(value: datetime | None) -> str:
    """An instant in UTC, to the microsecond when it has one (R1)."""
    if value is None:
        return ""
    fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return value.strftime("%d %b %Y %H:%M:%S") + fraction + " UTC"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bysecond.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a missing value is an error, never a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, exact=exact, moment=moment)
    return env


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(f"portal/{name}").render(context)
    # The portal's pages are per person: never kept by a shared cache, never framed elsewhere.
    headers = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "SAMEORIGIN",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(html, status_code=status_code, headers=headers)
