"""The stored price catalog (R5): seeded once with the platform's defaults, read whole."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from bysecond.core.catalog import Catalog, Price, default_catalog

from .schema import StoredPrice


def seed_default_catalog(connection: Connection) -> int:
    """Fill an empty price table with `default_catalog()`; returns the rows added.

    A database whose catalog an operator has already set is left alone.
    """
    if connection.execute(select(func.count()).select_from(StoredPrice)).scalar_one():
        return 0
    rows = [_row(price) for price in default_catalog().prices]
    connection.execute(insert(StoredPrice), rows)
    return len(rows)


def load_catalog(connection: Connection) -> Catalog:
    """Every stored price with its history, as the core's `Catalog`."""
    result = connection.execute(select(StoredPrice.__table__).order_by(StoredPrice.seq))
    return Catalog(
        tuple(
            Price(r.key, r.amount, r.currency, r.unit, r.effective_from, r.effective_to)
            for r in result
        )
    )


def add_price(connection: Connection, price: Price) -> None:
    connection.execute(insert(StoredPrice), [_row(price)])


def _row(price: Price) -> dict[str, object]:
    return {
        "key": price.key,
        "amount": price.amount,
        "currency": price.currency,
        "unit": price.unit,
        "effective_from": price.effective_from,
        "effective_to": price.effective_to,
    }
