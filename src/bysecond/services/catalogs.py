"""The stored catalog as people read it: per price, the version in force and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy.orm import Session

from bysecond.core.catalog import Price
from bysecond.store.prices import load_catalog


@dataclass(frozen=True)
class PriceHistory:
    key: str
    currency: str
    in_force: Price | None  # at the instant asked about
    versions: list[Price]  # oldest first, each closed where the next begins (R5)


def price_histories(session: Session, at: datetime) -> list[PriceHistory]:
    catalog = load_catalog(session.connection())
    histories = [
        PriceHistory(key, currency, catalog.price_at(key, currency, at), list(versions))
        # The catalog iterates by (key, currency), each key's versions in time order.
        for (key, currency), versions in groupby(catalog, lambda p: (p.key, p.currency))
    ]
    return sorted(histories, key=lambda h: (h.key, h.currency))
