"""A draft whose inputs have not changed is issued as it stands (R13, R16).

The batch path stores each draft with the hash of what it was computed from
(batch/inputs.py). These tests change one input of one organisation at a time between
the drafts and the finalisation, and require that exactly those organisations are
computed again, and that the issued invoices are byte for byte those of a store where
every invoice is computed afresh by the reference engine.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bysecond.batch.inputs import run_fingerprint
from bysecond.batch.run import rate_shard
from bysecond.core.catalog import Price
from bysecond.core.invoice import Seller
from bysecond.services.billing import BillingContext, draft_invoice
from bysecond.services.contexts import billing_context
from bysecond.services.credits import grant_credit
from bysecond.services.invoice_record import InvoiceRecord
from bysecond.services.profiles import update_profile
from bysecond.settings import Settings
from bysecond.store.database import open_database
from bysecond.store.prices import add_price, load_catalog
from bysecond.store.schema import Invoice

from .cli_runner import run, run_json
from .test_batch_billing import event, invoices, start, stop, write

AT = "2026-11-20T09:00:00Z"
AT_OCTOBER = "2026-10-09T00:00:00Z"
AS_OF = datetime(2026, 11, 20, 9, tzinfo=UTC)
MONTH = [
    *(start(f"org-r{n}", "2026-10-02T10:00:00Z", f"r{n}-1", "S") for n in range(6)),
    *(stop(f"org-r{n}", f"2026-10-0{n + 3}T10:00:00.5Z", f"r{n}-1") for n in range(6)),
    start("org-r5", "2026-10-20T00:00:00Z", "r5-2", "XS"),  # still running at the end (R4)
]


def changes_after_the_drafts() -> list[dict[str, object]]:
    return [
        # Late usage inside the period: org-r0 must be computed again.
        event(
            "task.performed",
            "org-r0",
            "2026-10-30T12:00:00Z",
            task_id="t-1",
            description="Restore",
            amount="40.00",
        ),
        # Usage of the next month does not touch October's invoice of org-r1.
        start("org-r1", "2026-11-02T00:00:00Z", "r1-2"),
    ]


def prepare(url: str, tmp_path: Path) -> None:
    run("ingest", str(write(tmp_path / "month.jsonl", MONTH)), db=url)


def change(url: str, tmp_path: Path) -> None:
    """One input of one organisation at a time (org-r1's is outside the period)."""
    run("ingest", str(write(tmp_path / "after.jsonl", changes_after_the_drafts())), db=url)
    database = open_database(url)
    try:
        with database.unit_of_work() as uow:
            granted = datetime(2026, 11, 5, tzinfo=UTC)
            grant_credit(uow.session, "org-r2", "3.00", "prepaid", granted_at=granted)  # R10
            update_profile(uow.session, "org-r3", {"name": "Renamed SAS"}, operator=True)
            update_profile(uow.session, "org-r4", {"policy": "10-minute-slices"}, operator=True)
            uow.commit()
    finally:
        database.close()


def reused(url: str, context: BillingContext | None = None) -> dict[str, bool]:
    """Which organisations' invoices the batch path would take from their drafts."""
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            given = context or billing_context(uow.session, Settings().seller, AS_OF)
        organizations = [f"org-r{n}" for n in range(6)]
        rated = rate_shard(database, given, "2026-10", organizations)
        return {org: record.from_draft for org, record in rated.invoices.items()}
    finally:
        database.close()


def test_R16_only_drafts_whose_inputs_changed_are_computed_again_when_issued(
    database_url: str, tmp_path: Path
) -> None:
    reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    for url in (database_url, reference):
        prepare(url, tmp_path)
    every = [f"org-r{n}" for n in range(6)]
    assert reused(database_url) == dict.fromkeys(every, False)  # no draft yet
    run("bill", "--period", "2026-10", "--at", AT, "--shard-size", "4", db=database_url)
    assert reused(database_url) == dict.fromkeys(every, True)

    for url in (database_url, reference):
        change(url, tmp_path)
    assert reused(database_url) == {
        "org-r0": False,  # a late task
        "org-r1": True,  # only next month's usage
        "org-r2": False,  # a new prepaid grant
        "org-r3": False,  # a new name on the invoice
        "org-r4": False,  # a new policy (R6)
        "org-r5": True,
    }

    issue = ("bill", "--period", "2026-10", "--finalize", "--at", AT)
    report = run_json(*issue, "--shard-size", "4", "--workers", "2", db=database_url)
    assert report["from_unchanged_drafts"] == 2  # org-r1 and org-r5
    run(*issue, "--engine", "reference", db=reference)
    issued = invoices(database_url)
    assert issued == invoices(reference)
    assert [row[0] for key, row in issued.items() if key != "ledger"] == ["finalized"] * 6
    assert issued["ledger"]  # org-r2's grant paid its invoice (R10)


def test_R5_a_catalog_or_seller_change_leaves_no_draft_reusable(
    database_url: str, tmp_path: Path
) -> None:
    prepare(database_url, tmp_path)
    run("bill", "--period", "2026-10", "--at", AT, db=database_url)
    database = open_database(database_url)
    try:
        with database.unit_of_work() as uow:
            before = billing_context(uow.session, Settings().seller, AS_OF)
            add_price(
                uow.connection,
                Price(
                    "instance.XS",
                    Decimal("0.02"),
                    "EUR",
                    "hour",
                    datetime(2026, 10, 25, tzinfo=UTC),
                ),
            )
            uow.commit()
        with database.unit_of_work(read_only=True) as uow:
            after = BillingContext(load_catalog(uow.connection), before.seller, AS_OF)
    finally:
        database.close()
    assert set(reused(database_url, before).values()) == {True}
    assert set(reused(database_url, after).values()) == {False}
    other_seller = BillingContext(before.catalog, Seller(name="Another SAS"), AS_OF)
    assert set(reused(database_url, other_seller).values()) == {False}
    assert run_fingerprint(after.catalog, before.seller) != run_fingerprint(
        before.catalog, before.seller
    )


@pytest.mark.parametrize("engine", ["columnar", "reference"])
def test_R13_a_draft_read_back_is_the_record_its_invoice_gives(
    database_url: str, tmp_path: Path, engine: str
) -> None:
    """`InvoiceRecord.of_draft` of every stored draft equals `InvoiceRecord.of` the
    invoice the core computes now: amounts, credits drawn, unpriced usage, document."""
    prepare(database_url, tmp_path)
    run(
        "ingest",
        str(write(tmp_path / "gpu.jsonl", [start("org-r2", AT_OCTOBER, "g", "GPU")])),
        db=database_url,
    )
    database = open_database(database_url)
    try:
        with database.unit_of_work() as uow:
            granted = datetime(2026, 10, 1, tzinfo=UTC)
            grant_credit(uow.session, "org-r1", "2.00", "promotional", granted_at=granted)
            grant_credit(uow.session, "org-r1", "50.00", "prepaid", granted_at=granted)
            uow.commit()
        run("bill", "--period", "2026-10", "--at", AT, "--engine", engine, db=database_url)
        with database.unit_of_work(read_only=True) as uow:
            context = billing_context(uow.session, Settings().seller, AS_OF)
            drafts = {  # as the store keeps them: head, then rest
                row.organization_id: (bytes(row.head), bytes(row.body.rest))
                for row in uow.session.scalars(select(Invoice).where(Invoice.period == "2026-10"))
            }
            assert sorted(drafts) == [f"org-r{n}" for n in range(6)]
            for org, (head, rest) in drafts.items():
                computed = InvoiceRecord.of(draft_invoice(uow.session, context, org, "2026-10"))
                read_back = InvoiceRecord.of_draft(head, rest)
                assert read_back == replace(computed, from_draft=True), org
                assert read_back.draft_parts() == (head, rest)
                if org == "org-r1":
                    # The welcome credit and both grants, each with its ledger figures (R10).
                    assert len(read_back.amounts.credits) == 3
                if org == "org-r2":
                    assert read_back.unpriced and not read_back.finalizable  # a GPU: no price
    finally:
        database.close()
