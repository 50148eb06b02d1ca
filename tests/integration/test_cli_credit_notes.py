"""`bysecond invoices credit-note` and its readers, end to end through the real entry point,
on SQLite and PostgreSQL (R13, R10)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import facturx
import orjson
import pytest
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from bysecond.render.facturx_xml import NAMESPACES
from bysecond.store.database import open_database
from bysecond.store.schema import CreditNote, Organization
from tests.integration.cli_runner import run, run_json
from tests.integration.ingest_builders import event

AT = "2026-11-01T06:00:00Z"
LATER = "2026-11-10T09:00:00Z"


@pytest.fixture
def invoiced(database_url: str, tmp_path: Path) -> str:
    """org-acme's October issued as 2026-000001: 74.40 + 50.00, 24.88 VAT, 149.28."""
    events = tmp_path / "october.jsonl"
    events.write_bytes(
        b"\n".join(
            orjson.dumps(e)
            for e in (
                event(1, time="2026-09-20T00:00:00Z"),
                event(
                    2,
                    "task.performed",
                    time="2026-10-07T10:00:00Z",
                    task_id="t-1",
                    description="Database migration",
                    amount="50.00",
                ),
            )
        )
    )
    # No welcome credit: the amounts below are those of an invoice without a discount.
    run("ingest", str(events), db=database_url, settings={"BYSECOND_WELCOME_CREDIT": "0"})
    # A country for both parties, as EN 16931 asks (BR-8, BR-10); the profile is set by
    # the HTTP API in production.
    database = open_database(database_url)
    try:
        with database.unit_of_work() as uow:
            org = uow.session.get(Organization, "org-acme")
            assert org is not None
            org.name, org.address, org.country = "Acme SAS", "8 rue Neuve\n75010 Paris", "FR"
            uow.commit()
    finally:
        database.close()
    issued = run_json("bill", "--period", "2026-10", "--finalize", "--at", AT, db=database_url)
    assert [o["number"] for o in issued["organizations"]] == ["2026-000001"]
    return database_url


def stored_credit_notes(db: str) -> dict[str, tuple[bytes, str]]:
    database = open_database(db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            rows = uow.session.scalars(select(CreditNote)).all()
            return {row.number: (row.document, row.content_hash) for row in rows}
    finally:
        database.close()


def test_credit_notes_are_refused_issued_listed_shown_and_printed(
    invoiced: str, tmp_path: Path
) -> None:
    db = invoiced
    invoice_before = run("invoices", "show", "org-acme", "2026-10", "--json", db=db).stdout
    refused_in_parallel(BAD_CREDITS, db)
    assert stored_credit_notes(db) == {}
    missing = run(
        "invoices", "credit-note-pdf", "org-acme", "2026-000002", "-o", "unused.pdf", db=db, check=2
    )
    assert missing.stderr == "error: no credit note numbered 2026-000002 for org-acme\n"
    part = run_json(
        "invoices",
        "credit-note",
        "org-acme",
        "2026-000001",
        "--line",
        "L002",
        "--amount",
        "20.00",
        "--reason",
        "Half of the migration billed twice",
        "--at",
        LATER,
        db=db,
    )
    # The refusals above took no number (R13: no gap).
    assert (part["number"], part["corrects_invoice"]) == ("2026-000002", "2026-000001")
    assert (part["subtotal"], part["vat_amount"], part["total"]) == ("20.00", "4.00", "24.00")
    rest = run(
        "invoices",
        "credit-note",
        "org-acme",
        "2026-000001",
        "--full",
        "--reason",
        "Service interrupted",
        "--at",
        LATER,
        db=db,
    )
    assert "issued credit note 2026-000003 correcting invoice 2026-000001" in rest.stdout
    assert "125.28 EUR" in rest.stdout  # 149.28 - 24.00
    again = run(
        "invoices",
        "credit-note",
        "org-acme",
        "2026-000001",
        "--full",
        "--reason",
        "again",
        "--at",
        LATER,
        db=db,
        check=2,
    )
    assert again.stderr.splitlines() == [
        "error: invoice 2026-000001 is already credited in full (149.28 of 149.28 EUR):"
        " nothing is left to credit"
    ]
    listed = run_json("invoices", "credit-notes", "--org", "org-acme", db=db)
    assert [(n["number"], n["total"], n["reason"]) for n in listed] == [
        ("2026-000002", "24.00", "Half of the migration billed twice"),
        ("2026-000003", "125.28", "Service interrupted"),
    ]
    stored = stored_credit_notes(db)
    shown = run("invoices", "credit-note-show", "org-acme", "2026-000002", "--json", db=db)
    document, digest = stored["2026-000002"]
    assert shown.stdout.encode() == document
    assert digest == part["content_hash"] == hashlib.sha256(document).hexdigest()
    # R13: the invoice is exactly as issued.
    assert run("invoices", "show", "org-acme", "2026-10", "--json", db=db).stdout == invoice_before
    # R10: both credits are prepaid grants on the organisation's statement.
    statement = run_json("credits", "show", "org-acme", "--at", LATER, db=db)
    grants = {g["grant_id"]: g for g in statement["grants"]}
    assert grants[part["grant_id"]]["kind"] == "prepaid"
    assert grants[part["grant_id"]]["remaining"] == "24.00"
    assert statement["remaining"] == "149.28"

    pdf = tmp_path / "credit-note.pdf"
    run(
        "invoices", "credit-note-pdf", "org-acme", "2026-000002", "-o", str(pdf), "--facturx", db=db
    )
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf.read_bytes())).pages)
    for expected in ("Credit note", "2026-000002", "2026-000001", "€24.00"):
        assert expected in text
    _, xml = facturx.get_xml_from_pdf(pdf.read_bytes(), check_xsd=True)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    totals = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert root.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=NAMESPACES) == [
        "381"
    ]
    assert root.xpath(totals + "GrandTotalAmount/text()", namespaces=NAMESPACES) == ["24.00"]


# Refused by the database's content: checked on each database.
BAD_CREDITS = {
    "unknown-org": (
        ["org-nobody", "2026-000001", "--full", "--reason", "x"],
        "unknown organisation 'org-nobody'",
    ),
    "unknown-invoice": (
        ["org-acme", "2026-000099", "--full", "--reason", "x"],
        "no issued invoice numbered 2026-000099 for org-acme",
    ),
    "unknown-line": (
        ["org-acme", "2026-000001", "--line", "L009", "--amount", "1", "--reason", "x"],
        "invoice 2026-000001 has no line 'L009': its lines are L001 to L002",
    ),
    "zero": (
        ["org-acme", "2026-000001", "--line", "L002", "--amount", "0", "--reason", "x"],
        "the amount to credit must be more than 0, not 0",
    ),
    "negative": (
        ["org-acme", "2026-000001", "--line", "L002", "--amount", "-5", "--reason", "x"],
        "the amount to credit must be more than 0, not -5",
    ),
    "over-line": (
        ["org-acme", "2026-000001", "--line", "L002", "--amount", "50.01", "--reason", "x"],
        "at most 50.00 can be credited on it, not 50.01",
    ),
}
# Refused before any database is opened.
BAD_ARGUMENTS = {
    "no-reason": (["org-acme", "2026-000001", "--full"], "--reason TEXT is required"),
    "blank-reason": (
        ["org-acme", "2026-000001", "--full", "--reason", " "],
        "--reason TEXT is required",
    ),
    "both": (
        ["org-acme", "2026-000001", "--full", "--line", "L001", "--reason", "x"],
        "give either --full or --line ID --amount A, not both",
    ),
    "neither": (["org-acme", "2026-000001", "--reason", "x"], "say what to credit"),
    "line-alone": (
        ["org-acme", "2026-000001", "--line", "L001", "--reason", "x"],
        "--line L001 needs --amount A",
    ),
    "amount-alone": (
        ["org-acme", "2026-000001", "--amount", "5", "--reason", "x"],
        "--amount needs --line ID",
    ),
}


def refused_in_parallel(cases: dict[str, tuple[list[str], str]], db: str) -> None:
    """Each case exits with status 2, nothing on stdout, one line on stderr saying why."""

    def attempt(args: list[str]) -> tuple[int, str, str]:
        done = run("invoices", "credit-note", *args, "--at", LATER, db=db, check=None)
        return done.returncode, done.stdout, done.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(attempt, (args for args, _ in cases.values()))
        for (case, (_, expected)), (status, stdout, stderr) in zip(
            cases.items(), results, strict=True
        ):
            assert (status, stdout) == (2, ""), (case, stderr)
            assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), (case, stderr)
            assert expected in stderr, (case, stderr)


def test_bad_credit_note_arguments_get_one_line_on_stderr_and_status_2(tmp_path: Path) -> None:
    refused_in_parallel(BAD_ARGUMENTS, f"sqlite:///{tmp_path / 'never-opened.sqlite3'}")
    assert not (tmp_path / "never-opened.sqlite3").exists()
