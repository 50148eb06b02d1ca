"""A month after a finalised one: billed from columns unless usage came late (R14).

A platform is billed month after month, so nearly every organisation has finalised
invoices before the period billed. Only those whose earlier periods received usage after
their invoice was issued need the core (it rates those periods again and writes the
adjustment lines); the others are billed from columns as in their first month. Events
are ingested here with a clock, as the platform would send them: September's before
September is issued, October's (and one late September event) after.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text, update

from bysecond.batch.run import rate_shard
from bysecond.core.catalog import Price
from bysecond.generator.month import OrganizationPlan, generate_month
from bysecond.services.billing import (
    LATE_MARGIN,
    BillingContext,
    bill_period,
    organizations_with_late_usage,
)
from bysecond.services.contexts import billing_context
from bysecond.services.credits import grant_credit
from bysecond.services.ingest import ingest
from bysecond.services.profiles import update_profile
from bysecond.settings import Settings
from bysecond.store.database import Database, open_database
from bysecond.store.immutability import ImmutableRecordError
from bysecond.store.prices import add_price
from bysecond.store.schema import Invoice

from .test_batch_billing import event, invoices, start, stop

ORGANIZATIONS = ["org-on-a", "org-on-b", "org-on-c", "org-on-d", "org-on-e"]
SEPTEMBER_ISSUED = datetime(2026, 10, 1, 9, tzinfo=UTC)
OCTOBER_ISSUED = datetime(2026, 11, 2, 9, tzinfo=UTC)


def numbered(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [{**e, "id": f"{prefix}-{n}"} for n, e in enumerate(events, 1)]


def september() -> list[dict[str, Any]]:
    return [
        # A named application, an add-on, a run still going when September ends.
        start("org-on-a", "2026-09-10T00:00:00Z", "a-1", application_name="Shop"),
        stop("org-on-a", "2026-09-11T00:00:00Z", "a-1"),
        start("org-on-a", "2026-09-29T12:00:00Z", "a-2", "L"),
        event(
            "addon.provisioned",
            "org-on-a",
            "2026-09-15T00:00:00Z",
            addon_id="a-pg",
            provider="postgresql",
            plan="s",
            name="Main database",
        ),
        start("org-on-b", "2026-09-05T00:00:00Z", "b-1"),
        stop("org-on-b", "2026-09-06T00:00:00Z", "b-1"),
        start("org-on-c", "2026-09-20T00:00:00Z", "c-1", "S"),  # runs on all October
        start("org-on-d", "2026-09-12T00:00:00Z", "d-1", "XS"),
        stop("org-on-d", "2026-09-12T10:00:00Z", "d-1"),
        start("org-on-e", "2026-09-02T00:00:00Z", "e-1"),
        stop("org-on-e", "2026-09-02T03:00:00Z", "e-1"),
    ]


def october() -> list[dict[str, Any]]:
    return [
        stop("org-on-a", "2026-10-03T08:00:00Z", "a-2"),
        start("org-on-a", "2026-10-05T00:00:00Z", "a-3"),
        stop("org-on-a", "2026-10-05T06:00:00.5Z", "a-3"),
        event("addon.plan_changed", "org-on-a", "2026-10-10T00:00:00Z", addon_id="a-pg", plan="m"),
        start("org-on-b", "2026-10-07T00:00:00Z", "b-2"),
        stop("org-on-b", "2026-10-08T00:00:00Z", "b-2"),
        # R14: September usage of org-on-b, received after September was issued.
        start("org-on-b", "2026-09-20T00:00:00Z", "b-3", "L"),
        stop("org-on-b", "2026-09-21T00:00:00Z", "b-3"),
        # Received after September was issued too, but org-on-d bills in Paris, where
        # this instant is already 1 October: October usage, not late September usage.
        start("org-on-d", "2026-09-30T22:30:00Z", "d-2", "XS"),
        stop("org-on-d", "2026-10-01T02:00:00Z", "d-2"),
        # The same instant in UTC is September's: org-on-e has late usage.
        event(
            "task.performed",
            "org-on-e",
            "2026-09-30T22:30:00Z",
            task_id="e-t",
            description="Restore",
            amount="30.00",
        ),
        start("org-on-e", "2026-10-02T00:00:00Z", "e-2"),
        stop("org-on-e", "2026-10-02T05:00:00Z", "e-2"),
    ]


def audit_task() -> dict[str, Any]:
    """September work for org-on-c, sent when a test needs it (late, or nearly)."""
    return event(
        "task.performed",
        "org-on-c",
        "2026-09-25T00:00:00Z",
        task_id="c-t",
        description="Audit",
        amount="10.00",
    )


def received(database: Database, events: list[dict[str, Any]], at: datetime) -> None:
    for _ in ingest(database, events, clock=lambda: at):
        pass


def context(database: Database, at: datetime) -> BillingContext:
    with database.unit_of_work(read_only=True) as uow:
        return billing_context(uow.session, Settings().seller, at)


def two_months(url: str, engine: str) -> None:
    """September received and issued, then October's events and the late ones."""
    database = open_database(url)
    try:
        received(database, numbered(september(), "sep"), datetime(2026, 10, 1, 0, 30, tzinfo=UTC))
        with database.unit_of_work() as uow:
            update_profile(uow.session, "org-on-d", {"time_zone": "Europe/Paris"}, operator=True)
            uow.commit()
        september_context = context(database, SEPTEMBER_ISSUED)
        report = bill_period(database, september_context, "2026-09", issue=True, engine=engine)  # type: ignore[arg-type]
        assert report.count("finalized") == len(ORGANIZATIONS)
        received(database, numbered(october(), "oct"), datetime(2026, 11, 1, 1, tzinfo=UTC))
    finally:
        database.close()


@pytest.fixture
def stores(database_url: str, tmp_path: Any) -> Iterator[tuple[str, str]]:
    reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    two_months(database_url, "columnar")
    two_months(reference, "reference")
    yield database_url, reference


def test_R14_only_organisations_with_late_usage_leave_the_columns(
    stores: tuple[str, str],
) -> None:
    columnar, _ = stores
    database = open_database(columnar)
    try:
        with database.unit_of_work(read_only=True) as uow:
            late = organizations_with_late_usage(uow.connection, ORGANIZATIONS, "2026-10")
            # September's own run sees no earlier period.
            first = organizations_with_late_usage(uow.connection, ORGANIZATIONS, "2026-09")
        assert late == {"org-on-b", "org-on-e"}
        assert first == set()
        rated = rate_shard(database, context(database, OCTOBER_ISSUED), "2026-10", ORGANIZATIONS)
        assert rated.reference == {"org-on-b", "org-on-e"}
        # Every invoice is computed in the worker; the core's carry no inputs hash.
        assert set(rated.invoices) == set(ORGANIZATIONS)
        from_columns = {org for org, r in rated.invoices.items() if r.inputs_hash is not None}
        assert from_columns == {"org-on-a", "org-on-c", "org-on-d"}
    finally:
        database.close()


def test_R14_the_late_margin_counts_usage_received_just_before_the_issue(
    stores: tuple[str, str],
) -> None:
    """Usage received less than LATE_MARGIN before an issue may have been committed
    after the issuing transaction read the events: it is looked at again."""
    columnar, _ = stores
    database = open_database(columnar)
    try:
        just_before = SEPTEMBER_ISSUED - LATE_MARGIN / 2
        task = audit_task()
        received(database, numbered([task], "margin"), just_before)
        with database.unit_of_work(read_only=True) as uow:
            late = organizations_with_late_usage(uow.connection, ORGANIZATIONS, "2026-10")
        assert late == {"org-on-b", "org-on-c", "org-on-e"}
    finally:
        database.close()


def test_R14_a_later_month_is_billed_from_columns_as_the_core_bills_it(
    stores: tuple[str, str],
) -> None:
    columnar, reference = stores

    def bill(issue: bool) -> dict[str, Any]:
        for url, engine in ((columnar, "columnar"), (reference, "reference")):
            database = open_database(url)
            try:
                given = context(database, OCTOBER_ISSUED)
                bill_period(database, given, "2026-10", issue=issue, engine=engine)  # type: ignore[arg-type]
            finally:
                database.close()
        billed = invoices(columnar)
        assert billed == invoices(reference)
        return billed

    drafts = bill(issue=False)
    assert {row[0] for key, row in drafts.items() if key.endswith("2026-10")} == {"draft"}
    issued = bill(issue=True)
    assert {row[0] for key, row in issued.items() if key != "ledger"} == {"finalized"}
    documents = {key: orjson.loads(row[3]) for key, row in issued.items() if key != "ledger"}
    adjusted = {
        key
        for key, document in documents.items()
        if any(line["kind"] == "adjustment" for line in document["lines"])
    }
    assert adjusted == {"org-on-b 2026-10", "org-on-e 2026-10"}
    october_a = documents["org-on-a 2026-10"]
    # What carried over from September: the run, the add-on's provider and name.
    descriptions = {line["resource_id"]: line["description"] for line in october_a["lines"]}
    assert "Shop" in descriptions["app-org-on-a"]
    assert "Main database" in descriptions["a-pg"]
    assert "postgresql.s" in descriptions["a-pg"]  # the plan of September, until 10 October


def test_R1_each_invoice_keeps_its_documents_period_bounds_frozen_once_issued(
    stores: tuple[str, str],
) -> None:
    for url in stores:
        database = open_database(url)
        try:
            with database.unit_of_work(read_only=True) as uow:
                rows = uow.session.scalars(select(Invoice)).all()
                for row in rows:
                    period = orjson.loads(row.document)["period"]
                    assert row.period_start == datetime.fromisoformat(period["start"])
                    assert row.period_end == datetime.fromisoformat(period["end"])
                paris = next(
                    r for r in rows if r.organization_id == "org-on-d" and r.period == "2026-09"
                )
                assert paris.period_end == datetime(2026, 9, 30, 22, tzinfo=UTC)
            with database.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
                uow.session.execute(
                    update(Invoice)
                    .where(Invoice.id == paris.id)
                    .values(period_end=datetime(2026, 10, 1, tzinfo=UTC))
                )
            with database.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
                statement = "UPDATE invoices SET period_start = NULL WHERE id = :id"
                uow.session.execute(text(statement), {"id": paris.id})
        finally:
            database.close()


NOVEMBER_ISSUED = datetime(2026, 12, 1, 9, tzinfo=UTC)
SEP = datetime(2026, 9, 1, tzinfo=UTC)


def bill_both(stores: tuple[str, str], period: str, at: datetime) -> dict[str, Any]:
    """Issue `period` on the columnar store and on the reference one: the same rows."""
    columnar, reference = stores
    for url, engine in ((columnar, "columnar"), (reference, "reference")):
        database = open_database(url)
        try:
            bill_period(database, context(database, at), period, issue=True, engine=engine)  # type: ignore[arg-type]
        finally:
            database.close()
    issued = invoices(columnar)
    assert issued == invoices(reference)
    return issued


def test_R13_an_issued_period_is_not_computed_again_and_stays_as_issued(
    stores: tuple[str, str],
) -> None:
    """R13: an issued invoice is never computed again, by the columns or by the core (whose
    invoices the workers compute otherwise): issuing again answers `already_final` for
    everyone and changes nothing."""
    issued = bill_both(stores, "2026-10", OCTOBER_ISSUED)
    database = open_database(stores[0])
    try:
        later = context(database, OCTOBER_ISSUED + timedelta(days=1))
        rated = rate_shard(database, later, "2026-10", ORGANIZATIONS)
        assert rated.reference == {"org-on-b", "org-on-e"}
        assert rated.invoices == {}
        report = bill_period(database, later, "2026-10", issue=True)
        assert report.count("already_final") == len(ORGANIZATIONS)
    finally:
        database.close()
    assert invoices(stores[0]) == issued


def adjustments(issued: dict[str, Any], key: str) -> list[tuple[str, str, str]]:
    document = orjson.loads(issued[key][3])
    return [
        (line["resource_id"], line["corrects_period"], line["amount"])
        for line in document["lines"]
        if line["kind"] == "adjustment"
    ]


def test_R14_late_usage_adjusted_once_leaves_the_organisation_to_the_columns_again(
    stores: tuple[str, str],
) -> None:
    """October's invoices adjust September's late usage; November rates September again
    only for usage received after October was issued."""
    columnar = stores[0]
    october = bill_both(stores, "2026-10", OCTOBER_ISSUED)
    assert adjustments(october, "org-on-b 2026-10") == [("app-org-on-b", "2026-09", "4.80")]
    november = [
        start("org-on-b", "2026-11-03T00:00:00Z", "b-4"),
        stop("org-on-b", "2026-11-03T02:00:00Z", "b-4"),
        start("org-on-e", "2026-11-03T00:00:00Z", "e-3"),
        stop("org-on-e", "2026-11-03T02:00:00Z", "e-3"),
    ]
    # One more hour of September for org-on-b, received after October was issued.
    later = [
        start("org-on-b", "2026-09-25T00:00:00Z", "b-5"),
        stop("org-on-b", "2026-09-25T01:00:00Z", "b-5"),
    ]
    for url in stores:
        database = open_database(url)
        try:
            received(database, numbered(november, "nov"), datetime(2026, 11, 30, tzinfo=UTC))
            with database.unit_of_work(read_only=True) as uow:
                late = organizations_with_late_usage(uow.connection, ORGANIZATIONS, "2026-11")
            assert late == set()  # org-on-b and org-on-e: adjusted in October
            with database.unit_of_work() as uow:  # a price set for past months as well
                add_price(uow.connection, Price("instance.M", Decimal("0.12"), "EUR", "hour", SEP))
                uow.commit()
            received(database, numbered(later, "later"), datetime(2026, 11, 30, 12, tzinfo=UTC))
            with database.unit_of_work(read_only=True) as uow:
                late = organizations_with_late_usage(uow.connection, ORGANIZATIONS, "2026-11")
            assert late == {"org-on-b"}
        finally:
            database.close()
    database = open_database(columnar)
    try:
        rated = rate_shard(database, context(database, NOVEMBER_ISSUED), "2026-11", ORGANIZATIONS)
    finally:
        database.close()
    assert rated.reference == {"org-on-b"}
    assert "org-on-e" in rated.invoices
    issued = bill_both(stores, "2026-11", NOVEMBER_ISSUED)
    # September rated again for org-on-b only, with what is known now: the hour received
    # since October's issue and the new price of M (0.12 an hour from 1 September) on 24
    # + 1 hours of M; its 24 hours of L were adjusted in October. org-on-e is not rated
    # again: a price changed afterwards is not late usage.
    assert adjustments(issued, "org-on-b 2026-11") == [("app-org-on-b", "2026-09", "0.60")]
    assert adjustments(issued, "org-on-e 2026-11") == []


# Three generated months, billed one after the other as a platform bills them: each
# month's events arrive before it is issued, its late events (R14) after.
MONTHS = (
    ("2026-09", 11, datetime(2026, 10, 1, 0, 30, tzinfo=UTC), SEPTEMBER_ISSUED),
    ("2026-10", 7, datetime(2026, 11, 1, 0, 30, tzinfo=UTC), OCTOBER_ISSUED),
    ("2026-11", 13, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), NOVEMBER_ISSUED),
)


def generated_months() -> tuple[list[list[OrganizationPlan]], list[list[dict[str, Any]]]]:
    """Each month's organisations, and the events the platform sends during each month:
    a generated month also holds the events before it that its runs and add-ons
    started with, sent in the month they happened (before the first month: with it).
    Each month's events, instances and add-ons get ids of their own: the generator
    numbers them from 1 every month."""
    plans = [list(generate_month(40, month, seed)) for month, seed, _, _ in MONTHS]
    sent: list[list[dict[str, Any]]] = [[] for _ in MONTHS]
    for (month, _, _, _), organizations in zip(MONTHS, plans, strict=True):
        for plan in organizations:
            for generated in plan.events:
                data = {
                    key: f"{month}-{value}" if key in ("instance_id", "addon_id") else value
                    for key, value in generated["data"].items()
                }
                own = {**generated, "id": f"{month}-{generated['id']}", "data": data}
                when = max(n for n, m in enumerate(MONTHS) if n == 0 or m[0] <= generated["time"])
                sent[when].append(own)
    return plans, sent


def test_R14_generated_months_billed_one_after_another_give_the_cores_invoices(
    database_url: str, tmp_path: Any
) -> None:
    stores = (database_url, f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    plans, sent = generated_months()
    late: list[dict[str, Any]] = []  # the previous month's, received after its issue
    late_subjects: set[str] = set()
    for n, (month, _, received_at, issued_at) in enumerate(MONTHS):
        for url in stores:
            database = open_database(url)
            try:
                received(database, sent[n] + late, received_at)
                if n == 0:  # each customer's profile and credits, once
                    with database.unit_of_work() as uow:
                        for plan in plans[0]:
                            changes = {"time_zone": plan.time_zone, "country": plan.country}
                            update_profile(uow.session, plan.id, changes, operator=True)
                            for grant in plan.grants:
                                grant_credit(
                                    uow.session,
                                    plan.id,
                                    grant.amount,
                                    grant.kind,
                                    granted_at=grant.granted_at,
                                    expires_at=grant.expires_at,
                                )
                        uow.commit()
            finally:
                database.close()
        database = open_database(stores[0])
        try:
            ids = sorted(plan.id for plan in plans[n])
            rated = rate_shard(database, context(database, issued_at), month, ids)
            with database.unit_of_work(read_only=True) as uow:
                named = organizations_with_late_usage(uow.connection, ids, month)
        finally:
            database.close()
        # Late usage is the previous month's late tasks only: an organisation adjusted
        # a month ago is not named again. The core bills those, and the organisations
        # with anomalies or promotional credit expiring inside the month (R10); the
        # columns bill the others.
        assert named == late_subjects
        assert late_subjects <= rated.reference
        from_columns = [r for r in rated.invoices.values() if r.inputs_hash is not None]
        assert len(from_columns) >= 35
        if n > 0:  # credit that expired in an earlier month leaves nothing to split
            assert rated.reference == late_subjects
        issued = bill_both(stores, month, issued_at)
        adjusted = {
            key.split()[0]
            for key, row in issued.items()
            if key.endswith(month) and adjustments(issued, key)
        }
        # R14: exactly the organisations with usage received since their last issue.
        assert adjusted == late_subjects
        late = [{**e, "id": f"{month}-late-{e['id']}"} for p in plans[n] for e in p.late_events]
        late_subjects = {e["subject"] for e in late}
        assert late_subjects  # the generator's late tasks
    assert len([key for key in issued if key.endswith("2026-11")]) == 40
