"""A custom task billed through the API (R2): one `task.performed` event, ingested.

The task's id is its event's id, so the same task sent again is a duplicate and never
billed twice (R3). A request retried under an Idempotency-Key without a task id gets the
id derived from that key, so even a retry after a lost answer bills the task once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bysecond.store.database import Database

from .ingest import Status
from .tasks import SUPPORT_SOURCE, add_task, task_event


@dataclass(frozen=True, slots=True)
class TaskOrder:
    description: str
    at: datetime | None = None  # default: now
    amount: Decimal | None = None
    price_key: str | None = None
    quantity: Decimal | None = None
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class BilledTask:
    organization_id: str
    task_id: str
    source: str
    at: datetime
    status: Status  # accepted, or duplicate when this task was already billed
    event: dict[str, object]


def bill_task(
    database: Database,
    organization_id: str,
    order: TaskOrder,
    now: datetime,
    *,
    fallback_id: str | None = None,
) -> BilledTask:
    """Ingest the task; `TaskError` says which field ingestion refused and why."""
    at = order.at or now
    event = task_event(
        organization_id,
        order.description,
        at,
        amount=order.amount,
        price_key=order.price_key,
        quantity=order.quantity,
        task_id=order.task_id or fallback_id,
    )
    outcome = add_task(database, event, now)
    task_id = str(event["id"])
    return BilledTask(organization_id, task_id, SUPPORT_SOURCE, at, outcome.status, event)
