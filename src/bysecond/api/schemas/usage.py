"""An organisation's usage in a window: pieces with their seconds, charges, anomalies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from bysecond.core.money import decimal_text
from bysecond.services.usage import UsageReport

from .common import Amount


class PieceOut(BaseModel):
    """An instance run or an add-on plan interval, clipped to the window (R2, R4)."""

    kind: Literal["instance", "addon"]
    resource_id: str = Field(description="The instance or add-on id.")
    owner_id: str = Field(description="The instance's application; the add-on itself.")
    price_key: str
    role: str | None = Field(description="run or build, for instances.")
    start: datetime
    end: datetime
    open: bool = Field(description="Still running at the end of the window (R4).")
    elapsed_seconds: Amount = Field(description="Exact, to the microsecond (R1).")
    billed_seconds: int = Field(description="Under the organisation's policy (R6).")


class TaskOut(BaseModel):
    task_id: str
    description: str
    at: datetime
    source: str
    event_id: str
    amount: Amount | None
    price_key: str | None
    quantity: Amount | None


class QuantityOut(BaseModel):
    resource_id: str
    meter: str
    at: datetime
    source: str
    event_id: str
    quantity: Amount


class AnomalyOut(BaseModel):
    """R4: usage that could not be billed as sent, reported, never dropped."""

    kind: str
    source: str
    event_id: str
    resource_id: str
    time: datetime
    message: str


class UsagePublic(BaseModel):
    organization_id: str
    start: datetime = Field(description="The window's start (the `from` parameter).")
    end: datetime = Field(description="The window's end (the `to` parameter), excluded.")
    policy: str
    billed_seconds: int = Field(description="The sum over the pieces.")
    pieces: list[PieceOut]
    tasks: list[TaskOut]
    quantities: list[QuantityOut]
    anomalies: list[AnomalyOut]

    @classmethod
    def of(cls, report: UsageReport) -> UsagePublic:
        return cls(
            organization_id=report.organization_id,
            start=report.start,
            end=report.end,
            policy=report.policy,
            billed_seconds=sum(p.billed_seconds for p in report.pieces),
            pieces=[
                PieceOut(
                    kind=u.piece.kind,
                    resource_id=u.piece.resource_id,
                    owner_id=u.piece.owner_id,
                    price_key=u.piece.price_key,
                    role=u.piece.role,
                    start=u.piece.start,
                    end=u.piece.end,
                    open=u.piece.open,
                    elapsed_seconds=decimal_text(u.elapsed_seconds),
                    billed_seconds=u.billed_seconds,
                )
                for u in report.pieces
            ],
            tasks=[
                TaskOut(
                    task_id=t.task_id,
                    description=t.description,
                    at=t.at,
                    source=t.source,
                    event_id=t.event_id,
                    amount=None if t.amount is None else decimal_text(t.amount),
                    price_key=t.price_key,
                    quantity=None if t.quantity is None else decimal_text(t.quantity),
                )
                for t in report.tasks
            ],
            quantities=[
                QuantityOut(
                    resource_id=q.resource_id,
                    meter=q.meter,
                    at=q.at,
                    source=q.source,
                    event_id=q.event_id,
                    quantity=decimal_text(q.quantity),
                )
                for q in report.quantities
            ],
            anomalies=[
                AnomalyOut(
                    kind=a.kind,
                    source=a.source,
                    event_id=a.event_id,
                    resource_id=a.resource_id,
                    time=a.time,
                    message=a.message,
                )
                for a in report.anomalies
            ],
        )
