"""`bysecond ingest FILE... | -`: store JSON Lines of CloudEvents, report every refusal."""

from __future__ import annotations

import bisect
import io
import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import DBAPIError

from bysecond.services.ingest import ChunkReport, Outcome, Status, ingest_chunks
from bysecond.services.line_chunks import LineChunk, LineCutter
from bysecond.store.database import printable_url

from . import context
from .options import DbOption, fail, open_or_exit

STDIN = "-"
SOME_REJECTED = 1
FAILED = 3
INTERRUPTED = 130
CHUNK_SIZE = 20_000


# Inputs are read by blocks of this many bytes, a few thousand events each.
READ_BLOCK = 1 << 20


@dataclass
class Inputs:
    """The lines of every input in turn, cut into chunks, and where each item index
    came from."""

    names: list[str]
    bytes_read: int = 0
    _starts: list[int] = field(default_factory=list)  # first item index of each input

    def chunks(self, size: int) -> Iterator[LineChunk]:
        """Chunks of `size` lines (the last one shorter), read by blocks of bytes: as
        much as is there, up to READ_BLOCK (a pipe is not waited on to fill a block)."""
        cutter = LineCutter(size)
        for name in self.names:
            self._starts.append(cutter.lines_seen)
            with _open(name) as stream:
                while block := stream.read1(READ_BLOCK):
                    self.bytes_read += len(block)
                    yield from cutter.feed(block)
                yield from cutter.end_input()
        yield from cutter.finish()

    def place(self, index: int) -> tuple[str, int]:
        """(input name, line number from 1) of the item at `index`."""
        which = bisect.bisect_right(self._starts, index) - 1
        return self.names[which], index - self._starts[which] + 1

    def size(self) -> int | None:
        if STDIN in self.names:
            return None
        return sum(os.path.getsize(name) for name in self.names)


@dataclass
class Totals:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unpriced: int = 0

    def add(self, report: ChunkReport) -> None:
        self.accepted += report.accepted
        self.duplicates += report.duplicates
        self.rejected += report.rejected
        self.unpriced += report.unpriced

    @property
    def events(self) -> int:
        return self.accepted + self.duplicates + self.rejected


class RejectsFile:
    """The rejected events, one JSON line each, written only if there is one."""

    def __init__(self, path: Path | None) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = path or Path(f"bysecond-rejects-{stamp}.jsonl")
        self._stream: IO[bytes] | None = None

    def write(self, outcome: Outcome, inputs: Inputs) -> None:
        if self._stream is None:
            self._stream = self.path.open("wb")
        name, line = inputs.place(outcome.index)
        record = {"file": name, "line": line, **outcome.as_json()}
        self._stream.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    @property
    def written(self) -> bool:
        return self._stream is not None


def ingest(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(
            help="JSON Lines files, one CloudEvent per line; - reads standard input.",
            metavar="FILE",
        ),
    ],
    db: DbOption = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Where to write the rejected events (JSON Lines)."
            " Default: bysecond-rejects-<time>.jsonl here, only if one is rejected.",
            dir_okay=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option(
            help="Append one JSON line per committed chunk: what is stored for sure.",
            dir_okay=False,
            metavar="FILE",
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, metavar="N", help="Events per transaction.")
    ] = CHUNK_SIZE,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="N",
            help="Processes that validate chunks and write them in turn. Default:"
            " one per CPU when the input spans several chunks; 0 does it all in-line.",
        ),
    ] = None,
) -> None:
    """Store usage events; each is accepted, a duplicate, or rejected with its reason.

    Exit status: 0 when nothing was rejected, 1 when some events were rejected (see the
    rejects file), 2 when nothing could be done (missing file, unusable database), 3 when
    the database failed midway (what was reported stays stored: run it again).
    """
    _check_inputs(files)
    database = open_or_exit(ctx, db)
    inputs = Inputs(files)
    totals = Totals()
    rejected = RejectsFile(rejects)
    began = time.monotonic()
    interrupted = False
    try:
        with _progress(json_output) as progress, _journal(journal) as log:
            task = progress.add_task("ingesting", total=inputs.size())
            # Closed on every way out: writing processes hold the next chunk's transaction
            # open until this loop asks for more; closing rolls it back and ends them
            # before the database is closed, whatever stopped the loop.
            with closing(
                ingest_chunks(
                    database,
                    inputs.chunks(chunk_size),
                    workers=(os.cpu_count() or 1) if workers is None else workers,
                    welcome=context.settings().welcome,
                )
            ) as reports:
                for number, report in enumerate(reports, 1):
                    totals.add(report)
                    for outcome in report.notes:
                        if outcome.status is Status.REJECTED:
                            rejected.write(outcome, inputs)
                    if log is not None:
                        _log_chunk(log, number, report, inputs)
                    progress.update(
                        task,
                        completed=inputs.bytes_read,
                        description=f"{totals.events:,} events, {totals.rejected:,} rejected",
                    )
    except KeyboardInterrupt:
        interrupted = True
    except (DBAPIError, OSError) as error:
        # What was reported committed stays stored; the rest is retried by running the
        # same command again (events already stored come back as duplicates).
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise fail(
            f"ingestion stopped after {totals.events:,} events were answered: {reason};"
            " run the same command again to finish",
            FAILED,
        ) from None
    finally:
        rejected.close()
        database.close()
    _summarise(
        totals,
        rejected,
        printable_url(database.url),
        time.monotonic() - began,
        json_output,
        interrupted,
    )
    if interrupted:
        raise typer.Exit(INTERRUPTED)
    if totals.rejected:
        raise typer.Exit(SOME_REJECTED)


def _check_inputs(files: list[str]) -> None:
    if files.count(STDIN) > 1:
        raise fail("standard input (-) can be read only once")
    for name in files:
        if name == STDIN:
            continue
        if not os.path.exists(name):
            raise fail(f"{name}: no such file")
        if os.path.isdir(name):
            raise fail(f"{name}: is a directory, not a JSON Lines file")
        if not os.access(name, os.R_OK):
            raise fail(f"{name}: cannot be read")


def _open(name: str) -> io.BufferedReader:
    if name == STDIN:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    return open(name, "rb")


def _progress(quiet: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )


def _journal(path: Path | None) -> AbstractContextManager[IO[bytes] | None]:
    return path.open("ab") if path is not None else nullcontext()


def _log_chunk(log: IO[bytes], number: int, report: ChunkReport, inputs: Inputs) -> None:
    name, line = inputs.place(report.end - 1)
    entry = {
        "chunk": number,
        "committed": True,
        "first_index": report.start,
        "last_index": report.end - 1,
        "last": {"file": name, "line": line},
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
    }
    log.write(orjson.dumps(entry) + b"\n")
    log.flush()


def _summarise(
    totals: Totals,
    rejected: RejectsFile,
    database: str,
    seconds: float,
    as_json: bool,
    interrupted: bool,
) -> None:
    rejects_path = str(rejected.path) if rejected.written else None
    if as_json:
        summary = {
            "events": totals.events,
            "accepted": totals.accepted,
            "duplicates": totals.duplicates,
            "rejected": totals.rejected,
            "unpriced": totals.unpriced,
            "rejects_file": rejects_path,
            "database": database,
            "seconds": round(seconds, 3),
            "interrupted": interrupted,
        }
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        return
    out = Console(highlight=False)
    rate = f", {totals.events / seconds:,.0f} events/s" if seconds > 0 and totals.events else ""
    out.print(f"{totals.events:,} events in {seconds:.1f} s{rate} into {database}", markup=False)
    out.print(
        f"  accepted {totals.accepted:,}   duplicate {totals.duplicates:,}"
        f"   rejected {totals.rejected:,}",
        markup=False,
    )
    if totals.unpriced:
        out.print(f"  {totals.unpriced:,} accepted without a price: recorded as anomalies (R4)")
    if rejects_path:
        out.print(f"  rejected events: {rejects_path}", markup=False)
    if interrupted:
        out.print(
            "  interrupted: every chunk reported above is stored; run the same command"
            " again to finish (events already stored count as duplicates)"
        )
