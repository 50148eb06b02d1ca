"""`bysecond tasks add`: bill a custom task done by the support team (R2, R10)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from bysecond.services.customers import UnknownOrganization, organization
from bysecond.services.tasks import TaskError, add_task, task_event

from . import context
from .options import DbOption, fail, open_or_exit

app = typer.Typer(no_args_is_help=True, help="Custom tasks done on request.")


@app.command("add")
def add(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(metavar="ORG")],
    description: Annotated[str, typer.Option("--description", help="What was done.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="A fixed amount, e.g. 80.00.")
    ] = None,
    price_key: Annotated[
        str | None, typer.Option("--price-key", help="A catalog price, task.<name>.")
    ] = None,
    quantity: Annotated[
        str | None, typer.Option("--quantity", help="How many units of the price.")
    ] = None,
    task_id: Annotated[
        str | None, typer.Option("--id", help="The task's id. Default: a new one.")
    ] = None,
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Bill a task: either --amount, or --price-key with --quantity."""
    if (amount is None) == (price_key is None):
        raise fail("give either --amount, or --price-key with --quantity")
    if price_key is not None and quantity is None:
        raise fail("--price-key needs --quantity")
    when = context.instant(at)
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            organization(uow.session, organization_id)
        event = task_event(
            organization_id,
            description,
            when,
            amount=amount,
            price_key=price_key,
            quantity=quantity,
            task_id=task_id,
        )
        outcome = add_task(database, event, when)
    except (UnknownOrganization, TaskError) as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if json_output:
        typer.echo(
            orjson.dumps(
                {"task_id": event["data"]["task_id"], "status": str(outcome.status)}
            ).decode()
        )
    else:
        typer.echo(f"task {event['data']['task_id']} for {organization_id}: {outcome.status}")
