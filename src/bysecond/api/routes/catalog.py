"""`GET /v1/catalog`: the prices in force, with their history (R5)."""

from __future__ import annotations

from fastapi import APIRouter

from bysecond.core.catalog import Price
from bysecond.services.catalogs import price_histories

from ..deps import CurrentKey, Db, Now
from ..problems import responses
from ..schemas.catalog import CatalogPrice, CatalogPublic, PriceVersion
from ..schemas.common import text

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get(
    "",
    name="read_catalog",
    summary="Read the price catalog",
    response_model=CatalogPublic,
    responses=responses(401),
)
def read_catalog(key: CurrentKey, db: Db, now: Now) -> CatalogPublic:
    """Every price with the version in force now and all its versions. Any key may read
    it: prices are the platform's, not an organisation's."""
    with db.unit_of_work(read_only=True) as uow:
        histories = price_histories(uow.session, now)
    return CatalogPublic(
        as_of=now,
        prices=[
            CatalogPrice(
                key=h.key,
                currency=h.currency,
                in_force=_version(h.in_force) if h.in_force else None,
                versions=[_version(price) for price in h.versions],
            )
            for h in histories
        ],
    )


def _version(price: Price) -> PriceVersion:
    return PriceVersion(
        amount=text(price.amount),
        unit=price.unit,
        effective_from=price.effective_from,
        effective_to=price.effective_to,
    )
