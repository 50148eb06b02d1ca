"""HTTP ingestion benchmark: N events posted to `bysecond serve` in batches of 1,000.

    .venv/bin/python bench/http_ingest_bench.py --events 200000
    .venv/bin/python bench/http_ingest_bench.py --events 100000 --target sqlite --concurrency 1
    .venv/bin/python bench/http_ingest_bench.py --file bench/data/events-....jsonl

`python -m bench` reuses `file_batches`, `operator_key`, `server` and `post_all` to post
a generated month (`--file` here does the same on its own).

For each store (a temporary SQLite file, a fresh PostgreSQL database created and dropped
here), an operator key is made, one `bysecond serve` process (one uvicorn worker) is
started on a free port, and the batches are posted with httpx from this process,
`--concurrency` requests in flight. The events are those of `ingest_bench.py` (groups
of ten events per organisation), dated in the month before now so that none is from the
future; they are serialised before the clock starts. A second pass posts the same
batches again (all duplicates, R3). Every answer is checked: 202, and every event
accepted (first pass) or duplicate (second pass). With `--file`, the events are the
lines of a JSON Lines file as they are (a generated month holds a few duplicate
deliveries, answered as duplicates in the first pass too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
from psycopg import sql

from bysecond.services.keys import issue_key
from bysecond.store.database import open_database

# Run as a script, and imported by `python -m bench`: ingest_bench is found either way.
sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import synthetic_events

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = "application/cloudevents-batch+json"


def batches(count: int, size: int) -> list[bytes]:
    """The events, dated over the 30 days before now, as request bodies."""
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=29) / max(count, 1)
    events = []
    for index, event in enumerate(synthetic_events(count)):
        event["time"] = (start + index * step).isoformat().replace("+00:00", "Z")
        events.append(event)
    return [orjson.dumps(events[i : i + size]) for i in range(0, count, size)]


def file_batches(path: Path, size: int) -> tuple[list[bytes], int]:
    """The lines of a JSON Lines file as request bodies of `size` events, and their count.

    The lines are joined as they are, not decoded: the client does no work per event."""
    with path.open("rb") as stream:
        lines = [line.rstrip(b"\n") for line in stream if line.strip()]
    bodies = [b"[" + b",".join(lines[i : i + size]) + b"]" for i in range(0, len(lines), size)]
    return bodies, len(lines)


def wait_until_up(base: str, process: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    """Whether the API at `base` answers before `process` ends or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{base}/v1/openapi.json", timeout=1)
            return True
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def operator_key(url: str) -> str:
    database = open_database(url)  # also creates the schema before the server starts
    try:
        with database.unit_of_work() as uow:
            issued = issue_key(
                uow.session, organization_id=None, name="bench", now=datetime.now(UTC)
            )
            uow.commit()
        return issued.secret
    finally:
        database.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "BYSECOND_DATABASE_URL": url}
    command = [sys.executable, "-m", "bysecond", "serve", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_up(base, process):
            raise SystemExit("bysecond serve did not start")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


async def post_all(
    base: str, key: str, bodies: list[bytes], concurrency: int
) -> tuple[float, Counter[str]]:
    """Seconds to post every body, and the events accepted, duplicate and rejected."""
    totals: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": BATCH}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                answer = await client.post("/v1/events", content=body, headers=headers)
                if answer.status_code != 202:
                    raise SystemExit(f"{answer.status_code}: {answer.text[:500]}")
                counts = orjson.loads(answer.content)
                for outcome in ("accepted", "duplicates", "rejected"):
                    totals[outcome] += counts[outcome]

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, totals


def run(label: str, url: str, bodies: list[bytes], count: int, concurrency: int) -> None:
    key = operator_key(url)
    with server(url) as base:
        for name, expected in (("first pass", "accepted"), ("again (duplicates)", "duplicates")):
            elapsed, totals = asyncio.run(post_all(base, key, bodies, concurrency))
            # A generated file's own duplicate deliveries are duplicates in the first pass.
            if totals["rejected"] or (expected == "duplicates" and totals[expected] != count):
                raise SystemExit(f"{name}: not all {expected}: {dict(totals)}")
            if expected == "accepted" and totals["accepted"] + totals["duplicates"] != count:
                raise SystemExit(f"{name}: {dict(totals)} answered, {count:,} events sent")
            print(
                f"| {label} | {name} | {count:,} | {len(bodies):,} | {concurrency} |"
                f" {elapsed:.1f} s | {count / elapsed:,.0f} events/s |",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--file", type=Path, help="post this JSON Lines file's events instead")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--target", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgresql", default=DEFAULT_PG, help="maintenance database URL")
    args = parser.parse_args()

    if args.file:
        bodies, args.events = file_batches(args.file, args.batch)
    else:
        bodies = batches(args.events, args.batch)
    print(f"{args.events:,} events in batches of {args.batch:,}, {os.cpu_count()} CPUs")
    print("| database | pass | events | requests | in flight | time | rate |")
    print("|---|---|---|---|---|---|---|")
    if args.target in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bysecond-http-bench-") as folder:
            url = f"sqlite:///{folder}/bench.sqlite3"
            run("sqlite", url, bodies, args.events, args.concurrency)
    if args.target in ("postgresql", "both"):
        name = f"bysecond_http_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgresql, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = args.postgresql.rsplit("/", 1)[0] + "/" + name
            run("postgresql", url, bodies, args.events, args.concurrency)
        finally:
            with psycopg.connect(args.postgresql, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
