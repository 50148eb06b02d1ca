"""`bysecond generate`: a realistic, deterministic platform month as JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from bysecond.generator.month import generate_month

from . import context


def generate(
    month: Annotated[str, typer.Option("--month", metavar="YYYY-MM", help="The month generated.")],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="The JSON Lines file written."
        ),
    ],
    orgs: Annotated[int, typer.Option("--orgs", min=1, help="Organisations.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same events.")] = 42,
    events_per_org: Annotated[
        int | None,
        typer.Option(
            "--events-per-org", min=20, metavar="K", help="About K events per organisation."
        ),
    ] = None,
    late: Annotated[
        bool, typer.Option("--late/--no-late", help="Append the month's late events at the end.")
    ] = True,
) -> None:
    """Write a month of usage events: scaling, builds, add-ons, tasks, duplicates."""
    context.period(month)
    count = 0
    with output.open("wb") as stream:
        late_events = []
        for plan in generate_month(orgs, month, seed, events_per_org):
            for event in plan.events:
                stream.write(orjson.dumps(event) + b"\n")
            count += len(plan.events)
            late_events += plan.late_events
        if late:
            for event in late_events:
                stream.write(orjson.dumps(event) + b"\n")
            count += len(late_events)
    typer.echo(f"wrote {count:,} events of {orgs:,} organisations for {month} to {output}")
