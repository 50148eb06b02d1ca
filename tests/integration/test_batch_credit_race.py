"""Invariant 4 against a run that issues while another spends the same credit.

A worker computes an invoice's credit lines from the balances it read; the writing
process issues it later. If another run issued one of the organisation's invoices in
between, those balances are spent already: the invoice must be computed again from what
is left, never apply the same credit twice.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bysecond.batch.run import rate_shard
from bysecond.batch.write import write_shard
from bysecond.services.billing import (
    OrganizationResult,
    bill_organization,
    bill_period,
    lock_ledgers,
)
from bysecond.services.credits import grant_credit
from bysecond.services.ingest import ingest_batch
from bysecond.store.database import Database, open_database
from bysecond.store.schema import CreditGrant, LedgerEntry

from .conftest import PostgreSQLServer
from .test_batch_billing import event, start, stop
from .test_batch_later_months import context, numbered, received

ORG = "org-spends"
ISSUED = datetime(2026, 11, 2, 9, tzinfo=UTC)


def two_months_and_a_grant(database: Database) -> None:
    """24 hours of M in September and in October (2.40 EUR each at 0.10 an hour), and a
    prepaid grant of 2.00 EUR that can pay for one of them only."""
    usage = [
        start(ORG, "2026-09-10T00:00:00Z", "s-1"),
        stop(ORG, "2026-09-11T00:00:00Z", "s-1"),
        start(ORG, "2026-10-10T00:00:00Z", "o-1"),
        stop(ORG, "2026-10-11T00:00:00Z", "o-1"),
    ]
    received(database, numbered(usage, "race"), datetime(2026, 10, 20, tzinfo=UTC))
    with database.unit_of_work() as uow:
        grant_credit(
            uow.session,
            ORG,
            "2.00",
            "prepaid",
            granted_at=datetime(2026, 9, 1, tzinfo=UTC),
            grant_id="grant-race",
        )
        uow.commit()


def spent(database: Database) -> Decimal:
    """What the grant's ledger says was applied or let expire."""
    with database.unit_of_work(read_only=True) as uow:
        total = uow.connection.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.kind.in_(("applied", "expired")))
        )
    return Decimal(total or 0)


def test_invariant_4_an_issue_racing_another_never_applies_the_same_credit_twice(
    database_url: str,
) -> None:
    database = open_database(database_url)
    try:
        two_months_and_a_grant(database)
        at = context(database, ISSUED)
        # A worker rates October while 2.00 EUR of credit is left...
        rated = rate_shard(database, at, "2026-10", [ORG])
        assert rated.invoices[ORG].amounts.credits[0].applied == Decimal("2.00")
        # ...another run issues September meanwhile, and spends it all...
        september = bill_period(database, at, "2026-09", issue=True, engine="reference")
        assert september.count("finalized") == 1
        # ...then the writer issues October: computed again, with nothing left to apply.
        results = write_shard(
            database, at, "2026-10", [ORG], rated.invoices, True, rated.ledger_counts
        )
        assert [r.outcome for r in results] == ["finalized"]
        with database.unit_of_work(read_only=True) as uow:
            connection = uow.connection
            granted = connection.scalar(select(CreditGrant.amount))
            entries = connection.execute(
                select(LedgerEntry.kind, LedgerEntry.amount).order_by(LedgerEntry.id)
            ).all()
        assert granted == Decimal("2.00")
        assert spent(database) == Decimal("2.00")  # applied once, by September
        assert [(kind, amount) for kind, amount in entries] == [
            ("granted", Decimal("2.00")),
            ("applied", Decimal("2.00")),
        ]
        assert results[0].credits_used == 0  # October pays in full
        assert results[0].amount_due == results[0].total
    finally:
        database.close()


def test_invariant_4_two_issues_of_one_organisation_at_once_spend_the_credit_once(
    database_url: str,
) -> None:
    """The reference engine (and the API's billing runs): while one transaction issues an
    invoice that spends a grant, another issue of the same organisation waits for it,
    then reads what is left."""
    database = open_database(database_url)
    try:
        two_months_and_a_grant(database)
        at = context(database, ISSUED)
        second: list[OrganizationResult] = []

        def issue_october() -> None:
            with database.unit_of_work() as uow:
                second.append(bill_organization(uow.session, at, ORG, "2026-10", issue=True))
                uow.commit()

        with database.unit_of_work() as uow:
            first = bill_organization(uow.session, at, ORG, "2026-09", issue=True)
            assert first.credits_used == Decimal("2.00")
            other = threading.Thread(target=issue_october)
            other.start()
            other.join(timeout=1.0)
            assert other.is_alive()  # waiting for this transaction, not reading past it
            uow.commit()
        other.join(timeout=30)
        assert not other.is_alive()
        assert [r.outcome for r in second] == ["finalized"]
        assert second[0].credits_used == 0
        assert spent(database) == Decimal("2.00")
    finally:
        database.close()


@pytest.mark.postgres
def test_the_issue_lock_leaves_ingestion_free(postgresql_server: PostgreSQLServer) -> None:
    """While a run holds an organisation's issue lock (PostgreSQL), its usage is still
    ingested: registering its applications and add-ons checks their foreign key to the
    organisation (KEY SHARE), which `FOR NO KEY UPDATE` does not block."""
    database = open_database(postgresql_server.create_database())
    try:
        received(
            database,
            [{**start(ORG, "2026-10-10T00:00:00Z", "o-1"), "id": "first"}],
            datetime(2026, 10, 20, tzinfo=UTC),
        )
        more = [
            {**start(ORG, "2026-10-12T00:00:00Z", "o-2"), "id": "second"},
            {
                **event(
                    "addon.provisioned",
                    ORG,
                    "2026-10-12T00:00:00Z",
                    addon_id="db-1",
                    provider="postgresql",
                    plan="s",
                ),
                "id": "third",
            },
        ]
        done: list[int] = []

        def ingest_more() -> None:
            report = ingest_batch(database, more, clock=lambda: datetime(2026, 10, 20, tzinfo=UTC))
            done.append(report.accepted)

        with database.unit_of_work() as uow:
            lock_ledgers(uow.connection, [ORG])
            other = threading.Thread(target=ingest_more)
            other.start()
            other.join(timeout=10)
            finished_under_lock = not other.is_alive()
        other.join(timeout=30)
        assert finished_under_lock
        assert done == [2]
    finally:
        database.close()
