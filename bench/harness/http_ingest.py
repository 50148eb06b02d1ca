"""HTTP batch ingest: the generated month posted to one `bysecond serve` process.

bench/http_ingest_bench.py does the work (a server with one uvicorn worker, batches of
1,000 events, a few requests in flight from an async client here); this module feeds
it the size's file and checks, as for bulk ingest, that every distinct event is stored.
"""

from __future__ import annotations

import asyncio

from bench import http_ingest_bench as http

from .console import BenchError
from .datasets import Dataset
from .stores import Store

BATCH = 1_000


def http_ingest(
    dataset: Dataset, store: Store, concurrency: int
) -> tuple[float, dict[str, object]]:
    """(accepted events per second, the facts checked)."""
    # Bodies are built before the clock starts: the figure is the server's, not the
    # client's reading of the file.
    bodies, count = http.file_batches(dataset.jsonl, BATCH)
    try:
        key = http.operator_key(store.url)  # also creates the schema
        with http.server(store.url) as base:
            seconds, totals = asyncio.run(http.post_all(base, key, bodies, concurrency))
    except SystemExit as stop:  # the script's way to fail; here it fails one run
        raise BenchError(f"HTTP ingest: {stop}") from None
    stored = store.count_events()
    facts = {
        "events posted": count,
        "requests": len(bodies),
        "in flight": concurrency,
        **dict(totals),
        "stored (SQL count)": stored,
    }
    if (
        totals["rejected"]
        or totals["accepted"] != dataset.distinct_events
        or stored != totals["accepted"]
    ):
        raise BenchError(f"HTTP ingest stored the wrong events: {facts}")
    return totals["accepted"] / seconds, facts
