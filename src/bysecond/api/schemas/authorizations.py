"""May this organisation create this add-on plan, or start this flavor, now?"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bysecond.services.estimates import MAX_DURATION_SECONDS

from .common import Amount, Text


class AddonPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Text = Field(max_length=64, examples=["postgresql"])
    plan: Text = Field(max_length=64, examples=["m"])


class AuthorizationCreate(BaseModel):
    """Exactly one of `addon`, `flavor` or `price_key`."""

    model_config = ConfigDict(extra="forbid")

    addon: AddonPlan | None = None
    flavor: Text | None = Field(default=None, max_length=64, examples=["M"])
    price_key: Text | None = Field(
        default=None,
        max_length=128,
        description="addon.<provider>.<plan> or instance.<flavor>.",
        examples=["addon.postgresql.m"],
    )
    duration_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DURATION_SECONDS,
        description="How long it will run. Default: to the end of the period.",
    )


class AuthorizationPublic(BaseModel):
    allowed: bool
    balance: Amount = Field(description="Credit left after the projected period, before this.")
    projected_cost: Amount = Field(
        description="What this adds to the amount owed by period end, VAT included."
    )
    reason: str
    price_key: str
    currency: str
    as_of: datetime
