"""Credit notes on SQLite and PostgreSQL (R13): numbered in the invoices' sequence, stored
with their hash, immutable, the original invoice untouched, and the credit returned as a
prepaid grant that pays the next invoice (R10)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import facturx
import orjson
import pytest
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import delete, select, text, update

from bysecond.core.invoice import Seller
from bysecond.render import facturx_xml, render_facturx_pdf, render_pdf
from bysecond.render.facturx_xml import NAMESPACES
from bysecond.services.billing import BillingContext, bill_period
from bysecond.services.credit_notes import (
    CreditNoteError,
    issue_credit_note,
    list_credit_notes,
    stored_credit_note,
)
from bysecond.services.credits import grant_credit
from bysecond.services.customers import UnknownOrganization
from bysecond.services.ingest import ingest_batch
from bysecond.store.database import Database
from bysecond.store.immutability import ImmutableRecordError
from bysecond.store.prices import load_catalog
from bysecond.store.schema import CreditGrant, CreditNote, Invoice, LedgerEntry, Organization
from tests.integration.ingest_builders import clock, m_instance_and_task

ISSUED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
CREDITED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
SELLER = Seller(
    name="Demo Cloud SAS",
    address="1 rue de la Paix\n75002 Paris",
    country="FR",
    vat_number="FR40303265045",
    company_id="303 265 045",
)


def context(database: Database, as_of: datetime = ISSUED) -> BillingContext:
    with database.unit_of_work(read_only=True) as uow:
        catalog = load_catalog(uow.connection)
    return BillingContext(catalog, SELLER, as_of)


def october(database: Database, org: str = "org-acme", n: int = 0) -> None:
    """An M instance running since September (74.40 in October, 72.00 in November) and a
    50.00 task: October's invoice is 124.40 + 24.88 VAT = 149.28."""
    report = ingest_batch(database, m_instance_and_task(org, n), clock=clock)
    assert report.rejected == 0, report.notes
    with database.unit_of_work() as uow:
        row = uow.session.get(Organization, org)
        assert row is not None
        row.name, row.address, row.country = "Acme SAS", "8 rue Neuve\n75010 Paris", "FR"
        uow.commit()


@pytest.fixture
def invoiced(database: Database) -> Iterator[Database]:
    """org-acme's October invoice, issued as 2026-000001."""
    october(database)
    report = bill_period(database, context(database), "2026-10", issue=True)
    assert [r.number for r in report.results] == ["2026-000001"]
    yield database


def stored_invoice(database: Database, number: str) -> Invoice:
    with database.unit_of_work(read_only=True) as uow:
        row = uow.session.scalar(select(Invoice).where(Invoice.number == number))
    assert row is not None
    return row


def credit(database: Database, lines: Any, at: datetime = CREDITED, **kwargs: Any) -> Any:
    return issue_credit_note(
        database,
        kwargs.pop("org", "org-acme"),
        kwargs.pop("invoice", "2026-000001"),
        lines=lines,
        reason=kwargs.pop("reason", "Migration billed twice"),
        at=at,
    )


def decoded(data: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(data)
    return value


def test_R13_a_full_credit_note_is_numbered_hashed_and_leaves_the_invoice_unchanged(
    invoiced: Database,
) -> None:
    before = stored_invoice(invoiced, "2026-000001")
    result = credit(invoiced, "full")
    note = decoded(result.document)
    assert result.summary.number == note["number"] == "2026-000002"  # the invoices' sequence
    assert (note["type"], note["status"], note["corrects_invoice"]) == (
        "credit_note",
        "finalized",
        "2026-000001",
    )
    assert note["corrects_invoice_id"] == before.id
    assert note["corrects_invoice_issued_at"] == "2026-11-01T06:00:00Z"
    assert note["reason"] == "Migration billed twice"
    assert note["issued_at"] == "2026-11-10T09:00:00Z"
    invoice = decoded(before.document)
    for key in ("subtotal", "taxable_amount", "vat_amount", "total", "period", "seller", "buyer"):
        assert note[key] == invoice[key]
    assert [(line["id"], line["amount"]) for line in note["lines"]] == [
        ("L001", "74.40"),
        ("L002", "50.00"),
    ]
    after = stored_invoice(invoiced, "2026-000001")
    assert (after.document, after.content_hash, after.status) == (
        before.document,
        before.content_hash,
        before.status,
    )
    assert after.content_hash == hashlib.sha256(after.document).hexdigest()
    with invoiced.unit_of_work(read_only=True) as uow:
        row = uow.session.scalars(select(CreditNote)).one()
        assert stored_credit_note(uow.session, "org-acme", "2026-000002") == result.document
    assert (row.invoice_id, row.reason, row.issued_at) == (before.id, note["reason"], CREDITED)
    assert row.content_hash == result.content_hash == hashlib.sha256(row.document).hexdigest()


def test_R13_a_line_is_credited_in_parts_until_exhausted(invoiced: Database) -> None:
    first = credit(invoiced, ("L002", "20.00"))
    second = credit(invoiced, ("L002", Decimal("30.00")))
    assert [(r.summary.number, str(r.summary.total)) for r in (first, second)] == [
        ("2026-000002", "24.00"),
        ("2026-000003", "36.00"),
    ]  # 20% VAT on each
    with pytest.raises(CreditNoteError, match=r"L002 .* already credited in full"):
        credit(invoiced, ("L002", "0.01"))
    rest = credit(invoiced, "full")  # what is left: the application line
    assert [line["id"] for line in decoded(rest.document)["lines"]] == ["L001"]
    assert sum(r.summary.total for r in (first, second, rest)) == Decimal("149.28")
    with pytest.raises(CreditNoteError, match=r"already credited in full \(149.28 of 149.28 EUR\)"):
        credit(invoiced, "full")
    with invoiced.unit_of_work(read_only=True) as uow:
        listed = list_credit_notes(uow.session, "org-acme", "2026-000001")
    assert [n.number for n in listed] == ["2026-000002", "2026-000003", "2026-000004"]


@pytest.mark.parametrize(
    ("lines", "kwargs", "error", "message"),
    [
        ("full", {"org": "org-nobody"}, UnknownOrganization, "unknown organisation"),
        ("full", {"invoice": "2026-000099"}, CreditNoteError, "no issued invoice numbered"),
        (("L003", "1.00"), {}, CreditNoteError, "has no line 'L003'"),
        (("L002", "0"), {}, CreditNoteError, "more than 0"),
        (("L002", "50.01"), {}, CreditNoteError, "at most 50.00 can be credited on it"),
        ("full", {"reason": "  "}, CreditNoteError, "states its reason"),
        ("full", {"at": datetime(2026, 10, 31, tzinfo=UTC)}, CreditNoteError, "cannot predate"),
    ],
    ids=[
        "unknown-org",
        "unknown-invoice",
        "unknown-line",
        "zero",
        "over-line",
        "no-reason",
        "before-invoice",
    ],
)
def test_R13_bad_credit_notes_are_refused_and_take_no_number(
    invoiced: Database,
    lines: Any,
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        credit(invoiced, lines, **kwargs)
    assert credit(invoiced, ("L002", "1.00")).summary.number == "2026-000002"  # no gap


def test_R13_a_draft_and_another_organisations_invoice_cannot_be_credited(
    database: Database,
) -> None:
    october(database, "org-a", 1)
    october(database, "org-b", 2)
    bill_period(database, context(database), "2026-10", issue=True, organizations=["org-a"])
    bill_period(database, context(database), "2026-10", issue=False, organizations=["org-b"])
    # Invariant 6: org-b cannot credit org-a's invoice 2026-000001; its own is a draft.
    with pytest.raises(CreditNoteError, match="no issued invoice numbered 2026-000001 for org-b"):
        credit(database, "full", org="org-b")
    note = credit(database, "full", org="org-a")
    with pytest.raises(CreditNoteError, match="2026-000002 is a credit note, not an invoice"):
        credit(database, "full", org="org-a", invoice=note.summary.number)


def test_R13_numbers_run_on_without_gaps_across_invoices_and_credit_notes(
    database: Database,
) -> None:
    october(database, "org-a", 1)
    october(database, "org-b", 2)
    bill_period(database, context(database), "2026-10", issue=True)  # 000001, 000002
    credit(database, ("L002", "10.00"), org="org-b", invoice="2026-000002")  # 000003
    with pytest.raises(CreditNoteError):
        credit(database, ("L002", "99.00"), org="org-a")  # refused: takes no number
    credit(database, "full", org="org-a")  # 000004
    november = context(database, datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    bill_period(database, november, "2026-11", issue=True)  # 000005, 000006
    with database.unit_of_work(read_only=True) as uow:
        invoices = set(uow.session.scalars(select(Invoice.number)))
        notes = set(uow.session.scalars(select(CreditNote.number)))
    assert not invoices & notes
    assert sorted(invoices | notes) == [f"2026-{n:06d}" for n in range(1, 7)]
    assert notes == {"2026-000003", "2026-000004"}


def test_R10_the_credit_returns_as_a_prepaid_grant_that_pays_the_next_invoice(
    invoiced: Database,
) -> None:
    result = credit(invoiced, ("L002", "50.00"))  # 50.00 + 10.00 VAT
    with invoiced.unit_of_work(read_only=True) as uow:
        grant = uow.session.get(CreditGrant, result.summary.grant_id)
        entries = uow.session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.at).where(
                LedgerEntry.grant_id == result.summary.grant_id
            )
        ).all()
    assert grant is not None
    assert (grant.kind, grant.amount, grant.expires_at, grant.granted_at) == (
        "prepaid",
        Decimal("60.00"),
        None,
        CREDITED,
    )
    assert grant.reason == "credit note 2026-000002"
    assert entries == [("granted", Decimal("60.00"), CREDITED)]
    december = context(invoiced, datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    report = bill_period(invoiced, december, "2026-11", issue=True)
    assert [r.number for r in report.results] == ["2026-000003"]
    november = decoded(stored_invoice(invoiced, "2026-000003").document)
    assert november["total"] == "86.40"  # 72.00 + 20% VAT
    assert november["prepaid_credits_applied"] == "60.00"
    assert november["amount_due"] == "26.40"
    assert [c["grant_id"] for c in november["credits"]] == [result.summary.grant_id]


def test_R10_R11_a_credit_takes_back_its_share_of_a_promotional_discount(
    database: Database,
) -> None:
    october(database)
    with database.unit_of_work() as uow:
        grant_credit(
            uow.session,
            "org-acme",
            "20.00",
            "promotional",
            granted_at=datetime(2026, 9, 1, tzinfo=UTC),
            grant_id="welcome",
        )
        uow.commit()
    bill_period(database, context(database), "2026-10", issue=True)
    invoice = decoded(stored_invoice(database, "2026-000001").document)
    assert (invoice["promotional_credits_applied"], invoice["total"]) == ("20.00", "125.28")
    part = decoded(credit(database, ("L002", "50.00")).document)
    # 20.00 x 50.00 / 124.40 = 8.038... -> 8.04 of the discount goes with the 50.00.
    assert (part["promotional_credits_applied"], part["taxable_amount"]) == ("8.04", "41.96")
    assert (part["vat_amount"], part["total"]) == ("8.39", "50.35")
    rest = decoded(credit(database, "full").document)
    assert Decimal(part["total"]) + Decimal(rest["total"]) == Decimal("125.28")
    assert Decimal(part["vat_amount"]) + Decimal(rest["vat_amount"]) == Decimal(
        invoice["vat_amount"]
    )


def test_R13_two_credit_notes_at_once_never_credit_a_line_twice(invoiced: Database) -> None:
    with invoiced.unit_of_work() as first:
        issue_credit_note(
            first.session,
            "org-acme",
            "2026-000001",
            lines=("L002", "30.00"),
            reason="a",
            at=CREDITED,
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(credit, invoiced, ("L002", "30.00"))
            time.sleep(0.5)
            assert not second.done()  # it waits for the first transaction to end
            first.commit()
            # Then it sees what the first credited: 20.00 of the line are left.
            with pytest.raises(CreditNoteError, match=r"at most 20\.00 can be credited"):
                second.result(timeout=30)
    with invoiced.unit_of_work(read_only=True) as uow:
        assert uow.session.scalars(select(CreditNote.number)).all() == ["2026-000002"]


@pytest.fixture
def noted(invoiced: Database) -> Iterator[Database]:
    credit(invoiced, ("L002", "20.00"))
    yield invoiced


def _credit_note_document(database: Database) -> bytes:
    with database.unit_of_work(read_only=True) as uow:
        return uow.session.scalars(select(CreditNote.document)).one()


def test_R13_a_credit_note_refuses_changes_through_the_orm(noted: Database) -> None:
    before = _credit_note_document(noted)
    with noted.unit_of_work() as uow:
        row = uow.session.scalars(select(CreditNote)).one()
        row.document = b"{}"
        with pytest.raises(ImmutableRecordError, match="a credit note never changes"):
            uow.session.flush()
    with noted.unit_of_work() as uow:
        uow.session.delete(uow.session.scalars(select(CreditNote)).one())
        with pytest.raises(ImmutableRecordError, match="a credit note never changes"):
            uow.session.flush()
    assert _credit_note_document(noted) == before


@pytest.mark.parametrize(
    "statement",
    [
        update(CreditNote).values(reason="changed"),
        delete(CreditNote),
        text("UPDATE credit_notes SET document = :blob"),
        text("UPDATE credit_notes SET number = '2026-000099'"),
        text("DELETE FROM credit_notes"),
    ],
    ids=["core-update", "core-delete", "sql-document", "sql-number", "sql-delete"],
)
def test_R13_a_credit_note_refuses_changes_through_sql(noted: Database, statement: Any) -> None:
    before = _credit_note_document(noted)
    with noted.unit_of_work() as uow, pytest.raises(ImmutableRecordError, match="credit note"):
        uow.session.execute(statement, {"blob": b"{}"})
    assert _credit_note_document(noted) == before


def test_R13_the_triggers_refuse_a_credit_note_change_from_a_client_without_hooks(
    noted: Database,
) -> None:
    raw = noted.engine.raw_connection()  # the driver alone: no SQLAlchemy event runs
    try:
        cursor = raw.cursor()
        for statement in ("UPDATE credit_notes SET reason = 'x'", "DELETE FROM credit_notes"):
            with pytest.raises(Exception, match="a credit note never changes"):
                cursor.execute(statement)
            raw.rollback()
    finally:
        raw.close()
    assert decoded(_credit_note_document(noted))["reason"] == "Migration billed twice"


def test_R13_the_credit_note_pdf_and_factur_x_say_what_the_document_says(
    noted: Database,
) -> None:
    note = decoded(_credit_note_document(noted))
    text_of_pdf = " ".join(
        page.extract_text() for page in PdfReader(BytesIO(render_pdf(note))).pages
    )
    for expected in ("Credit note", "2026-000002", "2026-000001", "€24.00", "€4.00"):
        assert expected in text_of_pdf
    xml = facturx_xml(note)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    embedded = facturx.get_xml_from_pdf(render_facturx_pdf(note), check_xsd=True)[1]
    assert embedded == xml
    root = etree.fromstring(xml)

    def one(path: str) -> str:
        (value,) = root.xpath(path + "/text()", namespaces=NAMESPACES)
        return str(value)

    totals = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert one("//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one("//rsm:ExchangedDocument/ram:ID") == "2026-000002"
    assert one("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "2026-000001"
    assert one(totals + "LineTotalAmount") == note["subtotal"] == "20.00"
    assert one(totals + "TaxTotalAmount") == note["vat_amount"] == "4.00"
    assert one(totals + "GrandTotalAmount") == note["total"] == "24.00"
    assert one(totals + "DuePayableAmount") == note["amount_due"] == "24.00"
    # BT-22 and BT-26: the reason, and the issue date of the corrected invoice.
    assert one("//rsm:ExchangedDocument/ram:IncludedNote/ram:Content") == note["reason"]
    issued = one("//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString")
    assert issued == note["corrects_invoice_issued_at"][:10].replace("-", "")
