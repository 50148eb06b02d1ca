"""`python -m bench`: every measure, then the table and the raw figures written."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime

import psycopg

from . import machine, report
from .console import BenchError, console
from .options import parse
from .results import Results
from .runner import run_all


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    words = sys.argv[1:] if argv is None else argv
    results = Results()
    try:
        header = report.Header(
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            command=shlex.join([".venv/bin/python", "-m", "bench", *words]),
            machine=machine.describe(
                options.postgresql if "postgresql" in options.targets else None
            ),
        )
        console.rule(
            f"bysecond benchmarks: {', '.join(options.sizes)} on {', '.join(options.targets)}"
        )
    except psycopg.OperationalError as error:
        console.print(f"[red]PostgreSQL at {options.postgresql} is unusable:[/red] {error}")
        return 1
    try:
        run_all(options, results)
    except (BenchError, psycopg.OperationalError) as error:
        # What was measured before is still written, marked as an interrupted run.
        console.print(f"[red]benchmark stopped:[/red] {error}")
        results.stopped = " ".join(str(error).split())
    header.machine["load average at end"] = [round(x, 2) for x in os.getloadavg()]
    text = report.markdown(results, header, options.sizes, options.targets)
    figures = report.raw(results, header, options.sizes, options.targets)
    table, data = report.write(options.output, text, figures)
    console.log(f"wrote {table} and {data}")
    if options.write_results is not None and not results.stopped:
        report.merge_into(options.write_results, text)
        console.log(f"merged the table into {options.write_results}")
    sys.stdout.write(text)
    return 1 if results.stopped else 0
