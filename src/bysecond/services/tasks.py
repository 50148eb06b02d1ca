"""Custom tasks billed by the support team (R2): stored as `task.performed` events, so
they follow every rule of other usage and are payable by credits."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from bysecond.core.period import rfc3339
from bysecond.store.database import Database

from .ingest import Outcome, Status, ingest_batch

SUPPORT_SOURCE = "//bysecond/support"


class TaskError(ValueError):
    """A task that cannot be billed: the field at fault and why."""


def task_event(
    organization_id: str,
    description: str,
    at: datetime,
    *,
    amount: Decimal | str | None = None,
    price_key: str | None = None,
    quantity: Decimal | str | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task_id": task_id or f"task-{uuid.uuid4().hex[:16]}",
        "description": description,
    }
    if amount is not None:
        data["amount"] = str(amount)
    if price_key is not None:
        data.update(price_key=price_key, quantity=None if quantity is None else str(quantity))
    return {
        "specversion": "1.0",
        "id": data["task_id"],
        "source": SUPPORT_SOURCE,
        "type": "task.performed",
        "time": rfc3339(at),
        "subject": organization_id,
        "datacontenttype": "application/json",
        "data": data,
    }


def add_task(database: Database, event: dict[str, Any], now: datetime) -> Outcome:
    """Ingest one task event; refused tasks raise `TaskError` with the ingestion reason."""
    (outcome,) = ingest_batch(database, [event], clock=lambda: now).outcomes()
    if outcome.status is Status.REJECTED:
        raise TaskError(f"{outcome.field}: {outcome.message}")
    return outcome
