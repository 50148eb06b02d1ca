"""The price catalog (R5): what is in force, and every version before and after."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from .common import Amount


class PriceVersion(BaseModel):
    amount: Amount
    unit: str = Field(description="hour, month (720 hours), or a quantity unit.")
    effective_from: datetime
    effective_to: datetime | None


class CatalogPrice(BaseModel):
    key: str = Field(examples=["instance.M"])
    currency: str = Field(examples=["EUR"])
    in_force: PriceVersion | None = Field(description="The version in force now, if any.")
    versions: list[PriceVersion] = Field(description="Every version, oldest first.")


class CatalogPublic(BaseModel):
    as_of: datetime
    prices: list[CatalogPrice]
