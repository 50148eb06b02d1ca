"""R13: invoice numbers taken by blocks stay gapless and never repeat."""

from __future__ import annotations

import pytest

from bysecond.store.database import Database
from bysecond.store.invoices import InvoiceNumbers, next_invoice_number


def test_R13_a_block_gives_back_what_it_did_not_use(database: Database) -> None:
    with database.unit_of_work() as uow:
        assert next_invoice_number(uow.connection, 2026) == "2026-000001"
        block = InvoiceNumbers(uow.connection, 2026, 10)
        taken = [block.take() for _ in range(3)]
        block.close()
        assert next_invoice_number(uow.connection, 2026) == "2026-000005"
        uow.commit()
    assert taken == ["2026-000002", "2026-000003", "2026-000004"]


def test_R13_a_block_used_up_goes_on_one_number_at_a_time(database: Database) -> None:
    with database.unit_of_work() as uow:
        block = InvoiceNumbers(uow.connection, 2027, 2)
        taken = [block.take() for _ in range(4)]
        block.close()
        uow.commit()
    assert taken == [f"2027-00000{n}" for n in range(1, 5)]


def test_R13_a_block_rolled_back_leaves_no_gap(database: Database) -> None:
    with database.unit_of_work() as uow:
        InvoiceNumbers(uow.connection, 2026, 1000).take()  # never committed
    with database.unit_of_work() as uow:
        assert next_invoice_number(uow.connection, 2026) == "2026-000001"


def test_R13_a_block_near_the_end_of_the_year_takes_numbers_one_by_one(
    database: Database,
) -> None:
    with database.unit_of_work() as uow:
        block = InvoiceNumbers(uow.connection, 2028, 999_999)
        first = block.take()
        block.close()
        uow.commit()
    assert first == "2028-000001"
    with database.unit_of_work() as uow:
        block = InvoiceNumbers(uow.connection, 2028, 999_999)
        assert block.take() == "2028-000002"
        block.close()
        assert next_invoice_number(uow.connection, 2028) == "2028-000003"


@pytest.mark.parametrize("capacity", [0, 1])
def test_R13_an_unused_block_changes_nothing(database: Database, capacity: int) -> None:
    with database.unit_of_work() as uow:
        InvoiceNumbers(uow.connection, 2026, capacity).close()
        assert next_invoice_number(uow.connection, 2026) == "2026-000001"
