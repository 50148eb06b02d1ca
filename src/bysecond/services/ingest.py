"""Ingestion: raw CloudEvents in, each one answered accepted, duplicate or rejected.

Used by `bysecond ingest`, the HTTP API and the stream consumer alike: it takes any
iterable of raw items (bytes or text lines, or decoded objects) and yields one report
per chunk, each only after the chunk's transaction has committed (ARCHITECTURE.md,
invariant 2: an accepted event is stored before the answer). It never prints.

- R3: an event is identified by (source, id). The same payload again is a `duplicate`
  and changes nothing; another payload under a stored identifier is `rejected` as a
  conflict and the stored event is kept. Repeats inside one batch are treated alike.
- R4/R5: usage without a price at its time is stored anyway, with an `unpriced` anomaly.
- New organisations, applications and add-ons are registered on the fly (CONTRACT.md).
"""

from __future__ import annotations

import gc
import itertools
import marshal
import multiprocessing
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, make_url

from bysecond.core.period import rfc3339
from bysecond.store.anomalies import AnomalyRecord, record_anomalies
from bysecond.store.database import Database, open_database
from bysecond.store.events import EventRow, insert_new_events
from bysecond.store.prices import load_catalog
from bysecond.store.registry import addon_providers, currencies_other_than
from bysecond.store.schema import DEFAULT_CURRENCY
from bysecond.store.types import from_micros

from .credits import WelcomeCredit, give_welcome_credits
from .event_rows import PreparedChunk, Raw, Refusal, prepare_chunk, prepare_marshalled
from .line_chunks import LineChunk
from .pricing import UNPRICED, PriceCheck
from .registrations import Registered, Registrations

DEFAULT_CHUNK_SIZE: Final = 10_000
# Starting a validating process costs about as much as validating 30,000 events here.
_WORTH_PROCESSES: Final = 3
Clock = Callable[[], datetime]
# A chunk: raw items, or whole JSON lines as read (split by whoever validates them).
Chunk = list[Raw] | LineChunk


class Status(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer about one item: `index` is its place in the whole input, from 0."""

    index: int
    status: Status
    source: str | None
    id: str | None
    field: str | None = None
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"index": self.index, "status": str(self.status)}
        answer.update(source=self.source, id=self.id)
        if self.status is Status.REJECTED:
            answer.update(field=self.field, message=self.message)
        return answer


@dataclass(frozen=True, slots=True)
class ChunkReport:
    """What one committed transaction did with items `start` .. `end - 1`."""

    start: int
    size: int
    accepted: int
    duplicates: int
    rejected: int
    unpriced: int  # anomalies recorded for accepted usage without a price
    notes: tuple[Outcome, ...]  # every item that was not accepted, by index
    _rows: Sequence[Sequence[Any]] = field(repr=False, compare=False)  # (source, id, ...)
    _positions: Sequence[int] = field(repr=False, compare=False)
    _stored_before: frozenset[int] = field(repr=False, compare=False)

    @property
    def end(self) -> int:
        return self.start + self.size

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # A report crosses a process boundary when worker processes write (see
        # `_ingest_in_processes`): marshal carries its plain values much faster than
        # pickle carries 20,000 outcomes; only the keys of the rows are kept.
        notes = [(n.index, str(n.status), n.source, n.id, n.field, n.message) for n in self.notes]
        keys = self._rows if isinstance(self._rows, _Keys) else _Keys.of(self._rows)
        state = (
            self.start,
            self.size,
            self.accepted,
            self.duplicates,
            self.rejected,
            self.unpriced,
            notes,
            keys.packed,
            list(self._positions),
            list(self._stored_before),
        )
        return (_unpack_report, (marshal.dumps(state),))

    def outcomes(self) -> list[Outcome]:
        """One outcome per item, accepted ones included, by index."""
        accepted = [
            Outcome(self.start + index, Status.ACCEPTED, row[0], row[1])
            for position, (index, row) in enumerate(zip(self._positions, self._rows, strict=True))
            if position not in self._stored_before
        ]
        return sorted([*accepted, *self.notes], key=lambda outcome: outcome.index)


class _Keys(Sequence[tuple[str, str]]):
    """The (source, id) of a chunk's rows, marshalled, read only when asked for."""

    def __init__(self, packed: bytes) -> None:
        self.packed = packed
        self._keys: list[tuple[str, str]] | None = None

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> _Keys:
        return cls(marshal.dumps([(row[0], row[1]) for row in rows]))

    def _all(self) -> list[tuple[str, str]]:
        if self._keys is None:
            self._keys = marshal.loads(self.packed)
        return self._keys

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]


_STATUSES: Final = {str(status): status for status in Status}


def _unpack_report(packed: bytes) -> ChunkReport:
    (start, size, accepted, duplicates, rejected, unpriced, notes, keys, positions, stored) = (
        marshal.loads(packed)
    )
    statuses = _STATUSES
    return ChunkReport(
        start,
        size,
        accepted,
        duplicates,
        rejected,
        unpriced,
        tuple(
            Outcome(index, statuses[status], source, key, field, message)
            for index, status, source, key, field, message in notes
        ),
        _Keys(keys),
        positions,
        frozenset(stored),
    )


def ingest(
    database: Database,
    items: Iterable[Raw],
    *,
    clock: Clock | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = 0,
    welcome: WelcomeCredit | None = None,
) -> Iterator[ChunkReport]:
    """Store `items` chunk by chunk, one transaction each, yielding each chunk's report
    once it is committed.

    `clock` gives the instant events may not exceed by more than 5 minutes. `workers` > 0
    is for big inputs: that many processes each validate a chunk, then write it in its
    turn (chunk n commits after chunk n - 1 is committed and its report was taken), so
    validation overlaps writing and no row travels between processes. Chunk n is written
    while the report of chunk n - 1 is with the caller, and commits when the caller comes
    back for more: a caller that keeps a report long keeps that transaction open (on
    SQLite, the write lock) meanwhile. On an in-memory
    SQLite database the processes only validate and this one writes. The processes come
    from a fork server (never a fork of this process), so a script using it needs
    `if __name__ == "__main__":`. With processes, `clock` is read when a chunk is handed
    out: it also dates what that chunk registers.
    `welcome` is the credit each organisation new to the store receives.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    yield from ingest_chunks(
        database, _chunks(items, chunk_size), clock=clock, workers=workers, welcome=welcome
    )


def ingest_chunks(
    database: Database,
    chunks: Iterable[Chunk],
    *,
    clock: Clock | None = None,
    workers: int = 0,
    welcome: WelcomeCredit | None = None,
) -> Generator[ChunkReport, None, None]:
    """`ingest` of items already cut into chunks, one transaction each: lists of items,
    or `LineChunk`s of JSON Lines, which the calling process never splits into lines
    when `workers` processes validate them.

    A caller that stops before the end must close the generator (`contextlib.closing`):
    with `workers`, a process holds the next chunk's transaction open until the caller
    asks for more, and closing is what rolls it back and ends the processes."""
    now = clock or _utc_now
    with database.unit_of_work(read_only=True) as uow:
        currencies = currencies_other_than(uow.connection, DEFAULT_CURRENCY)
        prices = PriceCheck.of(load_catalog(uow.connection), currencies)
    run = _Run(prices, Registered(), welcome)
    pieces = iter(chunks)
    if workers > 0 and _shareable(database):
        head = list(itertools.islice(pieces, _WORTH_PROCESSES))
        if len(head) >= _WORTH_PROCESSES:
            yield from _ingest_in_processes(
                database, itertools.chain(head, pieces), now, run, workers
            )
            return
        pieces = iter(head)  # too few chunks for processes: done here
    start = 0
    for prepared in _prepare(pieces, now, prices, workers):
        with database.unit_of_work() as uow:
            report, registered = _store(uow.connection, prepared, start, run, now())
            uow.commit()
        run.registered.remember(registered)
        yield report
        start += prepared.size


def ingest_batch(
    database: Database,
    items: Sequence[Raw],
    *,
    clock: Clock | None = None,
    welcome: WelcomeCredit | None = None,
) -> ChunkReport:
    """Store one batch in one transaction (an HTTP request, a stream message set)."""
    reports = list(
        ingest(database, items, clock=clock, chunk_size=max(len(items), 1), welcome=welcome)
    )
    if not reports:
        return _store_nothing()
    (report,) = reports
    return report


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Iterable[Raw], size: int) -> Iterator[list[Raw]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _items(chunk: Chunk) -> Sequence[Raw]:
    return chunk.lines() if isinstance(chunk, LineChunk) else chunk


def _prepare(
    chunks: Iterator[Chunk], clock: Clock, prices: PriceCheck, workers: int
) -> Iterator[PreparedChunk]:
    head = list(itertools.islice(chunks, _WORTH_PROCESSES))
    if workers < 1 or len(head) < _WORTH_PROCESSES:  # not worth starting processes
        for chunk in itertools.chain(head, chunks):
            yield prepare_chunk(_items(chunk), clock(), prices)
        return
    yield from _prepare_in_processes(itertools.chain(head, chunks), clock, prices, workers)


def _prepare_in_processes(
    chunks: Iterator[Chunk], clock: Clock, prices: PriceCheck, workers: int
) -> Iterator[PreparedChunk]:
    # spawn, not fork: the parent holds database connections a child must not share.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[Future[PreparedChunk]] = deque()
        try:
            for chunk in chunks:
                pending.append(_submit(pool, chunk, clock(), prices))
                if len(pending) > workers:  # read ahead one chunk per worker, no more
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _shareable(database: Database) -> bool:
    """Whether other processes can open the same database (not an in-memory SQLite)."""
    if database.dialect != "sqlite":
        return True
    return make_url(database.url).database not in (None, "", ":memory:")


# Shared by the writing processes: `turn`, the number of the next chunk allowed to commit
# (or _ABORTED once a chunk failed or the caller stopped reading), and `committed`, how
# many chunks are committed. Chunk n is written once chunk n - 1 is committed, and
# committed once the caller has taken the report of chunk n - 1.
_ABORTED: Final = -1


def _ingest_in_processes(
    database: Database, chunks: Iterator[Chunk], clock: Clock, run: _Run, workers: int
) -> Iterator[ChunkReport]:
    """Bulk ingestion with `workers` processes that each validate a chunk, then write it
    in its turn: chunk n is written after chunk n - 1 is committed, as in one process
    (R3: the first payload of an identifier is the one kept), while the next chunk is
    validated. It commits once the caller has taken the report of chunk n - 1: while
    that report travels, chunk n is already being written.

    The rows never travel back to this process (that would cost as much as writing
    them): each report comes back after its chunk's transaction has committed, in order.
    Each process registers what its chunks name and gives the welcome credits in the
    same transaction as the events, as `_store` does here.
    """
    context = _writers_context()
    turn = context.RawValue("q", 0)
    committed = context.RawValue("q", 0)
    condition = context.Condition()
    initargs = (database.url, run.prices, run.welcome, turn, committed, condition)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_writer, initargs=initargs
    ) as pool:
        pending: deque[Future[ChunkReport]] = deque()
        first: Chunk | None = None

        def go_on(number: int) -> None:
            # Chunk `number` may commit once the caller came back for more after the
            # report of the one before: nothing is stored beyond what was asked.
            with condition:
                if turn.value != _ABORTED:
                    turn.value = number
                    condition.notify_all()

        def first_written(chunk: Chunk) -> ChunkReport:
            report = _write_first(database, chunk, clock(), run)
            with condition:  # chunk 1 may be written
                committed.value = 1
                condition.notify_all()
            return report

        done = 0  # reports handed to the caller
        try:
            start = 0
            for number, chunk in enumerate(chunks):
                if number == 0:  # written here while the processes start (see below)
                    first, start = chunk, len(chunk)
                    continue
                pending.append(pool.submit(_write_chunk, number, start, _packed(chunk), clock()))
                start += len(chunk)
                if first is not None and len(pending) == workers:
                    # Starting a process takes about as long as validating and writing a
                    # chunk: this process writes the first one meanwhile, then hands over.
                    yield first_written(first)
                    first, done = None, 1
                    go_on(done)
                elif len(pending) > workers:  # read ahead one chunk per worker, no more
                    yield pending.popleft().result()
                    done += 1
                    go_on(done)
            if first is not None:
                yield first_written(first)
                first, done = None, 1
                go_on(done)
            while pending:
                yield pending.popleft().result()
                done += 1
                go_on(done)
        finally:
            if pending or first is not None:  # stopped early: write nothing more
                with condition:
                    turn.value = _ABORTED
                    condition.notify_all()
                for future in pending:
                    future.cancel()


def _packed(chunk: Chunk) -> bytes | Chunk:
    """A chunk as it travels to a process: whole lines as they are (a few blocks of
    bytes); lines and plain decoded objects travel faster marshalled than pickled."""
    if isinstance(chunk, LineChunk):
        return chunk
    try:
        return marshal.dumps(chunk)
    except ValueError:  # an item of a type marshal does not know
        return chunk


def _write_first(database: Database, first: Chunk, now: datetime, run: _Run) -> ChunkReport:
    """Chunk 0, validated and written by the calling process."""
    chunk = prepare_chunk(_items(first), now, run.prices)
    with database.unit_of_work() as uow:
        report, registered = _store(uow.connection, chunk, 0, run, now)
        uow.commit()
    run.registered.remember(registered)
    return report


def _writers_context() -> multiprocessing.context.BaseContext:
    """Where writing processes come from: a fork server, itself a fresh interpreter
    (never a fork of this process, whose database connections a child must not share),
    that imports this module once; each writer is then forked from it in milliseconds,
    instead of importing everything again (most of a second per process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


@dataclass(slots=True)
class _Writer:
    """What a writing process keeps from chunk to chunk."""

    database: Database
    run: _Run
    turn: Any  # multiprocessing RawValue("q")
    committed: Any  # multiprocessing RawValue("q")
    condition: Any  # multiprocessing Condition

    def wait(self, ready: Callable[[], bool]) -> None:
        """Until `ready()`; raises IngestAborted once the run is stopped instead."""
        with self.condition:
            while not ready() and self.turn.value != _ABORTED:
                if not self.condition.wait(timeout=1.0) and _parent_gone():
                    self.turn.value = _ABORTED
            if self.turn.value == _ABORTED:
                raise IngestAborted("an earlier chunk was not stored: this one is not either")

    def abort(self) -> None:
        with self.condition:
            self.turn.value = _ABORTED
            self.condition.notify_all()


_writer: _Writer | None = None


def _start_writer(
    url: str,
    prices: PriceCheck,
    welcome: WelcomeCredit | None,
    turn: Any,
    committed: Any,
    condition: Any,
) -> None:
    global _writer
    # The objects a chunk makes hold no reference cycles: collecting garbage while 20,000
    # rows are alive costs more than validating them. `_write_chunk` collects per chunk,
    # before validating, not after writing: a collection there would hold up the next
    # chunk's turn (the calling process passes it on once this one's report is back).
    gc.disable()
    database = open_database(url, apply_migrations=False)  # migrated by the caller
    _writer = _Writer(database, _Run(prices, Registered(), welcome), turn, committed, condition)


def _write_chunk(number: int, start: int, items: bytes | Chunk, now: datetime) -> ChunkReport:
    """Validate chunk `number`, write it once every earlier chunk is committed, and
    commit it once the one before is reported (the calling process then sets `turn` to
    `number`)."""
    writer = _writer
    if writer is None:
        raise RuntimeError("a writing process was not started by _start_writer")
    gc.collect(1)  # what the previous chunk left, while another process writes
    raw = marshal.loads(items) if isinstance(items, bytes) else _items(items)
    chunk = prepare_chunk(raw, now, writer.run.prices)
    del raw
    turn, committed = writer.turn, writer.committed
    writer.wait(lambda: committed.value >= number)
    try:
        with writer.database.unit_of_work() as uow:
            report, registered = _store(uow.connection, chunk, start, writer.run, now)
            writer.wait(lambda: turn.value >= number)  # stopped: rolled back
            uow.commit()
        with writer.condition:
            committed.value = number + 1
            writer.condition.notify_all()
    except BaseException:
        writer.abort()
        raise
    writer.run.registered.remember(registered)
    return report


def _parent_gone() -> bool:
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()


class IngestAborted(RuntimeError):
    """A chunk was not written because an earlier one failed or the caller stopped."""


def _submit(
    pool: ProcessPoolExecutor, chunk: Chunk, now: datetime, prices: PriceCheck
) -> Future[PreparedChunk]:
    packed = _packed(chunk)
    if isinstance(packed, bytes):
        return pool.submit(prepare_marshalled, packed, now, prices)
    return pool.submit(_prepare_unpacked, packed, now, prices)


def _prepare_unpacked(chunk: Chunk, now: datetime, prices: PriceCheck) -> PreparedChunk:
    return prepare_chunk(_items(chunk), now, prices)


def _store(
    connection: Connection, chunk: PreparedChunk, start: int, run: _Run, now: datetime
) -> tuple[ChunkReport, Registrations]:
    """Write one chunk in the caller's transaction; returns its report and what it
    registered, both true once the transaction commits."""
    rows = chunk.rows
    stored = _insert_all_new(connection, rows)  # position -> hash stored before this chunk
    notes = [_refusal(start, refusal) for refusal in chunk.refusals]
    for position, earlier in stored.items():
        row = rows[position]
        notes.append(_against_stored(start + chunk.positions[position], row, row[6], earlier))
    for index, position, digest in chunk.repeats:
        row = rows[position]  # R3: a repeat is judged against the payload kept
        notes.append(_against_stored(start + index, row, digest, stored.get(position, row[6])))
    notes.sort(key=lambda outcome: outcome.index)

    news = run.registered.news(chunk.named(stored) if stored else chunk.registrations)
    added = news.write(connection, now)
    if added and run.welcome is not None:
        give_welcome_credits(connection, _first_seen(rows, stored, added, now), run.welcome)
    anomalies = _unpriced(connection, chunk, stored, run.prices)
    record_anomalies(connection, anomalies)

    duplicates = sum(1 for note in notes if note.status is Status.DUPLICATE)
    report = ChunkReport(
        start,
        chunk.size,
        len(rows) - len(stored),
        duplicates,
        len(notes) - duplicates,
        len(anomalies),
        tuple(notes),
        rows,
        chunk.positions,
        frozenset(stored),
    )
    return report, news


@dataclass(frozen=True, slots=True)
class _Run:
    """What a run keeps from chunk to chunk."""

    prices: PriceCheck
    registered: Registered
    welcome: WelcomeCredit | None


def _first_seen(
    rows: Sequence[EventRow], stored: dict[int, bytes], organizations: list[str], now: datetime
) -> dict[str, datetime]:
    """When each new organisation first used the platform: its earliest accepted event.
    The welcome credit is dated then, so replaying the same events gives the same grant."""
    wanted = set(organizations)
    first: dict[str, int] = {}
    for position, row in enumerate(rows):
        org = row[4]
        if org in wanted and position not in stored and (org not in first or row[3] < first[org]):
            first[org] = row[3]
    return {org: from_micros(first[org]) if org in first else now for org in organizations}


def _unpriced(
    connection: Connection, chunk: PreparedChunk, stored: dict[int, bytes], prices: PriceCheck
) -> list[AnomalyRecord]:
    """R4/R5: the chunk's accepted usage no price covers at its time, as anomalies.

    Plan changes that omit the provider are priced here, after the chunk's add-ons are
    registered: the add-on's registration tells the provider.
    """
    rows = chunk.rows
    found = [
        (position, _no_price(key, currency, rows[position][3]))
        for position, key, currency in chunk.unpriced
        if position not in stored
    ]
    changes = [change for change in chunk.plan_changes if change[0] not in stored]
    if changes:
        keys = {(rows[position][4], addon) for position, addon, _ in changes}
        providers = addon_providers(connection, keys)
        for position, addon, plan in changes:
            row = rows[position]
            provider = providers.get((row[4], addon))
            if provider is None:
                found.append(
                    (
                        position,
                        f"add-on {addon} changed to plan {plan} but its"
                        " provider is unknown: the plan cannot be priced",
                    )
                )
                continue
            key, currency = f"addon.{provider}.{plan}", prices.currency(row[4])
            if prices.missing(key, currency, row[3]):
                found.append((position, _no_price(key, currency, row[3])))
    anomalies = []
    for position, message in sorted(found):
        source, event_id, _, micros, organization, resource = rows[position][:6]
        anomalies.append(
            AnomalyRecord(
                organization,
                UNPRICED,
                source,
                event_id,
                resource,
                from_micros(micros),
                f"{message}: the usage is kept and reported (R4, R5)",
            )
        )
    return anomalies


def _no_price(key: str, currency: str, micros: int) -> str:
    return f"no price {key} in {currency} at {rfc3339(from_micros(micros))}"


def _insert_all_new(connection: Connection, rows: list[EventRow]) -> dict[int, bytes]:
    """Insert every row not stored yet; returns {position: stored hash} of the others."""
    left_out = insert_new_events(connection, rows)
    if not left_out:
        return {}
    return {
        position: left_out[key]
        for position, key in enumerate((row[0], row[1]) for row in rows)
        if key in left_out
    }


def _against_stored(index: int, row: EventRow, digest: bytes, stored_hash: bytes) -> Outcome:
    """The item at `index`, with the key of `row` and payload hash `digest`, against the
    payload stored under that key."""
    source, event_id = row[0], row[1]
    if digest == stored_hash:
        return Outcome(index, Status.DUPLICATE, source, event_id)
    return Outcome(
        index,
        Status.REJECTED,
        source,
        event_id,
        "id",
        f"conflict: an event {event_id!r} from {source!r} is already stored with another"
        " payload; the stored event is kept (R3)",
    )


def _refusal(start: int, refusal: Refusal) -> Outcome:
    return Outcome(
        start + refusal.index,
        Status.REJECTED,
        refusal.source,
        refusal.id,
        refusal.field,
        refusal.message,
    )


def _store_nothing() -> ChunkReport:
    return ChunkReport(0, 0, 0, 0, 0, 0, (), (), (), frozenset())
