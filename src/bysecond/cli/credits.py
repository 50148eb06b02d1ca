"""`bysecond credits grant|show`: credits usable for everything (R10)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bysecond.core.period import rfc3339
from bysecond.services.credits import CreditError, CreditStatement, grant_credit, live_statement
from bysecond.services.customers import UnknownOrganization

from . import context
from .options import DbOption, fail, open_or_exit

app = typer.Typer(no_args_is_help=True, help="Grant credits and read balances.")
console = Console(highlight=False)


@app.command("grant")
def grant(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(metavar="ORG")],
    amount: Annotated[str, typer.Option("--amount", help="Decimal amount, e.g. 50.00.")],
    kind: Annotated[str, typer.Option("--kind", help="promotional (free) or prepaid (bought).")],
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="INSTANT", help="When a promotional grant expires."),
    ] = None,
    priority: Annotated[int, typer.Option("--priority", help="Lower is drawn first.")] = 0,
    reason: Annotated[str, typer.Option("--reason", help="Shown on the statement.")] = "",
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Give an organisation credit; it pays for any line (R10)."""
    if kind not in ("promotional", "prepaid"):
        raise fail(f"--kind must be promotional or prepaid, not {kind!r}")
    granted_at = context.instant(at)
    expires_at = context.instant(expires, "--expires") if expires else None
    database = open_or_exit(ctx, db)
    try:
        with database.unit_of_work() as uow:
            row = grant_credit(
                uow.session,
                organization_id,
                amount,
                kind,
                granted_at=granted_at,
                expires_at=expires_at,
                priority=priority,
                reason=reason,
            )
            uow.commit()
    except (CreditError, UnknownOrganization) as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if json_output:
        typer.echo(
            orjson.dumps(
                {
                    "grant_id": row.id,
                    "organization_id": organization_id,
                    "kind": kind,
                    "amount": str(row.amount),
                }
            ).decode()
        )
    else:
        until = f", expires {rfc3339(expires_at)}" if expires_at else ""
        console.print(
            f"granted {row.amount} {row.currency} {kind} credit to {organization_id}"
            f" ({row.id}{until})"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(metavar="ORG")],
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """Grants, what each paid on which invoice, expirations, and the live balance."""
    now = context.instant(at)
    database = open_or_exit(ctx, db)
    try:
        billing = context.billing_context(database, now)
        with database.unit_of_work(read_only=True) as uow:
            statement = live_statement(uow.session, billing, organization_id)
    except UnknownOrganization as error:
        raise fail(str(error)) from None
    finally:
        database.close()
    if json_output:
        typer.echo(orjson.dumps(statement_json(statement), option=orjson.OPT_INDENT_2).decode())
        return
    print_statement(statement)


def statement_json(statement: CreditStatement) -> dict[str, object]:
    return {
        "organization_id": statement.organization_id,
        "currency": statement.currency,
        "remaining": str(statement.remaining),
        "current_period": statement.draft_period,
        "current_draft_takes": str(statement.draft_takes),
        "live_balance": str(statement.live_balance),
        "grants": [
            {
                "grant_id": g.grant.id,
                "kind": g.grant.kind,
                "amount": str(g.grant.amount),
                "granted_at": rfc3339(g.grant.granted_at),
                "expires_at": rfc3339(g.grant.expires_at) if g.grant.expires_at else None,
                "priority": g.grant.priority,
                "reason": g.reason or None,
                "paid": [
                    {"invoice": number, "period": period, "amount": str(amount)}
                    for number, period, amount in g.paid
                ],
                "applied": str(g.applied),
                "expired": str(g.expired),
                "remaining": str(g.remaining),
            }
            for g in statement.grants
        ],
    }


def print_statement(statement: CreditStatement) -> None:
    table = Table(title=f"Credits of {statement.organization_id} ({statement.currency})")
    for column in ("grant", "kind", "granted", "expires", "amount", "paid", "expired", "remaining"):
        table.add_column(
            column,
            justify="right" if column in ("amount", "paid", "expired", "remaining") else "left",
        )
    for g in statement.grants:
        paid = "\n".join(f"{a} on {n or 'draft'} ({p})" for n, p, a in g.paid) or "0.00"
        table.add_row(
            g.grant.id,
            g.grant.kind,
            g.grant.granted_at.date().isoformat(),
            g.grant.expires_at.date().isoformat() if g.grant.expires_at else "never",
            str(g.grant.amount),
            paid,
            str(g.expired),
            str(g.remaining),
        )
    console.print(table)
    console.print(f"remaining credit: {statement.remaining} {statement.currency}")
    console.print(
        f"the {statement.draft_period} draft so far takes: "
        f"{statement.draft_takes} {statement.currency}"
    )
    console.print(f"live balance: {statement.live_balance} {statement.currency}", style="bold")
