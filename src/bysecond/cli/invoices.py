"""`bysecond invoices list|show|pdf`: read invoices as stored (R13); correct them with
credit notes (`credit-note`, `credit-notes`, `credit-note-show`, `credit-note-pdf`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bysecond.services.invoices import InvoiceNotFound, decoded, list_invoices, stored_document

from . import context, credit_notes
from .options import DbOption, fail, open_or_exit

app = typer.Typer(no_args_is_help=True, help="Read invoices; correct them with credit notes.")
console = Console(highlight=False)


@app.command("list")
def list_command(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
    period_text: Annotated[str | None, typer.Option("--period", metavar="YYYY-MM")] = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every stored invoice, drafts included."""
    period = context.period(period_text).key if period_text else None
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            rows = list_invoices(uow.session, org, period)
    finally:
        database.close()
    if json_output:
        typer.echo(
            orjson.dumps(
                [
                    {
                        "id": r.id,
                        "organization_id": r.organization_id,
                        "period": r.period,
                        "status": r.status,
                        "number": r.number,
                        "total": str(r.total),
                        "amount_due": str(r.amount_due),
                        "currency": r.currency,
                    }
                    for r in rows
                ],
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        return
    table = Table(title=f"{len(rows)} invoice(s)")
    for column in ("number", "organisation", "period", "status", "total", "amount due"):
        table.add_column(column, justify="right" if column in ("total", "amount due") else "left")
    for r in rows:
        table.add_row(
            r.number or "-",
            r.organization_id,
            r.period,
            r.status,
            f"{r.total:,.2f} {r.currency}",
            f"{r.amount_due:,.2f} {r.currency}",
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(metavar="ORG")],
    period_text: Annotated[str, typer.Argument(metavar="YYYY-MM")],
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """One invoice; --json writes the stored document byte for byte."""
    period = context.period(period_text)
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            data = stored_document(uow.session, organization_id, period.key)
    except InvoiceNotFound as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if json_output:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    print_invoice(decoded(data))


@app.command("pdf")
def pdf(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(metavar="ORG")],
    period_text: Annotated[str, typer.Argument(metavar="YYYY-MM")],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", dir_okay=False)],
    facturx: Annotated[
        bool, typer.Option("--facturx", help="A Factur-X PDF/A-3 (final only).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write the invoice as PDF: a summary page, then every detail."""
    from bysecond.render.facturx_pdf import render_facturx_pdf
    from bysecond.render.pdf import render_pdf

    period = context.period(period_text)
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            document = decoded(stored_document(uow.session, organization_id, period.key))
    except InvoiceNotFound as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if facturx and document["status"] == "draft":
        raise fail("a draft has no number: only issued invoices are e-invoices")
    output.write_bytes(render_facturx_pdf(document) if facturx else render_pdf(document))
    typer.echo(f"wrote {output}")


def print_invoice(document: dict[str, object]) -> None:
    d = document
    title = f"Invoice {d['number'] or '(draft)'} of {d['organization_id']} for {d['period']['key']}"  # type: ignore[index]
    table = Table(title=title)
    for column in ("line", "kind", "description", "billed", "amount"):
        table.add_column(column, justify="right" if column in ("billed", "amount") else "left")
    for line in d["lines"]:  # type: ignore[attr-defined]
        table.add_row(
            line["id"],
            line["kind"],
            line["description"],
            f"{line['billed_seconds']:,} s" if line["billed_seconds"] else "",
            line["amount"],
        )
    console.print(table)
    for label, key in (
        ("subtotal", "subtotal"),
        ("promotional credits", "promotional_credits_applied"),
        ("taxable", "taxable_amount"),
        ("VAT", "vat_amount"),
        ("total", "total"),
        ("prepaid credits", "prepaid_credits_applied"),
        ("amount due", "amount_due"),
    ):
        console.print(f"{label:>20}: {d[key]} {d['currency']}")
    comparison = d["comparison"]
    console.print(
        f"{'under ' + comparison['policy']:>20}: {comparison['subtotal']} {d['currency']}"
    )  # type: ignore[index]


# R13: an issued invoice is corrected by a credit note, never changed.
app.command("credit-note")(credit_notes.issue)
app.command("credit-notes")(credit_notes.list_command)
app.command("credit-note-show")(credit_notes.show)
app.command("credit-note-pdf")(credit_notes.pdf)
