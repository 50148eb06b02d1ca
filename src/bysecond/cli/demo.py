"""`bysecond demo`: the main job on the embedded default, with a printed summary."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bysecond.services.demo import DemoResult, previous_month, run_demo
from bysecond.store.database import DatabaseError, open_database

from . import context
from .options import fail

console = Console(highlight=False)


def demo(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR",
            file_okay=False,
            help="Where the demo's database, events and invoices go.",
        ),
    ] = Path("bysecond-demo"),
    month: Annotated[
        str | None,
        typer.Option("--month", metavar="YYYY-MM", help="The month billed. Default: last month."),
    ] = None,
    orgs: Annotated[int, typer.Option("--orgs", min=1, max=100_000)] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Write PDF invoices too.")] = True,
    db: Annotated[
        str | None, typer.Option("--db", metavar="URL", help="Default: a new SQLite file in DIR.")
    ] = None,
) -> None:
    """Generate a realistic platform month, ingest it, bill it, finalise it, compare it
    with 10-minute slices, and write every invoice as JSON, HTML and PDF."""
    began = time.monotonic()
    now = datetime.now(UTC)
    chosen = context.period(month).key if month else previous_month(now)
    if context.period(chosen).end > now:
        raise fail(f"{chosen} is not over yet: the demo bills a past month")
    if db is None:
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
    try:
        database = open_database(db or f"sqlite:///{(output / 'demo.sqlite3').resolve()}")
    except DatabaseError as error:
        raise fail(str(error)) from None
    try:
        with console.status("starting") as status:
            result = run_demo(
                database,
                output,
                month=chosen,
                orgs=orgs,
                seed=seed,
                now=now,
                settings=context.settings(),
                pdf=pdf,
                step=lambda text: status.update(text),
            )
    finally:
        database.close()
    print_summary(result, time.monotonic() - began)


def print_summary(result: DemoResult, seconds: float) -> None:
    r = result
    report = r.report
    console.rule(f"bysecond demo: {r.month}, {r.organizations} organisations")
    console.print(
        f"events: {r.events:,} stored, {r.duplicates:,} duplicate deliveries ignored, "
        f"{r.rejected:,} rejected"
    )
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    issued = report.count("finalized")
    table.add_row("invoices issued", f"{issued:,}")
    table.add_row("subtotal (usage)", f"{r.subtotal:,.2f} EUR")
    table.add_row("free credits used", f"{r.promotional_used:,.2f} EUR")
    table.add_row("free credits expired", f"{r.expired:,.2f} EUR")
    table.add_row("revenue (total, VAT incl.)", f"{r.revenue:,.2f} EUR")
    table.add_row("prepaid credits used", f"{r.prepaid_used:,.2f} EUR")
    table.add_row("amount due", f"{r.amount_due:,.2f} EUR")
    console.print(table)
    saved = r.former_subtotal - r.subtotal
    share = (saved * 100 / r.former_subtotal).quantize(Decimal("0.001")) if r.former_subtotal else 0
    ordered = sorted(r.savings)
    median = ordered[(len(ordered) - 1) // 2] if ordered else Decimal(0)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)] if ordered else Decimal(0)
    more = sum(1 for s in ordered if s < 0)
    console.print(
        f"per-second billing against 10-minute slices: {r.subtotal:,.2f} instead of "
        f"{r.former_subtotal:,.2f} EUR, {saved:,.2f} EUR ({share} %) less; per customer "
        f"median {median:,.2f}, p90 {p90:,.2f}, largest {max(ordered, default=0):,.2f} EUR; "
        f"{sum(1 for s in ordered if s > 0)} of {len(ordered)} pay less, {more} pay more"
    )
    if report.refused:
        console.print(f"not finalised: {len(report.refused)} (usage without a price)")
    console.print(
        f"late usage: {r.late_events} event(s) arrived after invoicing; the next "
        f"month's drafts of {r.adjusted_organizations} organisation(s) carry "
        f"{r.adjustments:,.2f} EUR of adjustments (R14)"
    )
    pdfs = sorted(p for p in r.files if p.suffix == ".pdf")
    console.print(
        f"invoices written to {r.output / 'invoices'}: {len(r.files):,} files"
        + (f", for example {pdfs[0]}" if pdfs else "")
    )
    steps = ", ".join(f"{name} {secs:.1f} s" for name, secs in r.timings.items())
    console.print(f"done in {seconds:.1f} s ({steps})")
