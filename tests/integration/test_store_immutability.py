"""R13 and invariant 4: finalised invoices and ledger entries are never changed in place.

Each refusal is checked through the ORM (SQLAlchemy hooks) and through plain SQL (the
database triggers), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update

from bysecond.store.database import Database, UnitOfWork
from bysecond.store.immutability import ImmutableRecordError
from bysecond.store.invoices import next_invoice_number
from bysecond.store.schema import CreditGrant, Invoice, LedgerEntry, Organization

AT = datetime(2026, 11, 1, tzinfo=UTC)
# Canonical, as the engine writes it: the store keeps it as a head (through the fields
# issuing sets) and a rest, and each part is as frozen as the other.
DOCUMENT = (
    b'{"id":"inv-1","number":"2026-000001","status":"finalized",'
    b'"issued_at":"2026-11-01T00:00:00Z","lines":[]}'
)


@pytest.fixture
def stored(database: Database) -> Iterator[Database]:
    """An organisation with a finalized invoice, a draft, a grant and a ledger entry."""
    with database.unit_of_work() as uow:
        session = uow.session
        session.add(Organization(id="org-acme", created_at=AT))
        session.flush()
        session.add_all(
            [
                Invoice(
                    id="inv-1",
                    organization_id="org-acme",
                    period="2026-10",
                    status="finalized",
                    number=next_invoice_number(uow.connection, 2026),
                    document=DOCUMENT,
                    content_hash=hashlib.sha256(DOCUMENT).hexdigest(),
                    issued_at=AT,
                ),
                Invoice(
                    id="inv-2",
                    organization_id="org-acme",
                    period="2026-11",
                    status="draft",
                    document=b"{}",
                ),
                CreditGrant(
                    id="g-1",
                    organization_id="org-acme",
                    kind="promotional",
                    amount=Decimal("20.00"),
                    currency="EUR",
                    granted_at=AT,
                ),
            ]
        )
        session.flush()
        session.add(
            LedgerEntry(
                grant_id="g-1",
                organization_id="org-acme",
                invoice_id="inv-1",
                kind="applied",
                amount=Decimal("3.21"),
                at=AT,
            )
        )
        uow.commit()
    yield database


def _invoice(uow: UnitOfWork, invoice_id: str) -> Invoice:
    invoice = uow.session.get(Invoice, invoice_id)
    assert invoice is not None
    return invoice


def _document(database: Database) -> bytes:
    with database.unit_of_work(read_only=True) as uow:
        return _invoice(uow, "inv-1").document


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("head", b"{}"),
        ("number", "2026-000099"),
        ("content_hash", "0" * 64),
        ("issued_at", datetime(2027, 1, 1, tzinfo=UTC)),
        ("period", "2026-09"),
    ],
)
def test_R13_a_finalized_invoice_refuses_changes_through_the_orm(
    stored: Database, attribute: str, value: object
) -> None:
    with stored.unit_of_work() as uow:
        setattr(_invoice(uow, "inv-1"), attribute, value)
        # The hook names the attribute: the refusal came before any SQL was sent.
        with pytest.raises(ImmutableRecordError, match=f"never changes.*: {attribute} of inv-1"):
            uow.session.flush()
    assert _document(stored) == DOCUMENT


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoices SET head = :blob WHERE id = 'inv-1'",
        "UPDATE invoice_bodies SET rest = :blob WHERE invoice_id = 'inv-1'",
        "DELETE FROM invoice_bodies WHERE invoice_id = 'inv-1'",
        "UPDATE invoice_bodies SET invoice_id = 'inv-2' WHERE invoice_id = 'inv-1'",
        "UPDATE invoices SET number = '2026-000099' WHERE id = 'inv-1'",
        "UPDATE invoices SET content_hash = 'x' WHERE id = 'inv-1'",
        "UPDATE invoices SET period = '2026-09' WHERE id = 'inv-1'",
        "UPDATE invoices SET status = 'draft', number = NULL WHERE id = 'inv-1'",
    ],
    ids=[
        "head",
        "rest",
        "rest-deleted",
        "rest-moved",
        "number",
        "content_hash",
        "period",
        "back-to-draft",
    ],
)
def test_R13_a_finalized_invoice_refuses_changes_through_plain_sql(
    stored: Database, statement: str
) -> None:
    with stored.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
        uow.session.execute(text(statement), {"blob": b"{}"})
    assert _document(stored) == DOCUMENT


def test_R13_the_rest_of_a_finalized_document_refuses_changes_through_the_orm(
    stored: Database,
) -> None:
    with stored.unit_of_work() as uow:
        _invoice(uow, "inv-1").body.rest = b',"lines":[1]}'
        with pytest.raises(ImmutableRecordError, match=r"never changes.*: document of inv-1"):
            uow.session.flush()
    with stored.unit_of_work() as uow:
        _invoice(uow, "inv-1").document = DOCUMENT.replace(b"[]", b"[1]")
        with pytest.raises(ImmutableRecordError, match="never changes"):
            uow.session.flush()
    with stored.unit_of_work() as uow:
        uow.session.delete(_invoice(uow, "inv-1").body)
        with pytest.raises(ImmutableRecordError, match="document of inv-1"):
            uow.session.flush()
    assert _document(stored) == DOCUMENT


def test_a_document_is_kept_in_two_parts_that_join_byte_for_byte(stored: Database) -> None:
    with stored.unit_of_work(read_only=True) as uow:
        issued, draft = _invoice(uow, "inv-1"), _invoice(uow, "inv-2")
        parts = (issued.head, issued.body.rest, draft.head, draft.body.rest)
    # The head runs through issued_at; a document without those fields is all rest.
    rest = b',"lines":[]}'
    assert parts == (DOCUMENT[: -len(rest)], rest, b"", b"{}")


def test_R13_a_finalized_invoice_cannot_be_deleted(stored: Database) -> None:
    with stored.unit_of_work() as uow:
        uow.session.delete(_invoice(uow, "inv-1"))
        with pytest.raises(ImmutableRecordError):
            uow.session.flush()
    with stored.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
        uow.session.execute(delete(Invoice).where(Invoice.id == "inv-1"))
    assert _document(stored) == DOCUMENT


def test_R13_a_finalized_invoice_may_be_marked_paid_and_then_never_changes(
    stored: Database,
) -> None:
    with stored.unit_of_work() as uow:
        _invoice(uow, "inv-1").status = "paid"
        uow.commit()
    with stored.unit_of_work() as uow:
        _invoice(uow, "inv-1").status = "finalized"
        with pytest.raises(ImmutableRecordError):
            uow.session.flush()
    with stored.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
        uow.session.execute(text("UPDATE invoices SET status = 'finalized' WHERE id = 'inv-1'"))
    with stored.unit_of_work(read_only=True) as uow:
        assert _invoice(uow, "inv-1").status == "paid"


def test_R13_a_draft_may_be_recomputed_finalized_or_deleted(stored: Database) -> None:
    with stored.unit_of_work() as uow:
        draft = _invoice(uow, "inv-2")
        draft.document = b'{"recomputed": true}'
        uow.session.flush()
        draft.status, draft.number = "finalized", next_invoice_number(uow.connection, 2026)
        draft.content_hash, draft.issued_at = "f" * 64, AT
        uow.commit()
    with stored.unit_of_work(read_only=True) as uow:
        assert _invoice(uow, "inv-2").number == "2026-000002"
    with stored.unit_of_work() as uow:
        uow.session.add(
            Invoice(id="inv-3", organization_id="org-acme", period="2026-12", document=b"{}")
        )
        uow.commit()
    with stored.unit_of_work() as uow:
        uow.session.execute(delete(Invoice).where(Invoice.id == "inv-3"))
        uow.commit()


def test_ledger_entries_refuse_update_and_delete_through_the_orm(stored: Database) -> None:
    with stored.unit_of_work() as uow:
        entry = uow.session.scalars(select(LedgerEntry)).one()
        entry.amount = Decimal("0.01")
        with pytest.raises(ImmutableRecordError, match="append-only: entry 1"):
            uow.session.flush()
    with stored.unit_of_work() as uow:
        uow.session.delete(uow.session.scalars(select(LedgerEntry)).one())
        with pytest.raises(ImmutableRecordError, match="append-only: entry 1"):
            uow.session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        update(LedgerEntry).values(amount=Decimal("0")),
        delete(LedgerEntry),
        text("UPDATE credit_ledger SET kind = 'expired'"),
        text("DELETE FROM credit_ledger"),
    ],
    ids=["core-update", "core-delete", "sql-update", "sql-delete"],
)
def test_ledger_entries_refuse_update_and_delete_through_sql(
    stored: Database, statement: object
) -> None:
    with stored.unit_of_work() as uow, pytest.raises(ImmutableRecordError, match="append-only"):
        uow.session.execute(statement)  # type: ignore[call-overload]
    with stored.unit_of_work(read_only=True) as uow:
        entry = uow.session.scalars(select(LedgerEntry)).one()
    assert (entry.kind, entry.amount) == ("applied", Decimal("3.21"))


def test_the_database_triggers_refuse_a_ledger_change_from_a_client_without_hooks(
    stored: Database,
) -> None:
    raw = stored.engine.raw_connection()  # the driver alone: no SQLAlchemy event runs
    try:
        cursor = raw.cursor()
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("DELETE FROM credit_ledger")
        raw.rollback()
    finally:
        raw.close()
    assert _document(stored) == DOCUMENT


def test_R13_invoice_numbers_follow_each_other_without_gaps_per_year(
    database: Database,
) -> None:
    with database.unit_of_work() as uow:
        assert next_invoice_number(uow.connection, 2026) == "2026-000001"
        assert next_invoice_number(uow.connection, 2026) == "2026-000002"
        uow.commit()
    with database.unit_of_work() as uow:  # rolled back: the number is given back
        assert next_invoice_number(uow.connection, 2026) == "2026-000003"
    with database.unit_of_work() as uow:
        assert next_invoice_number(uow.connection, 2026) == "2026-000003"
        assert next_invoice_number(uow.connection, 2027) == "2027-000001"
        uow.commit()


def test_a_unit_of_work_rolls_back_what_is_not_committed(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Organization(id="org-gone", created_at=AT))
        uow.session.flush()
    with database.unit_of_work(read_only=True) as uow:
        assert uow.session.get(Organization, "org-gone") is None
