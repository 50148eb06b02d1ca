"""Tiny builders of test data: events, grants and invoices in billing words."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bysecond.core.catalog import Catalog, default_catalog
from bysecond.core.credits import Grant, GrantBalance
from bysecond.core.events import Event, parse_event
from bysecond.core.invoice import Customer, Invoice, build_invoice
from bysecond.core.period import BillingPeriod

ORG = "org-acme"
_ids = itertools.count(1)


def at(text: str) -> datetime:
    """`at("2026-10-03 12:00")` or with seconds, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def event(kind: str, when: str, org: str = ORG, event_id: str | None = None, **data: Any) -> Event:
    time = when if "T" in when else when.replace(" ", "T") + "Z"
    return parse_event(
        {
            "specversion": "1.0",
            "id": event_id or f"e-{next(_ids)}",
            "source": "//platform/test",
            "type": kind,
            "time": time,
            "subject": org,
            "data": data,
        }
    )


def started(
    when: str,
    instance: str = "i-1",
    app: str = "app-shop",
    flavor: str = "M",
    role: str = "run",
    **extra: Any,
) -> Event:
    return event(
        "instance.started",
        when,
        instance_id=instance,
        application_id=app,
        flavor=flavor,
        role=role,
        **extra,
    )


def stopped(when: str, instance: str = "i-1", **extra: Any) -> Event:
    return event("instance.stopped", when, instance_id=instance, **extra)


def provisioned(
    when: str, addon: str = "pg-1", provider: str = "postgresql", plan: str = "s", **extra: Any
) -> Event:
    return event("addon.provisioned", when, addon_id=addon, provider=provider, plan=plan, **extra)


def plan_changed(when: str, addon: str = "pg-1", plan: str = "m", **extra: Any) -> Event:
    return event("addon.plan_changed", when, addon_id=addon, plan=plan, **extra)


def deleted(when: str, addon: str = "pg-1", **extra: Any) -> Event:
    return event("addon.deleted", when, addon_id=addon, **extra)


def task(
    when: str, task_id: str = "t-1", description: str = "Database migration", **pricing: Any
) -> Event:
    return event("task.performed", when, task_id=task_id, description=description, **pricing)


def promotional(
    amount: str,
    granted: str = "2026-09-01 00:00",
    expires: str | None = None,
    grant_id: str = "welcome",
    priority: int = 0,
) -> Grant:
    return Grant(
        grant_id,
        "promotional",
        Decimal(amount),
        "EUR",
        at(granted),
        at(expires) if expires else None,
        priority,
    )


def prepaid(
    amount: str, granted: str = "2026-09-01 00:00", grant_id: str = "prepaid-1", priority: int = 0
) -> Grant:
    return Grant(grant_id, "prepaid", Decimal(amount), "EUR", at(granted), None, priority)


def full(*grants: Grant) -> list[GrantBalance]:
    """Grants that nothing has drawn on yet."""
    return [GrantBalance(g, g.amount) for g in grants]


OCTOBER = BillingPeriod(2026, 10)


def invoice_for(
    events: Iterable[Event],
    period: BillingPeriod = OCTOBER,
    grants: Iterable[GrantBalance] = (),
    customer: Customer | None = None,
    catalog: Catalog | None = None,
    **options: Any,
) -> Invoice:
    return build_invoice(
        customer or Customer(ORG),
        period,
        list(events),
        catalog or default_catalog(),
        list(grants),
        **options,
    )


def line(invoice: Invoice, resource_id: str) -> dict[str, Any]:
    for candidate in invoice.document()["lines"]:
        if candidate["resource_id"] == resource_id:
            return candidate  # type: ignore[no-any-return]
    raise AssertionError(f"no line for {resource_id}")
