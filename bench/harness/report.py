"""The written results: a Markdown table for people, a JSON file with every raw figure.

`--write-results FILE` merges the Markdown into FILE between two marker comments,
replacing what a previous run put there and leaving the rest of the file as written;
a file without the markers gets the section appended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from . import results as r
from .floor import __doc__ as FLOOR_DOC
from .results import Results
from .targets import verdict

BEGIN: Final = "<!-- python -m bench: begin -->"
END: Final = "<!-- python -m bench: end -->"

NOTES: Final = """\
- **bulk ingest**: wall time of `bysecond ingest FILE --db URL --json` in a subprocess,
  start to exit, on a fresh store; events/s = accepted events / seconds. Checked: exit
  status 0, one acceptance per distinct event of the file, and as many rows in `events`.
- **HTTP batch ingest**: the same file posted to one `bysecond serve` process (one uvicorn
  worker) in batches of 1,000, 4 requests in flight, on a fresh store; accepted events /
  seconds, checked the same way (bench/http_ingest_bench.py).
- **billing run**: `bysecond bill --period 2026-10` (drafts), then the same with
  `--finalize`, each timed start to exit on the ingested store. Peak memory: the largest
  sum of the resident sets of the command and all its child processes, sampled every
  20 ms. Checked: every organisation with an event in the month has a finalised invoice.
- **estimate latency**: GET `/v1/organizations/{org}/estimate` with an operator key, one
  request at a time over different organisations after a warm-up, against the store the
  billing run left (the whole size), the API in its own process with its clock at
  2026-10-20T12:00:00Z.
- **PDF rendering**: `render_pdf(document)` on about 50 finalised invoices of the store,
  this process pinned to one core, after one warm-up render.
- **billing run / DuckDB floor**: each run's drafts + finalisation time over the median
  floor time of the same size."""


@dataclass(frozen=True)
class Header:
    date: str
    command: str
    machine: dict[str, Any]


def markdown(results: Results, header: Header, sizes: list[str], targets: list[str]) -> str:
    machine = header.machine
    lines = [
        BEGIN,
        f"## Benchmark run of {header.date}",
        "",
        f"Command: `{header.command}`",
        "",
        "Machine: "
        + f"{machine['cores']} cores ({machine['cpu']}), {machine['ram_gib']} GiB RAM,"
        + f" {machine['os']}, Python {machine['python']}, SQLite {machine['sqlite']},"
        + f" PostgreSQL {machine['postgresql'] or 'not used'}, DuckDB {machine['duckdb']};"
        + f" bysecond {machine['bysecond commit']}; single-core speed"
        + f" {machine.get('single-core speed', '?')} typical invoice PDFs/s; load average at start"
        + f" {_loads(machine['load average at start'])}, at end"
        + f" {_loads(machine.get('load average at end', []))} (1, 5, 15 min;"
        + " other work on the machine slows every figure).",
        "",
        *(
            [f"**Stopped early**, figures below are partial: {results.stopped}", ""]
            if results.stopped
            else []
        ),
        "| size | target DB | measure | median | min | max | unit | runs | target |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for series in results.ordered(sizes, targets):
        judged = verdict(series, results)
        target = f"{judged.target}: {judged.status}" if judged.target else "-"
        m = series.measure
        lines.append(
            f"| {series.size} | {series.target} | {m.name} | {_number(series.median, m)}"
            f" | {_number(series.low, m)} | {_number(series.high, m)} | {m.unit}"
            f" | {len(series.values)} | {target} |"
        )
    lines += ["", "What each measure is:", "", NOTES, "", "The floor: " + _floor_text(), "", END]
    return "\n".join(lines) + "\n"


def raw(results: Results, header: Header, sizes: list[str], targets: list[str]) -> dict[str, Any]:
    rows = []
    for series in results.ordered(sizes, targets):
        judged = verdict(series, results)
        rows.append(
            {
                "size": series.size,
                "target_db": series.target,
                "measure": series.measure.name,
                "unit": series.measure.unit,
                "values": series.values,
                "median": series.median,
                "min": series.low,
                "max": series.high,
                "runs": len(series.values),
                "target": judged.target,
                "status": judged.status,
            }
        )
    return {
        "date": header.date,
        "command": header.command,
        "machine": header.machine,
        "results": rows,
        "checks": results.checks,
        "stopped": results.stopped,
    }


def write(folder: Path, text: str, figures: dict[str, Any]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    table, data = folder / "latest.md", folder / "latest.json"
    table.write_text("# bysecond benchmarks: latest run\n\n" + text)
    data.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return table, data


def merge_into(path: Path, text: str) -> None:
    before = path.read_text() if path.exists() else ""
    if BEGIN in before and END in before:
        head, _, rest = before.partition(BEGIN)
        _, _, tail = rest.partition(END)
        merged = head + text.rstrip("\n") + tail
    else:
        merged = before.rstrip("\n") + ("\n\n" if before else "") + text
    path.write_text(merged)


def _loads(figures: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in figures) or "?"


def _number(value: float, measure: r.Measure) -> str:
    return f"{value:,.{measure.digits}f}"


def _floor_text() -> str:
    # The floor module's own description: what the query computes, said once.
    body = (FLOOR_DOC or "").split("\n\n", 1)[-1]
    return body.strip()
