"""`bysecond bill --period YYYY-MM [--finalize]`: every organisation's invoice for a period."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from bysecond.services.billing import BillingReport, Engine, OrganizationResult, bill_period
from bysecond.store.schema import Organization

from . import context
from .options import DbOption, fail, open_or_exit

SOME_REFUSED = 1
console = Console(highlight=False)


def bill(
    ctx: typer.Context,
    period_text: Annotated[
        str, typer.Option("--period", metavar="YYYY-MM", help=context.PERIOD_HELP)
    ],
    finalize: Annotated[
        bool, typer.Option("--finalize", help="Issue the invoices: numbered, final (R13).")
    ] = False,
    org: Annotated[
        list[str] | None, typer.Option("--org", help="Only these organisations.")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="columnar: shards rated in columns (fast); reference: the core, one "
            "organisation at a time. Both give the same invoices.",
        ),
    ] = "columnar",
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes (default: one per core)."),
    ] = None,
    shard_size: Annotated[
        int | None,
        typer.Option(
            "--shard-size",
            min=1,
            help="Organisations per shard of the columnar engine (default 500): each shard is one "
            "transaction, and its events are held in memory at once.",
        ),
    ] = None,
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Compute every organisation's draft invoice for a period; --finalize issues them.

    Running it again issues nothing new. Exit status 1 when an organisation could not be
    finalised (its usage has no price): the report names it and says why.
    """
    period = context.period(period_text)
    clock = context.instant(at)
    if finalize and clock < period.end:
        raise fail(f"{period.key} is not over yet: invoices are issued after the period ends")
    database = open_or_exit(ctx, db)
    try:
        billing = context.billing_context(database, clock)
        with database.unit_of_work(read_only=True) as uow:
            known = set(uow.session.scalars(select(Organization.id)))
        for name in org or []:
            if name not in known:
                raise fail(f"unknown organisation {name!r}")
        chosen = sorted(org) if org else sorted(known)
        with Progress(
            TextColumn("[bold]billing {task.fields[period]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=json_output,
            transient=True,
        ) as progress:
            task = progress.add_task("bill", total=len(chosen), period=period.key)

            def advance(_: OrganizationResult) -> None:
                progress.advance(task)

            report = bill_period(
                database,
                billing,
                period.key,
                issue=finalize,
                organizations=chosen,
                progress=advance,
                engine=engine,
                workers=workers,
                shard_size=shard_size,
            )
    finally:
        database.close()
    if json_output:
        typer.echo(orjson.dumps(report_json(report), option=orjson.OPT_INDENT_2).decode())
    else:
        print_report(report)
    if report.refused:
        raise typer.Exit(SOME_REFUSED)


def report_json(report: BillingReport) -> dict[str, object]:
    return {
        "period": report.period,
        "finalize": report.finalize,
        "counts": {
            o: report.count(o)
            for o in ("finalized", "draft", "refused", "already_final", "no_usage")
        },
        # Of those, invoices taken from a draft whose inputs had not changed.
        "from_unchanged_drafts": report.from_drafts,
        "organizations": [
            {
                "organization_id": r.organization_id,
                "outcome": r.outcome,
                "number": r.number,
                "subtotal": str(r.subtotal),
                "total": str(r.total),
                "amount_due": str(r.amount_due),
                "credits_used": str(r.credits_used),
                "reason": r.reason or None,
            }
            for r in report.results
        ],
    }


def print_report(report: BillingReport) -> None:
    billed = [r for r in report.results if r.outcome in ("finalized", "draft", "refused")]
    table = Table(
        title=f"Billing run {report.period}" + (" (finalised)" if report.finalize else " (drafts)")
    )
    table.add_column("outcome")
    table.add_column("invoices", justify="right")
    table.add_column("subtotal", justify="right")
    table.add_column("total (VAT incl.)", justify="right")
    table.add_column("credits used", justify="right")
    table.add_column("amount due", justify="right")
    for outcome in ("finalized", "draft", "refused"):
        rows = [r for r in billed if r.outcome == outcome]
        if rows:
            table.add_row(
                outcome,
                str(len(rows)),
                *(_sum(rows, f) for f in ("subtotal", "total", "credits_used", "amount_due")),
            )
    if len(billed) > 1:
        table.add_row(
            "all",
            str(len(billed)),
            *(_sum(billed, f) for f in ("subtotal", "total", "credits_used", "amount_due")),
            style="bold",
        )
    console.print(table)
    if report.from_drafts:
        console.print(
            f"{report.from_drafts} invoice(s) taken from drafts whose inputs had not changed"
            " (R16: the same inputs give the same invoice)."
        )
    skipped = report.count("already_final")
    if skipped:
        console.print(f"{skipped} invoice(s) were already issued and stay as they are (R13).")
    if report.count("no_usage"):
        console.print(f"{report.count('no_usage')} organisation(s) had nothing to bill.")
    for refused in report.refused:
        console.print(
            f"[red]not finalised[/red] {refused.organization_id}: {refused.reason}", markup=True
        )


def _sum(rows: list[OrganizationResult], field: str) -> str:
    return f"{sum((getattr(r, field) for r in rows), Decimal(0)):,.2f} EUR"
