"""Bulk ingest: `bysecond ingest FILE --db URL`, timed end to end as a user runs it.

The figure counts the events really stored: the command must exit 0 (nothing
rejected), its JSON summary must report one acceptance per distinct event of the file
(duplicate deliveries are answered, not stored), and a count in SQL afterwards must
find exactly those rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson

from .console import BenchError
from .datasets import BYSECOND, Dataset
from .processes import run_measured
from .stores import Store


def bulk_ingest(dataset: Dataset, store: Store) -> tuple[float, dict[str, object]]:
    """(accepted events per second, the facts checked)."""
    with tempfile.TemporaryDirectory(prefix="bysecond-bench-") as folder:
        rejects = Path(folder) / "rejects.jsonl"
        command = [
            *BYSECOND,
            "ingest",
            str(dataset.jsonl),
            "--db",
            store.url,
            "--json",
            "--rejects",
            str(rejects),
        ]
        done = run_measured(command, sample_memory=False)  # only events/s is reported
    if done.returncode != 0:
        raise BenchError(done.describe_failure())
    summary = orjson.loads(done.stdout)
    accepted = int(summary["accepted"])
    stored = store.count_events()
    facts = {
        "lines": dataset.lines,
        "accepted": accepted,
        "duplicates": summary["duplicates"],
        "rejected": summary["rejected"],
        "stored (SQL count)": stored,
    }
    if summary["rejected"] or accepted != dataset.distinct_events or stored != accepted:
        raise BenchError(
            f"ingest stored the wrong events: {facts}, expected {dataset.distinct_events:,}"
        )
    return accepted / done.seconds, facts
