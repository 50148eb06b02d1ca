"""Invoice rendering benchmark: PDFs per second on one core.

    .venv/bin/python bench/render_bench.py --seconds 10             # the typical two-page invoice
    .venv/bin/python bench/render_bench.py --seconds 10 --runs 5000  # 5,000 runs on 80 pages
    .venv/bin/python bench/render_bench.py --seconds 30 --document invoice.json

The process is pinned to one CPU. After one warm-up render (fonts loaded, Babel's locale
data read: kept for the process's life), the same document is rendered to PDF again and
again for the given time with `bysecond.render.render_pdf`, the renderer of the CLI, the
API and the demo (ReportLab, render/pdf); the HTML of the web view is timed apart.

Measured on the 2-core development machine (ReportLab 4.5 with rl_accel): the typical
invoice in ~20 ms, about 48 invoices/s (23/s without rl_accel, ReportLab's C speed-ups,
which `reportlab[accel]` installs); the 5,000-run invoice in ~1.9 s. Laying out the HTML
with WeasyPrint, the former renderer, took ~300 ms for the typical invoice.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the samples live in tests/

from pypdf import PdfReader
from reportlab.lib.rl_accel import fp_str
from tests.documents_fixtures import large_invoice, typical_invoice

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
        # The median resists the pauses of a machine shared with other work.
        "median_per_second": round(1 / statistics.median(spent), 2),
        "median_ms": round(statistics.median(spent) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time per step")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--document", type=Path, help="an invoice document (JSON)")
    source.add_argument("--runs", type=int, help="the test invoice with this many runs")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.document:
        document = json.loads(args.document.read_text())
    else:
        document = large_invoice(args.runs) if args.runs else typical_invoice()
    pdf = render_pdf(document)  # warm-up
    html = report("html (web view)", timings(lambda: render_html(document), args.seconds / 4))
    whole = report("pdf", timings(lambda: render_pdf(document), args.seconds))
    accelerated = fp_str.__module__ != "reportlab.lib.rl_accel"  # the C version, or Python's
    pages = len(PdfReader(BytesIO(pdf)).pages)
    print(json.dumps({"pdf_bytes": len(pdf), "pages": pages, "rl_accel": accelerated}))
    for row in (html, whole):
        print(json.dumps(row))
    print(
        f"{whole['median_per_second']} invoices/s on one core (PDF, median of "
        f"{whole['runs']} renders: {whole['median_ms']} ms; mean {whole['per_second']}/s)"
    )


if __name__ == "__main__":
    main()
