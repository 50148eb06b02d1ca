"""`bysecond compare --period YYYY-MM [--policy 10-minute-slices]` (R15)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bysecond.core.policy import FORMER_POLICY, PolicyError, policy
from bysecond.services.compare import PlatformComparison, compare_period

from . import context
from .options import DbOption, fail, open_or_exit

console = Console(highlight=False)


def compare(
    ctx: typer.Context,
    period_text: Annotated[
        str, typer.Option("--period", metavar="YYYY-MM", help=context.PERIOD_HELP)
    ],
    other: Annotated[
        str, typer.Option("--policy", help="The policy to compare with.")
    ] = FORMER_POLICY.name,
    top: Annotated[int, typer.Option("--top", min=0, help="Organisations listed.")] = 10,
    at: context.AtOption = None,
    json_output: context.JsonOption = False,
    db: DbOption = None,
) -> None:
    """What every organisation's period would cost under another policy (R15)."""
    period = context.period(period_text)
    try:
        chosen = policy(other)
    except PolicyError as error:
        raise fail(str(error)) from None
    database = open_or_exit(ctx, db)
    try:
        result = compare_period(
            database, context.billing_context(database, context.instant(at)), period.key, chosen
        )
    finally:
        database.close()
    if json_output:
        typer.echo(orjson.dumps(comparison_json(result), option=orjson.OPT_INDENT_2).decode())
    else:
        print_comparison(result, top)


def comparison_json(result: PlatformComparison) -> dict[str, object]:
    return {
        "period": result.period,
        "policy": result.other_policy,
        "subtotal": str(result.subtotal),
        "other_subtotal": str(result.other_subtotal),
        "saving": str(result.other_subtotal - result.subtotal),
        "median_saving": str(result.saving_quantile(50)),
        "p90_saving": str(result.saving_quantile(90)),
        "largest_saving": str(-result.largest_saving.change) if result.largest_saving else "0",
        "organizations": [
            {
                "organization_id": o.organization_id,
                "policy": o.policy,
                "subtotal": str(o.subtotal),
                "other_subtotal": str(o.other_subtotal),
                "change": str(o.change),
                "change_percent": None if o.change_percent is None else str(o.change_percent),
            }
            for o in result.organizations
        ],
    }


def print_comparison(result: PlatformComparison, top: int) -> None:
    table = Table(title=f"{result.period}: own policy against {result.other_policy}")
    for column in ("organisation", "policy", "subtotal", result.other_policy, "change", "%"):
        table.add_column(
            column, justify="left" if column in ("organisation", "policy") else "right"
        )
    for o in sorted(result.organizations, key=lambda o: (o.change, o.organization_id))[:top]:
        table.add_row(
            o.organization_id,
            o.policy,
            f"{o.subtotal:,.2f}",
            f"{o.other_subtotal:,.2f}",
            f"{o.change:+,.2f}",
            "" if o.change_percent is None else f"{o.change_percent:+}",
        )
    console.print(table)
    saving = result.other_subtotal - result.subtotal
    console.print(
        f"platform: {result.subtotal:,.2f} EUR, {result.other_policy} would be "
        f"{result.other_subtotal:,.2f} EUR (saving {saving:,.2f} EUR) over "
        f"{len(result.organizations)} organisations"
    )
    console.print(
        f"saving per organisation: median {result.saving_quantile(50):,.2f}, "
        f"p90 {result.saving_quantile(90):,.2f}, largest "
        f"{-result.largest_saving.change if result.largest_saving else 0:,.2f} EUR"
    )
