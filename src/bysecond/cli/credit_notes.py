"""`bysecond invoices credit-note|credit-notes|credit-note-show|credit-note-pdf` (R13).

An issued invoice never changes: it is corrected by a credit note, a numbered document of
its own that refers to it. These commands are registered on the `invoices` group
(cli/invoices.py).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bysecond.core.period import rfc3339
from bysecond.services.credit_note_document import FULL, CreditedLines
from bysecond.services.credit_notes import (
    CreditNoteError,
    CreditNoteNotFound,
    CreditNoteSummary,
    issue_credit_note,
    list_credit_notes,
    stored_credit_note,
)
from bysecond.services.customers import UnknownOrganization
from bysecond.services.invoices import decoded

from . import context
from .options import DbOption, fail, open_or_exit

console = Console(highlight=False)

OrgArgument = Annotated[str, typer.Argument(metavar="ORG")]
NumberArgument = Annotated[str, typer.Argument(metavar="NUMBER", help="YYYY-NNNNNN")]


def issue(
    ctx: typer.Context,
    organization_id: OrgArgument,
    invoice_number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="The issued invoice to correct, YYYY-NNNNNN.")
    ],
    full: Annotated[
        bool, typer.Option("--full", help="Credit every line (what earlier credit notes left).")
    ] = False,
    line: Annotated[
        str | None,
        typer.Option("--line", metavar="ID", help="Credit part of this line (e.g. L002)."),
    ] = None,
    amount: Annotated[
        str | None,
        typer.Option("--amount", metavar="A", help="With --line: the amount to credit, e.g. 5.00."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (required).")
    ] = None,
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Issue a credit note correcting an issued invoice (R13); what it credits goes back
    to the organisation as prepaid credit (R10)."""
    what = _what_to_credit(full, line, amount)
    if reason is None or not reason.strip():
        raise fail("--reason TEXT is required: why the invoice is corrected")
    issued_at = context.instant(at)
    database = open_or_exit(ctx, db)
    try:
        result = issue_credit_note(
            database, organization_id, invoice_number, lines=what, reason=reason, at=issued_at
        )
    except (CreditNoteError, UnknownOrganization) as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    s = result.summary
    if json_output:
        typer.echo(orjson.dumps({**summary_json(s), "content_hash": result.content_hash}).decode())
        return
    console.print(f"issued credit note {s.number} correcting invoice {s.corrects_invoice}")
    console.print(
        f"credited {s.total - s.vat_amount} + VAT {s.vat_amount} = {s.total} {s.currency},"
        f" returned to {s.organization_id} as prepaid credit ({s.grant_id})"
    )


def _what_to_credit(full: bool, line: str | None, amount: str | None) -> CreditedLines:
    if full and (line is not None or amount is not None):
        raise fail("give either --full or --line ID --amount A, not both")
    if full:
        return FULL
    if line is None and amount is None:
        raise fail("say what to credit: --full, or --line ID --amount A")
    if line is None:
        raise fail("--amount needs --line ID: the invoice line to credit")
    if amount is None:
        raise fail(f"--line {line} needs --amount A: how much of it to credit")
    return (line, amount)


def list_command(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
    invoice: Annotated[
        str | None, typer.Option("--invoice", metavar="NUMBER", help="Only those of an invoice.")
    ] = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every credit note, in number order."""
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            rows = list_credit_notes(uow.session, org, invoice)
    finally:
        database.close()
    if json_output:
        typer.echo(
            orjson.dumps([summary_json(r) for r in rows], option=orjson.OPT_INDENT_2).decode()
        )
        return
    table = Table(title=f"{len(rows)} credit note(s)")
    for column in ("number", "organisation", "corrects", "issued", "total", "reason"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for r in rows:
        table.add_row(
            r.number,
            r.organization_id,
            r.corrects_invoice,
            rfc3339(r.issued_at),
            f"{r.total:,.2f} {r.currency}",
            r.reason,
        )
    console.print(table)


def show(
    ctx: typer.Context,
    organization_id: OrgArgument,
    number: NumberArgument,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """One credit note; --json writes the stored document byte for byte."""
    data = _stored(ctx, db, organization_id, number)
    if json_output:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    d = decoded(data)
    table = Table(title=f"Credit note {d['number']} of {d['organization_id']}")
    for column in ("line", "description", "invoiced", "credited"):
        table.add_column(column, justify="right" if column in ("invoiced", "credited") else "left")
    for credited in d["lines"]:
        table.add_row(
            credited["id"],
            credited["description"],
            credited["invoiced_amount"],
            credited["amount"],
        )
    console.print(table)
    console.print(f"{'corrects invoice':>20}: {d['corrects_invoice']} ({d['period']['key']})")
    console.print(f"{'reason':>20}: {d['reason']}")
    for label, key in (
        ("subtotal", "subtotal"),
        ("promotional share", "promotional_credits_applied"),
        ("taxable", "taxable_amount"),
        ("VAT", "vat_amount"),
        ("total credited", "total"),
    ):
        console.print(f"{label:>20}: {d[key]} {d['currency']}")


def pdf(
    ctx: typer.Context,
    organization_id: OrgArgument,
    number: NumberArgument,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", dir_okay=False)],
    facturx: Annotated[
        bool, typer.Option("--facturx", help="A Factur-X PDF/A-3 (type code 381).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write a credit note as PDF, or as Factur-X with its EN 16931 XML."""
    from bysecond.render.facturx_pdf import render_facturx_pdf
    from bysecond.render.facturx_xml import FacturXError
    from bysecond.render.pdf import render_pdf

    document = decoded(_stored(ctx, db, organization_id, number))
    try:
        data = render_facturx_pdf(document) if facturx else render_pdf(document)
    except FacturXError as error:
        raise fail(str(error)) from None
    output.write_bytes(data)
    typer.echo(f"wrote {output}")


def summary_json(s: CreditNoteSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "organization_id": s.organization_id,
        "number": s.number,
        "corrects_invoice": s.corrects_invoice,
        "issued_at": rfc3339(s.issued_at),
        "reason": s.reason,
        "subtotal": _text(s.subtotal),
        "vat_amount": _text(s.vat_amount),
        "total": _text(s.total),
        "currency": s.currency,
        "grant_id": s.grant_id,
    }


def _stored(ctx: typer.Context, db: str | None, organization_id: str, number: str) -> bytes:
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            return stored_credit_note(uow.session, organization_id, number)
    except CreditNoteNotFound as error:
        raise fail(str(error)) from None
    finally:
        database.close()


def _text(value: Decimal) -> str:
    return format(value, "f")
