"""What every command shares: the `--db` option and opening the database it names."""

from __future__ import annotations

from typing import Annotated, Final

import typer
from rich.console import Console

from bysecond.store.database import DATABASE_URL_ENV, Database, DatabaseError, open_database

USAGE_ERROR: Final = 2  # the exit status of a command that could not start

DB_HELP: Final = (
    "Database URL: sqlite:///FILE, postgresql://USER@HOST/NAME, or a file path."
    " Default: bysecond.sqlite3 in the user's data folder."
)
# On the app (`bysecond --db URL COMMAND`), where the environment variable is read.
GlobalDbOption = Annotated[
    str | None,
    typer.Option("--db", envvar=DATABASE_URL_ENV, help=DB_HELP, show_default=False, metavar="URL"),
]
# On each command (`bysecond COMMAND --db URL`); it wins over the global one.
DbOption = Annotated[
    str | None, typer.Option("--db", help=DB_HELP, show_default=False, metavar="URL")
]

errors = Console(stderr=True, highlight=False, soft_wrap=True)


def remember_database(ctx: typer.Context, db: GlobalDbOption = None) -> None:
    """Usage billing by the second: ingest usage events, bill, issue invoices."""
    ctx.obj = {"db": db}


def chosen_database_url(ctx: typer.Context, db: str | None) -> str | None:
    """The command's --db, else the app's --db or $BYSECOND_DATABASE_URL, else None."""
    if db:
        return db
    parent = ctx.find_root().obj
    return parent.get("db") if isinstance(parent, dict) else None


def fail(message: str, status: int = USAGE_ERROR) -> typer.Exit:
    """Print one line on standard error and return the exit to raise."""
    errors.print(f"error: {message}", markup=False)
    return typer.Exit(status)


def open_or_exit(ctx: typer.Context, db: str | None) -> Database:
    try:
        return open_database(chosen_database_url(ctx, db))
    except DatabaseError as error:
        raise fail(str(error)) from None
