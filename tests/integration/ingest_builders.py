"""Tiny builders of CloudEvents (CONTRACT.md) for the ingestion tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bysecond.store.database import Database
from bysecond.store.events import count_events

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SOURCE = "//platform/orchestrator"


def clock() -> datetime:
    return NOW


def event(
    number: int | str = 1,
    kind: str = "instance.started",
    *,
    time: str = "2026-10-03T12:00:00Z",
    subject: str = "org-acme",
    source: str = SOURCE,
    **data: Any,
) -> dict[str, Any]:
    """A valid event; `data` replaces the default data of its type."""
    defaults: dict[str, dict[str, Any]] = {
        "instance.started": {
            "instance_id": "i-77",
            "application_id": "app-shop",
            "flavor": "M",
            "role": "run",
        },
        "instance.stopped": {"instance_id": "i-77"},
        "addon.provisioned": {"addon_id": "a-1", "provider": "postgresql", "plan": "s"},
        "addon.plan_changed": {"addon_id": "a-1", "plan": "m", "provider": "postgresql"},
        "addon.deleted": {"addon_id": "a-1"},
        "task.performed": {"task_id": "t-1", "description": "restore", "amount": "2.00"},
        "usage.reported": {
            "resource_id": "app-shop",
            "meter": "outbound-traffic",
            "quantity": "1.5",
        },
    }
    return {
        "specversion": "1.0",
        "id": f"e-{number}",
        "source": source,
        "type": kind,
        "time": time,
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data or defaults[kind],
    }


def line(raw: dict[str, Any]) -> bytes:
    return orjson.dumps(raw) + b"\n"


def many(count: int, *, organizations: int = 7, first: int = 0) -> Iterator[dict[str, Any]]:
    """`count` valid events, starts and stops of instances of a few organisations."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for number in range(first, first + count):
        kind = "instance.started" if number % 2 == 0 else "instance.stopped"
        data: dict[str, Any] = {"instance_id": f"i-{number // 2}"}
        if kind == "instance.started":
            data |= {"application_id": f"app-{number % 5}", "flavor": "S", "role": "run"}
        instant = start + timedelta(seconds=number)
        yield event(
            number,
            kind,
            time=instant.isoformat().replace("+00:00", "Z"),
            subject=f"org-{(number // 2) % organizations}",
            **data,
        )


def stored_count(database: Database) -> int:
    with database.unit_of_work(read_only=True) as uow:
        return count_events(uow.connection)


def m_instance_and_task(org: str = "org-acme", n: int = 0) -> list[dict[str, Any]]:
    """A month's usage: an M instance running since 2026-09-20 (74.40 EUR in October,
    72.00 in November) and a 50.00 EUR task on 2026-10-07."""
    return [
        event(
            f"{org}-1",
            subject=org,
            time="2026-09-20T00:00:00Z",
            instance_id=f"i-{n}",
            application_id="app-shop",
            flavor="M",
            role="run",
        ),
        event(
            f"{org}-2",
            "task.performed",
            subject=org,
            time="2026-10-07T10:00:00Z",
            task_id=f"t-{n}",
            description="Database migration",
            amount="50.00",
        ),
    ]
