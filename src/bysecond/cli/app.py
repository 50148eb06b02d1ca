"""The `bysecond` command line: one Typer app; each command group lives in its own module
and is registered here."""

from __future__ import annotations

import typer

from . import bill, compare, credits, demo, generate, ingest, invoices, keys, serve, tasks
from .options import remember_database

app = typer.Typer(
    name="bysecond",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.callback()(remember_database)
app.command("ingest")(ingest.ingest)
app.command("demo")(demo.demo)
app.command("generate")(generate.generate)
app.command("bill")(bill.bill)
app.command("compare")(compare.compare)
app.add_typer(credits.app, name="credits")
app.add_typer(tasks.app, name="tasks")
app.add_typer(invoices.app, name="invoices")
app.add_typer(keys.app, name="keys")
app.command("serve")(serve.serve)


def main() -> None:
    app()
