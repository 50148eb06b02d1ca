"""Billing runs on SQLite and PostgreSQL: drafts, gapless finalisation, credits, late usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from bysecond.core.invoice import Seller
from bysecond.services.billing import BillingContext, bill_period
from bysecond.services.credits import (
    CreditError,
    WelcomeCredit,
    credit_statement,
    grant_credit,
)
from bysecond.services.ingest import ingest_batch
from bysecond.store.database import Database
from bysecond.store.immutability import ImmutableRecordError
from bysecond.store.prices import load_catalog
from bysecond.store.schema import Invoice, InvoiceBody, LedgerEntry, Organization
from tests.integration.ingest_builders import clock, event, m_instance_and_task

ISSUED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def context(database: Database, as_of: datetime = ISSUED) -> BillingContext:
    with database.unit_of_work(read_only=True) as uow:
        catalog = load_catalog(uow.connection)
    return BillingContext(catalog, Seller(name="Demo Cloud SAS", country="FR"), as_of)


def store(database: Database, *events: dict[str, Any]) -> None:
    report = ingest_batch(database, list(events), clock=clock)
    assert report.rejected == 0, report.notes


def month_of_usage(database: Database, org: str = "org-acme", n: int = 0) -> None:
    store(database, *m_instance_and_task(org, n))


def documents(database: Database) -> dict[str, dict[str, Any]]:
    with database.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(select(Invoice)).all()
        return {row.organization_id: orjson.loads(row.document) for row in rows}


def test_R13_a_draft_run_stores_unnumbered_drafts(database: Database) -> None:
    month_of_usage(database)
    report = bill_period(database, context(database), "2026-10", issue=False)
    assert [(r.organization_id, r.outcome) for r in report.results] == [("org-acme", "draft")]
    document = documents(database)["org-acme"]
    assert (document["status"], document["number"]) == ("draft", None)
    assert document["subtotal"] == "124.40"  # 74.40 + 50.00


def test_R13_finalising_numbers_invoices_gaplessly_and_only_once(database: Database) -> None:
    for n, org in enumerate(["org-a", "org-b", "org-c"]):
        month_of_usage(database, org, n)
    first = bill_period(database, context(database), "2026-10", issue=True)
    assert [(r.organization_id, r.number) for r in first.results] == [
        ("org-a", "2026-000001"),
        ("org-b", "2026-000002"),
        ("org-c", "2026-000003"),
    ]
    again = bill_period(database, context(database), "2026-10", issue=True)
    assert {r.outcome for r in again.results} == {"already_final"}
    issued = documents(database)["org-b"]
    assert (issued["status"], issued["issued_at"]) == ("finalized", "2026-11-01T06:00:00Z")


def test_R13_a_finalised_invoice_refuses_to_change(database: Database) -> None:
    month_of_usage(database)
    bill_period(database, context(database), "2026-10", issue=True)
    with pytest.raises(ImmutableRecordError), database.unit_of_work() as uow:
        uow.session.execute(update(Invoice).values(head=b"{"))
        uow.commit()
    with pytest.raises(ImmutableRecordError), database.unit_of_work() as uow:
        uow.session.execute(update(InvoiceBody).values(rest=b"}"))
        uow.commit()


def test_R1_an_organisation_west_of_utc_is_not_finalised_before_its_month_ends(
    database: Database,
) -> None:
    month_of_usage(database)
    with database.unit_of_work() as uow:
        uow.session.execute(update(Organization).values(time_zone="America/Los_Angeles"))
        uow.commit()
    # 06:00 UTC on November 1st is still October 31st, 23:00 in Los Angeles.
    early = bill_period(database, context(database), "2026-10", issue=True)
    assert early.results[0].outcome == "refused"
    assert "America/Los_Angeles" in early.results[0].reason
    later = bill_period(
        database, context(database, datetime(2026, 11, 1, 9, tzinfo=UTC)), "2026-10", issue=True
    )
    assert later.results[0].number == "2026-000001"


def test_R5_usage_without_price_is_not_finalised_and_named_in_the_report(
    database: Database,
) -> None:
    store(
        database,
        event(
            1,
            time="2026-10-02T00:00:00Z",
            instance_id="i-9",
            application_id="app",
            flavor="9XL",
            role="run",
        ),
    )
    month_of_usage(database, "org-other")
    report = bill_period(database, context(database), "2026-10", issue=True)
    outcomes = {r.organization_id: r for r in report.results}
    assert outcomes["org-acme"].outcome == "refused"
    assert "instance.9XL" in outcomes["org-acme"].reason
    assert outcomes["org-other"].number == "2026-000001"  # no number lost to the refusal


def test_R10_credits_are_drawn_once_and_recorded_in_the_ledger(database: Database) -> None:
    month_of_usage(database)
    with database.unit_of_work() as uow:
        grant_credit(
            uow.session,
            "org-acme",
            "20",
            "promotional",
            granted_at=datetime(2026, 9, 1, tzinfo=UTC),
            grant_id="welcome",
        )
        grant_credit(
            uow.session,
            "org-acme",
            "500",
            "prepaid",
            granted_at=datetime(2026, 9, 1, tzinfo=UTC),
            grant_id="bought",
        )
        uow.commit()
    bill_period(database, context(database), "2026-10", issue=True)
    document = documents(database)["org-acme"]
    assert document["promotional_credits_applied"] == "20.00"
    assert document["prepaid_credits_applied"] == document["total"] == "125.28"
    with database.unit_of_work(read_only=True) as uow:
        statement = credit_statement(uow.session, "org-acme", ISSUED, Decimal(0))
        entries = uow.session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
    assert entries == ["granted", "granted", "applied", "applied"]
    lines = {g.grant.id: g for g in statement.grants}
    assert lines["welcome"].paid == [("2026-000001", "2026-10", Decimal("20.00"))]
    assert lines["bought"].remaining == Decimal("374.72")
    # Invariant 4, per grant: granted = applied + expired + remaining.
    for line in statement.grants:
        assert line.grant.amount == line.applied + line.expired + line.remaining


def test_R10_grants_refuse_bad_amounts_and_unknown_kinds(database: Database) -> None:
    month_of_usage(database)
    with database.unit_of_work() as uow:
        for amount, kind in (("0", "promotional"), ("1.005", "prepaid"), ("5", "gift")):
            with pytest.raises(CreditError):
                grant_credit(uow.session, "org-acme", amount, kind, granted_at=ISSUED)


def test_R14_late_usage_leaves_the_invoice_and_adjusts_the_next_one(database: Database) -> None:
    month_of_usage(database)
    bill_period(database, context(database), "2026-10", issue=True)
    before = documents(database)["org-acme"]
    # A task of October reaches the platform after October was invoiced.
    store(
        database,
        event(
            "late",
            "task.performed",
            time="2026-10-20T10:00:00Z",
            task_id="t-late",
            description="Restore",
            amount="80.00",
        ),
    )
    november = bill_period(
        database, context(database, datetime(2026, 12, 1, 6, tzinfo=UTC)), "2026-11", issue=True
    )
    assert november.results[0].number == "2026-000002"
    with database.unit_of_work(read_only=True) as uow:
        rows = {r.period: orjson.loads(r.document) for r in uow.session.scalars(select(Invoice))}
    assert rows["2026-10"] == before  # R13/R14: untouched
    adjustments = [ln for ln in rows["2026-11"]["lines"] if ln["kind"] == "adjustment"]
    assert [(a["resource_id"], a["amount"], a["corrects_period"]) for a in adjustments] == [
        ("t-late", "80.00", "2026-10")
    ]
    # Billing December finds nothing more to adjust: the correction was invoiced once.
    december = bill_period(
        database, context(database, datetime(2027, 1, 1, 6, tzinfo=UTC)), "2026-12", issue=False
    )
    with database.unit_of_work(read_only=True) as uow:
        row = uow.session.scalar(select(Invoice).where(Invoice.period == "2026-12"))
    assert row is not None and december.results[0].outcome == "draft"
    lines = orjson.loads(row.document)["lines"]
    assert [ln["kind"] for ln in lines] == ["application"]


def test_R10_a_new_organisation_receives_the_welcome_credit_dated_by_its_first_event(
    database: Database,
) -> None:
    welcome = WelcomeCredit(Decimal("20.00"), timedelta(days=365))
    first = [
        event(1, time="2026-10-03T12:00:00Z"),
        event(2, "instance.stopped", time="2026-10-03T13:00:00Z"),
    ]
    later = [
        event(
            3,
            time="2026-10-31T20:00:00Z",
            instance_id="i-2",
            application_id="app-shop",
            flavor="M",
            role="run",
        )
    ]
    for batch in (first, later):
        assert ingest_batch(database, batch, clock=clock, welcome=welcome).rejected == 0
    with database.unit_of_work(read_only=True) as uow:
        statement = credit_statement(uow.session, "org-acme", ISSUED, Decimal(0))
    (grant,) = statement.grants  # once, however many events follow
    assert (grant.grant.id, grant.grant.kind, grant.grant.amount) == (
        "welcome-org-acme",
        "promotional",
        Decimal("20.00"),
    )
    assert grant.grant.granted_at == datetime(2026, 10, 3, 12, tzinfo=UTC)
    assert grant.grant.expires_at == datetime(2027, 10, 3, 12, tzinfo=UTC)
    bill_period(database, context(database), "2026-10", issue=True)
    # 1 h + 4 h of flavor M = 0.50 EUR, paid by the welcome credit (R10).
    assert documents(database)["org-acme"]["promotional_credits_applied"] == "0.50"


def test_R10_no_welcome_credit_when_none_is_configured(database: Database) -> None:
    ingest_batch(database, [event(1)], clock=clock, welcome=None)
    with database.unit_of_work(read_only=True) as uow:
        assert credit_statement(uow.session, "org-acme", ISSUED, Decimal(0)).grants == []
