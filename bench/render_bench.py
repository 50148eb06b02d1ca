"""Invoice rendering benchmark: PDFs per second on one core.

    .venv/bin/python bench/render_bench.py                  # the typical two-page invoice
    .venv/bin/python bench/render_bench.py --seconds 30 --document invoice.json

The process is pinned to one CPU. After one warm-up render (template compiled, CSS parsed,
fonts loaded: all kept for the process's life), the same document is rendered to PDF again
and again for the given time; the HTML step alone is timed too.

Measured on the 2-core development machine (WeasyPrint 70, HarfBuzz-subset installed):
about 3 invoices/s (~330 ms each: ~120 ms for the summary page, ~6 ms per detail row);
the HTML alone takes ~4 ms. Without libharfbuzz-subset0 WeasyPrint falls back to
fontTools to subset fonts and an invoice takes ~860 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the samples live in tests/

from tests.documents_fixtures import typical_invoice

from bysecond.render import render_html, render_pdf


def timings(work: Callable[[], object], seconds: float) -> list[float]:
    spent: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        work()
        spent.append(time.perf_counter() - started)
    return spent


def report(name: str, spent: list[float]) -> dict[str, Any]:
    return {
        "step": name,
        "runs": len(spent),
        "per_second": round(len(spent) / sum(spent), 2),
        "median_ms": round(statistics.median(spent) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time per step")
    parser.add_argument("--document", type=Path, help="an invoice document (JSON)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    document = json.loads(args.document.read_text()) if args.document else typical_invoice()
    pdf = render_pdf(document)  # warm-up
    html = report("html", timings(lambda: render_html(document), args.seconds / 4))
    whole = report("pdf", timings(lambda: render_pdf(document), args.seconds))
    print(json.dumps({"pdf_bytes": len(pdf)}))
    for row in (html, whole):
        print(json.dumps(row))
    print(f"{whole['per_second']} invoices/s on one core (PDF, median {whole['median_ms']} ms)")


if __name__ == "__main__":
    main()
