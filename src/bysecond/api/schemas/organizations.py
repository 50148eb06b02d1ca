"""An organisation's profile: read by its keys and the operator, changed field by field."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bysecond.services.profiles import Profile

from .common import Amount, Text, text


class OrganizationPublic(BaseModel):
    id: str
    name: str | None
    address: str | None
    country: str | None = Field(description="ISO 3166-1 alpha-2.")
    vat_number: str | None
    time_zone: str = Field(description="The billing time zone, an IANA name (R1).")
    policy: str = Field(description="The granularity policy (R6).")
    locale: str
    vat_rate: Amount = Field(description="The VAT rate when not reverse-charged (R11).")
    currency: str
    postpaid: bool = Field(description="Usage is invoiced without needing credit.")
    created_at: datetime

    @classmethod
    def of(cls, profile: Profile) -> OrganizationPublic:
        return cls(
            id=profile.id,
            name=profile.name,
            address=profile.address,
            country=profile.country,
            vat_number=profile.vat_number,
            time_zone=profile.time_zone,
            policy=profile.policy,
            locale=profile.locale,
            vat_rate=text(profile.vat_rate),
            currency=profile.currency,
            postpaid=profile.postpaid,
            created_at=profile.created_at,
        )


class OrganizationUpdate(BaseModel):
    """Only the fields sent change. `null` clears a field or restores its default."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    country: Text | None = Field(
        default=None, max_length=2, description="ISO 3166-1 alpha-2.", examples=["DE"]
    )
    vat_number: Text | None = Field(
        default=None,
        max_length=32,
        description="Checked for EU countries (R11).",
        examples=["DE136695976"],
    )
    time_zone: Text | None = Field(
        default=None, max_length=64, description="An IANA name.", examples=["Europe/Paris"]
    )
    policy: Text | None = Field(
        default=None,
        max_length=64,
        description="per-second, 10-minute-slices, per-second-min-60 or slices-<N>s[-min-<M>s].",
        examples=["per-second"],
    )
    locale: Text | None = Field(default=None, max_length=16, examples=["fr-FR"])
    postpaid: bool | None = Field(default=None, description="Operator keys only.")
