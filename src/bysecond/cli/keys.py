"""`bysecond keys create|revoke|list`: the API's bearer keys, kept as hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bysecond.core.period import rfc3339
from bysecond.services.customers import UnknownOrganization
from bysecond.services.keys import KeyView, UnknownKey, issue_key, list_keys, revoke_key

from . import context
from .options import DbOption, fail, open_or_exit

app = typer.Typer(no_args_is_help=True, help="API keys: operator keys and organisation keys.")
console = Console(highlight=False)


@app.command("create")
def create(
    ctx: typer.Context,
    operator: Annotated[
        bool, typer.Option("--operator", help="A key that may do everything.")
    ] = False,
    org: Annotated[
        str | None,
        typer.Option("--org", metavar="ORG", help="A key that sees only this organisation."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="What the key is for.")] = None,
    register: Annotated[
        bool,
        typer.Option("--register", help="Register ORG if no event has named it yet."),
    ] = False,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Create a key and print it, once: only its hash is kept."""
    if operator == (org is not None):
        raise fail("give either --operator or --org ORG")
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work() as uow:
            issued = issue_key(
                uow.session,
                organization_id=org,
                name=name,
                now=datetime.now(UTC),
                register=register,
            )
            uow.commit()
    except UnknownOrganization as error:
        raise fail(f"{error}; --register registers it now") from None
    except ValueError as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if json_output:
        typer.echo(orjson.dumps({**_json(issued.key), "key": issued.secret}).decode())
        return
    scope = f"organisation {org}" if org else "operator"
    console.print(f"created {scope} key {issued.key.id} ({issued.key.name})")
    console.print("the key, shown this once; keep it secret:", style="bold")
    typer.echo(issued.secret)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID")],
    db: DbOption = None,
) -> None:
    """Revoke a key: it is refused from now on."""
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work() as uow:
            key = revoke_key(uow.session, key_id, datetime.now(UTC))
            uow.commit()
    except UnknownKey as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    assert key.revoked_at is not None
    console.print(f"revoked {key.id} ({key.name}) at {rfc3339(key.revoked_at)}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's.")] = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every key, revoked ones included; never the keys themselves."""
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            keys = list_keys(uow.session, org)
    finally:
        database.close()
    if json_output:
        typer.echo(orjson.dumps([_json(key) for key in keys], option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{len(keys)} key(s)")
    for column in ("id", "scope", "name", "created", "revoked"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.id,
            key.organization_id or "operator",
            key.name,
            rfc3339(key.created_at),
            rfc3339(key.revoked_at) if key.revoked_at else "",
        )
    console.print(table)


def _json(key: KeyView) -> dict[str, object]:
    return {
        "id": key.id,
        "organization_id": key.organization_id,
        "operator": key.organization_id is None,
        "name": key.name,
        "created_at": rfc3339(key.created_at),
        "revoked_at": rfc3339(key.revoked_at) if key.revoked_at else None,
    }
