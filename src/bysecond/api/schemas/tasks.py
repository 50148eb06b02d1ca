"""A custom task billed by the support team (R2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bysecond.services.billed_tasks import BilledTask, TaskOrder

from .common import Amount, Identifier, InstantIn, Text, UnsignedDecimal


class TaskCreate(BaseModel):
    """Either `amount`, or `price_key` with `quantity`."""

    model_config = ConfigDict(extra="forbid")

    description: Text = Field(min_length=1, max_length=500, examples=["Database migration"])
    amount: UnsignedDecimal | None = Field(default=None, description="A fixed amount.")
    price_key: str | None = Field(
        default=None,
        pattern=r"^task\.[A-Za-z0-9_.-]+$",
        max_length=128,
        examples=["task.support-hour"],
    )
    quantity: UnsignedDecimal | None = Field(default=None, examples=["2"])
    at: InstantIn | None = Field(default=None, description="When it was done. Default: now.")
    task_id: Identifier | None = Field(
        default=None,
        description="The task's id; the same id again is never billed twice."
        " Default: derived from the Idempotency-Key, else new.",
    )

    @model_validator(mode="after")
    def _priced_once(self) -> Self:
        if (self.amount is None) == (self.price_key is None):
            raise ValueError("give either amount, or price_key with quantity")
        if self.price_key is not None and self.quantity is None:
            raise ValueError("price_key needs a quantity")
        if self.amount is not None and self.quantity is not None:
            raise ValueError("quantity goes with price_key, not with amount")
        return self

    def order(self) -> TaskOrder:
        return TaskOrder(
            description=self.description,
            at=self.at,
            amount=None if self.amount is None else Decimal(self.amount),
            price_key=self.price_key,
            quantity=None if self.quantity is None else Decimal(self.quantity),
            task_id=self.task_id,
        )


class TaskPublic(BaseModel):
    organization_id: str
    task_id: str
    source: str
    at: datetime
    status: Literal["accepted", "duplicate"] = Field(
        description="duplicate: this task was already billed, and is not billed again (R3)."
    )
    description: str
    amount: Amount | None
    price_key: str | None
    quantity: Amount | None

    @classmethod
    def of(cls, task: BilledTask) -> TaskPublic:
        data = task.event["data"]
        assert isinstance(data, dict)
        return cls(
            organization_id=task.organization_id,
            task_id=task.task_id,
            source=task.source,
            at=task.at,
            status="duplicate" if task.status == "duplicate" else "accepted",
            description=data["description"],
            amount=data.get("amount"),
            price_key=data.get("price_key"),
            quantity=data.get("quantity"),
        )
