"""PDF rendering: finalised invoices from the store through `render_pdf`, on one core.

The documents are the stored JSON of invoices spread over the period's numbers. This
process is pinned to one CPU while it renders (then given its CPUs back), after one
warm-up render that pays for templates, stylesheet and fonts once, as a long-running
renderer would. Only the `render_pdf(document)` call is timed; pages are counted after.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from pypdf import PdfReader

from .console import BenchError
from .datasets import MONTH
from .stores import Store


@dataclass(frozen=True)
class Rendering:
    median_per_second: float  # median over documents of 1 / its time
    aggregate_per_second: float  # documents / total time
    median_pages: float
    facts: dict[str, object]


def pdf_rendering(store: Store, count: int) -> Rendering:
    # Imported here: the other measures run even when the renderer cannot be imported.
    from bysecond.render.pdf import render_pdf

    documents = [orjson.loads(raw) for raw in store.finalized_documents(MONTH, count)]
    if not documents:
        raise BenchError("no finalised invoice to render")
    spent: list[float] = []
    pages: list[int] = []
    with one_core() as core:
        render_pdf(documents[0])  # warm-up, not counted
        for document in documents:
            began = time.perf_counter()
            pdf = render_pdf(document)
            spent.append(time.perf_counter() - began)
            pages.append(len(PdfReader(io.BytesIO(pdf)).pages))
    facts = {"invoices": len(documents), "core": core, "pages": f"{min(pages)}-{max(pages)}"}
    return Rendering(
        statistics.median(1 / seconds for seconds in spent),
        len(spent) / sum(spent),
        statistics.median(pages),
        facts,
    )


@contextmanager
def one_core() -> Iterator[int | None]:
    if not hasattr(os, "sched_setaffinity"):  # not on Linux: measured unpinned
        yield None
        return
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)
