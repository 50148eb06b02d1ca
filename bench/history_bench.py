"""What earlier months cost a month's billing run and an estimate (the whole-history read).

    .venv/bin/python bench/history_bench.py bench/data/events-2026-10-orgs5000-k200-seed42.jsonl
    .venv/bin/python bench/history_bench.py MONTH.jsonl --months 3 --work /tmp/history

With `--issue-earlier`, the earlier months are finalised first, oldest first, as on a
platform billed every month: the month's organisations then all have issued invoices.

Billing a period replays every event of an organisation before the period's end, not
only the period's (docs/billing-run.md, "Known limit"). This builds two SQLite stores
from one generated month: the month alone, and the month after `--months` earlier
months of closed runs. Each earlier month is the month's own instance events moved back
31 days per month, with new event and instance ids, keeping only the instances whose
every run stops before the month billed: those months add events to replay and nothing
to bill. Both stores then bill the month's drafts (`bysecond bill`, the default engine)
in interleaved pairs, which must give the same subtotals, and time an estimate of the
organisation with the most events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench package

from bench.harness.datasets import BYSECOND
from bysecond.services.estimates import current_estimate
from bysecond.settings import Settings
from bysecond.store.database import open_database

PERIOD = "2026-10"
PERIOD_START = "2026-10-01"
ESTIMATE_CLOCK = datetime(2026, 10, 20, 12, tzinfo=UTC)


def earlier_month(events: list[dict[str, Any]], back: int) -> list[dict[str, Any]]:
    """The month's instance events `back` months earlier, new ids, closed runs only."""
    shift = timedelta(days=31 * back)
    moved: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if not event["type"].startswith("instance."):
            continue
        instant = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) - shift
        instance = f"h{back}-{event['data']['instance_id']}"
        moved[instance].append(
            {
                **event,
                "id": f"h{back}-{event['id']}",
                "time": instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "data": {**event["data"], "instance_id": instance},
            }
        )
    kept: list[dict[str, Any]] = []
    for instance_events in moved.values():
        closed = instance_events[-1]["type"] == "instance.stopped"
        if closed and all(e["time"] < PERIOD_START for e in instance_events):
            kept.extend(instance_events)
    return kept


def ingest(store: Path, files: list[Path]) -> None:
    url = f"sqlite:///{store}"
    subprocess.run(
        [*BYSECOND, "ingest", "--db", url, "--json", *map(str, files)],
        check=True,
        capture_output=True,
    )


def _remove(store: Path) -> None:
    """An SQLite file and its journals, if any."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


def issue_earlier(store: Path, events: list[dict[str, Any]]) -> list[str]:
    """Finalise every earlier month, oldest first, as a platform billed month after month
    does. The clock is two hours past now, so that no event just ingested counts as late
    usage (R14 looks again at what was received up to an hour before an issue)."""
    periods = sorted({e["time"][:7] for e in events})
    clock = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for period in periods:
        finalise = ("bill", "--period", period, "--finalize", "--at", clock, "--json")
        subprocess.run(
            [*BYSECOND, *finalise, "--db", f"sqlite:///{store}"],
            check=True,
            capture_output=True,
        )
    return periods


def bill_drafts(store: Path, copy: Path) -> tuple[float, Decimal]:
    """Drafts of the period on a fresh copy of `store`: seconds, sum of subtotals."""
    _remove(copy)
    for suffix in ("", "-wal"):  # the log, if a writer left one, holds committed rows
        if Path(f"{store}{suffix}").exists():
            Path(f"{copy}{suffix}").write_bytes(Path(f"{store}{suffix}").read_bytes())
    started = time.perf_counter()
    done = subprocess.run(
        [*BYSECOND, "bill", "--period", PERIOD, "--json", "--db", f"sqlite:///{copy}"],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    results = json.loads(done.stdout)["organizations"]
    return seconds, sum((Decimal(r["subtotal"]) for r in results if r.get("subtotal")), Decimal(0))


def estimate_ms(store: Path, repeat: int = 20) -> tuple[str, int, float]:
    """The organisation with the most events, its event count, and an estimate's median ms."""
    database = open_database(f"sqlite:///{store}", apply_migrations=False)
    seller = Settings.from_environment().seller
    try:
        with database.unit_of_work(read_only=True) as uow:
            org, count = (
                uow.session.connection()
                .exec_driver_sql(
                    "SELECT organization_id, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC"
                    " LIMIT 1"
                )
                .one()
            )
        timings = []
        for _ in range(repeat + 3):
            started = time.perf_counter()
            with database.unit_of_work(read_only=True) as uow:
                current_estimate(uow.session, seller, org, ESTIMATE_CLOCK)
            timings.append(time.perf_counter() - started)
        timings = sorted(timings[3:])
        return org, count, timings[len(timings) // 2] * 1000
    finally:
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("month", type=Path, help=f"a generated month of {PERIOD} (JSON Lines)")
    parser.add_argument("--months", type=int, default=3, help="earlier months (default 3)")
    parser.add_argument("--pairs", type=int, default=2, help="interleaved runs of each store")
    parser.add_argument(
        "--issue-earlier",
        action="store_true",
        help="finalise the earlier months before the month is billed",
    )
    parser.add_argument("--work", type=Path, default=Path("bench/results/history"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    events = [orjson.loads(line) for line in args.month.read_bytes().splitlines() if line]
    files, earlier = [], []
    for back in range(1, args.months + 1):
        path = args.work / f"earlier-{back}.jsonl"
        moved = earlier_month(events, back)
        path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in moved))
        files.append(path)
        earlier += moved
    alone, with_history = args.work / "month.sqlite3", args.work / "with-history.sqlite3"
    for store in (alone, with_history):
        _remove(store)
    ingest(alone, [args.month])
    ingest(with_history, [args.month, *files])
    if args.issue_earlier:
        started = time.perf_counter()
        issued = issue_earlier(with_history, earlier)
        print(f"issued {', '.join(issued)} in {time.perf_counter() - started:.1f} s")
    copy = args.work / "run.sqlite3"
    subtotals = set()
    for pair in range(1, args.pairs + 1):
        for name, store in (("month alone", alone), (f"+{args.months} months", with_history)):
            seconds, subtotal = bill_drafts(store, copy)
            subtotals.add(subtotal)
            print(f"pair {pair}, {name}: drafts {seconds:.2f} s, subtotals {subtotal} EUR")
    if len(subtotals) != 1:  # the earlier months must add nothing to the month's invoices
        raise SystemExit(f"the stores billed different subtotals: {sorted(subtotals)}")
    for name, store in (("month alone", alone), (f"+{args.months} months", with_history)):
        org, count, ms = estimate_ms(store)
        print(f"{name}: estimate of {org} ({count} events stored) {ms:.1f} ms (median)")


if __name__ == "__main__":
    main()
