"""The columnar billing run: organisations in shards, each shard read, rated and written
in one go, shards spread over worker processes.

A shard is a range of organisation ids. Its events are read once (load.py), its uptime
rated in columns (uptime.py), each invoice assembled and settled by the core
(assemble.py), and its invoices written in one transaction (write.py) as the reference
path's `record_invoice` decides them: a run killed at any point and run again ends
with the same invoices, no gap and no repeated number (R13). Memory is bounded by the
shard, not by the period.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Row, select

from bysecond.core.credits import GrantBalance
from bysecond.core.events import Event, stored_event
from bysecond.core.metering import Opening
from bysecond.core.period import MICROSECOND, BillingPeriod
from bysecond.core.policy import PolicyError
from bysecond.core.policy import policy as named_policy
from bysecond.services.billing import (
    BillingContext,
    BillingReport,
    OrganizationResult,
    compute_draft,
    organizations_with_late_usage,
)
from bysecond.services.customers import (
    ACCOUNT_COLUMNS,
    GRANT_COLUMNS,
    UnknownOrganization,
    customer,
    grant_value,
)
from bysecond.services.invoice_record import InvoiceRecord
from bysecond.services.openings import CountedOpening, OpeningRow, opening_row, openings_at
from bysecond.store.binary_rows import rows_in_binary
from bysecond.store.database import Database, open_database
from bysecond.store.events import events_before
from bysecond.store.schema import CreditGrant, InvoiceBody, LedgerEntry, Organization
from bysecond.store.schema import Invoice as StoredInvoice

from .assemble import OrganizationInput, invoice_from_columns, other_usage
from .inputs import inputs_hash, run_fingerprint
from .load import EventReader, columnar_readable
from .opening import closing_openings, opening_names, opening_runs, read_events
from .prices import EPOCH, instance_prices
from .uptime import ApplicationUptime, UptimeRater
from .write import write_shard

_PARENT_CHECK_SECONDS = 0.5
SHARD_SIZE = 500  # organisations: about 100,000 events of a typical month
_INSTANCE_TYPES = pa.array(["instance.started", "instance.stopped"])
# Arrow's allocator (mimalloc) gives freed memory back to the system after 10 ms, and a
# worker faults it in again for its next shard: without that, a worker takes 30 % fewer
# page faults and a quarter less system time (M, drafts). The setting is read when a
# process starts: workers inherit it from the environment they are spawned with.
_WORKER_ENVIRONMENT = {"MIMALLOC_PURGE_DELAY": "-1"}


def usable(database: Database) -> bool:
    """Whether the store can be read in columns (a file or a server, not memory)."""
    return columnar_readable(database.url)


def shards(organizations: Sequence[str], size: int = SHARD_SIZE) -> list[list[str]]:
    ordered = sorted(organizations)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def bill_period_columnar(
    database: Database,
    context: BillingContext,
    period_key: str,
    organizations: Sequence[str],
    *,
    issue: bool,
    progress: Callable[[OrganizationResult], None] | None = None,
    workers: int | None = None,
    shard_size: int = SHARD_SIZE,
) -> BillingReport:
    """Every organisation's invoice for the period, shard by shard (R13, R16).

    Worker processes read and rate shards; this process writes them, one transaction
    per shard, in organisation id order. Invoice numbers are therefore given in the
    same order as by the reference engine, whatever the number of workers, and a run
    killed and run again numbers the rest as a clean run would.
    """
    report = BillingReport(period_key, issue)
    parts = shards(organizations, shard_size)

    def write(part: list[str], rated: RatedShard) -> None:
        written = write_shard(
            database,
            context,
            period_key,
            part,
            rated.invoices,
            issue,
            rated.ledger_counts,
            openings=rated.openings,
        )
        _collect(report, written, progress)

    count = min(workers or os.cpu_count() or 1, len(parts))
    if count <= 1:
        with UptimeRater() as rater, EventReader(database.url) as reader:
            for part in parts:
                rated = rate_shard(database, context, period_key, part, rater=rater, reader=reader)
                write(part, rated)
        return report
    # Spawned, not forked: no connection or thread of this process is shared. At most
    # `count + 1` shards are in flight, so memory stays bounded by the shard size.
    spawn = multiprocessing.get_context("spawn")
    with (
        _worker_environment(),
        ProcessPoolExecutor(
            max_workers=count,
            mp_context=spawn,
            initializer=_start_worker,
            initargs=(os.getpid(), database.url),
        ) as pool,
    ):
        pending: deque[tuple[list[str], Future[RatedShard]]] = deque()
        for part in parts:
            pending.append((part, pool.submit(_rate_in_worker, context, period_key, part)))
            if len(pending) > count:
                done, job = pending.popleft()
                write(done, job.result())
        while pending:
            done, job = pending.popleft()
            write(done, job.result())
    return report


@contextmanager
def _worker_environment() -> Iterator[None]:
    """`_WORKER_ENVIRONMENT` while workers are spawned (a setting already made by the
    user stays as it is); the environment is put back afterwards."""
    added = {name: value for name, value in _WORKER_ENVIRONMENT.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _collect(
    report: BillingReport,
    results: list[OrganizationResult],
    progress: Callable[[OrganizationResult], None] | None,
) -> None:
    report.results.extend(results)
    if progress:
        for result in results:
            progress(result)


# A worker process's store, event reader and DuckDB connection, kept for its shards.
_worker: tuple[Database, EventReader, UptimeRater] | None = None


def _start_worker(parent: int, url: str) -> None:
    global _worker
    _exit_with_parent(parent)
    # No connection kept between units of work: a worker reads a shard's events through
    # ADBC's own SQLite library, which must be alone with the file (batch/load.py).
    database = open_database(url, apply_migrations=False, pooled=False)
    _worker = (database, EventReader(url, alone=True), UptimeRater(threads=1))
    _collect_garbage_seldom()


def _collect_garbage_seldom() -> None:
    """Rating a shard makes and drops hundreds of thousands of objects, few of them in
    cycles: the default thresholds ran the cycle collector thousands of times a shard,
    each pass walking every module and class loaded at start. Those are set aside
    (frozen) and collections made rarer: 6 % less CPU per shard, measured on M."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _exit_with_parent(parent: int) -> None:
    """A worker whose billing run was killed leaves too, instead of waiting forever on
    a queue nobody writes to any more."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _rate_in_worker(context: BillingContext, period_key: str, part: list[str]) -> RatedShard:
    if _worker is None:
        raise RuntimeError("a billing worker rates shards only once started")
    database, reader, rater = _worker
    return rate_shard(database, context, period_key, part, rater=rater, reader=reader)


@dataclass
class _Shard:
    inputs: dict[str, OrganizationInput]  # organisations billed from columns
    reference: set[str]  # organisations the reference path bills
    final: set[str]  # organisations whose invoice for the period is issued: none computed
    ledger_counts: dict[str, int]  # each organisation's credit ledger entries, as read


@dataclass
class RatedShard:
    """A shard's invoices as records to store (their documents written: they cross from
    a worker process): computed from columns, or by the core for the organisations in
    `reference`. An organisation without a record is billed by the writer itself."""

    invoices: dict[str, InvoiceRecord]
    reference: set[str]
    # Each organisation's count of credit ledger entries when its balances were read
    # (absent: none), before any of them: the writer issues an invoice only with the
    # same count, the balances its credit lines were computed from (invariant 4).
    ledger_counts: dict[str, int]
    # The states the organisations' periods end in, once the period is over at the
    # run's clock, for the next period (batch/opening.py, services/openings.py).
    openings: dict[str, OpeningRow] = field(default_factory=dict)


def rate_shard(
    database: Database,
    context: BillingContext,
    period_key: str,
    part: Sequence[str],
    *,
    rater: UptimeRater | None = None,
    reader: EventReader | None = None,
) -> RatedShard:
    """Read and rate one shard; nothing is written. `rater` and `reader` are kept from
    shard to shard by the caller; without them, the shard gets its own.

    A stored draft whose inputs are unchanged (inputs.py) is read back instead of
    being computed again: the same inputs give the same document (R16). The core's
    invoices are computed here too: in a worker, beside the others' shards, instead of
    one at a time in the process that writes.
    """
    shard = _read_settings(database, context, period_key, part)
    prices = instance_prices(context.catalog)
    if not prices.fits:  # amounts beyond 128-bit columns: the core bills them
        shard.reference |= set(shard.inputs)
        shard.inputs.clear()
    run = run_fingerprint(context.catalog, context.seller)
    invoices = _unchanged_drafts(database, run, period_key, shard)
    for org in invoices:
        del shard.inputs[org]
    closing: dict[str, CountedOpening] = {}
    if shard.inputs:
        ends = {org: _micros(given.period.end) for org, given in shard.inputs.items()}
        with database.unit_of_work(read_only=True) as uow:
            openings = openings_at(
                uow.connection, {org: given.period.start for org, given in shard.inputs.items()}
            )
        with ExitStack() as own:
            reader = reader or own.enter_context(EventReader(database.url))
            rater = rater or own.enter_context(UptimeRater())
            events = read_events(reader, sorted(shard.inputs), max(ends.values()), openings)
            organizations = _organization_table(shard.inputs)
            counts = _events_before_end(events, organizations)
            for org, counted in openings.items():  # the events before the state's instant
                counts[org] = counts.get(org, 0) + counted.events_before
            carried = opening_runs(openings, events.schema)
            uptime = rater.rate(
                pa.concat_tables([events, carried]) if carried.num_rows else events,
                organizations,
                prices,
                opening_names(openings),
            )
        shard.reference |= uptime.needs_reference
        lines: dict[str, list[ApplicationUptime]] = defaultdict(list)
        for line in uptime.lines:
            lines[line.organization_id].append(line)
        others = _other_events(events, shard.inputs)
        addon_states: dict[str, Opening] = {}
        for org, given in shard.inputs.items():
            if org not in shard.reference:
                opening = openings.get(org)
                usage, addon_states[org] = other_usage(
                    given,
                    others.get(org, []),
                    opening.opening.without_runs() if opening else None,
                )
                invoice = invoice_from_columns(
                    given,
                    lines.get(org, []),
                    usage,
                    prices.denominator,
                    context.catalog,
                    context.seller,
                )
                hashed = inputs_hash(run, given, counts.get(org, 0))
                invoices[org] = InvoiceRecord.of(invoice, hashed)
        # A period over at the run's clock leaves its state to the next one; one still
        # going would see it change with every event to come.
        over = _micros(context.as_of)
        closed = {
            org: end for org, end in ends.items() if org not in shard.reference and end <= over
        }
        closing = closing_openings(closed, uptime, addon_states, counts)
    core, core_closing = _core_invoices(
        database, context, period_key, shard.reference - shard.final
    )
    invoices |= core
    closed_states = {org: opening_row(state) for org, state in (closing | core_closing).items()}
    return RatedShard(invoices, shard.reference, shard.ledger_counts, closed_states)


def _core_invoices(
    database: Database, context: BillingContext, period_key: str, organizations: set[str]
) -> tuple[dict[str, InvoiceRecord], dict[str, CountedOpening]]:
    """The invoices of the organisations the columns do not bill (late usage of an issued
    period, credit expiring inside this one, an anomaly), as the reference engine drafts
    them: nothing is written, and the writer stores them as it stores the columns' ones.
    An organisation the store does not know is left to the writer, which reports it as
    the reference engine does. With them, the states their periods end in.
    """
    records: dict[str, InvoiceRecord] = {}
    closing: dict[str, CountedOpening] = {}
    if not organizations:
        return records, closing
    with database.unit_of_work(read_only=True) as uow:
        for org in sorted(organizations):
            try:
                draft = compute_draft(uow.session, context, org, period_key)
            except UnknownOrganization:
                continue
            records[org] = InvoiceRecord.of(draft.invoice)
            if draft.closing is not None:
                closing[org] = draft.closing
    return records, closing


def _unchanged_drafts(
    database: Database, run: str, period_key: str, shard: _Shard
) -> dict[str, InvoiceRecord]:
    """The stored drafts whose inputs hash as they do now: they are the invoices a
    computation would give now. Events are counted only for organisations that have a
    draft with a hash (a first run has none, and counts the events it reads)."""
    if not shard.inputs:
        return {}
    with database.unit_of_work(read_only=True) as uow:
        connection = uow.session.connection()
        drafts = select(StoredInvoice.organization_id, StoredInvoice.inputs_hash).where(
            StoredInvoice.organization_id.in_(list(shard.inputs)),
            StoredInvoice.period == period_key,
            StoredInvoice.status == "draft",
            StoredInvoice.inputs_hash.is_not(None),
        )
        stored = dict(connection.execute(drafts).all())
        if not stored:
            return {}
        counts = events_before(connection, {org: shard.inputs[org].period.end for org in stored})
        unchanged = [
            org
            for org, hashed in stored.items()
            if hashed == inputs_hash(run, shard.inputs[org], counts[org])
        ]
        if not unchanged:
            return {}
        documents = (
            select(StoredInvoice.organization_id, StoredInvoice.head, InvoiceBody.rest)
            .join(InvoiceBody)
            .where(
                StoredInvoice.organization_id.in_(unchanged),
                StoredInvoice.period == period_key,
                StoredInvoice.status == "draft",
            )
        )
        # The rest is read for the figures only: it stays in the store, which hashes the
        # issued document there (store/invoice_hash.py). A document kept whole, not cut
        # at its head (written by hand), is computed again instead.
        return {
            org: InvoiceRecord.of_draft(bytes(head), bytes(rest), stored[org]).rest_left_stored()
            for org, head, rest in rows_in_binary(connection, documents)
            if head
        }


def _events_before_end(events: pa.Table, organizations: pa.Table) -> dict[str, int]:
    """Each organisation's count of events before its period's end, from the events read
    (as `store.events.events_before` counts them in the store)."""
    joined = events.select(["organization_id", "time_us"]).join(
        organizations.select(["organization_id", "end_us"]), "organization_id"
    )
    before = joined.filter(pc.less(joined.column("time_us"), joined.column("end_us")))
    counted = before.group_by("organization_id").aggregate([("time_us", "count")])
    return dict(
        zip(
            counted.column("organization_id").to_pylist(),
            counted.column("time_us_count").to_pylist(),
            strict=True,
        )
    )


def _read_settings(
    database: Database, context: BillingContext, period_key: str, part: Sequence[str]
) -> _Shard:
    """Who is billed how. The reference path takes organisations with late usage of a
    finalised earlier period (R14: their invoices carry adjustments) and those whose
    promotional credit expires inside the period (R10 then splits usage at the expiry).
    An organisation whose earlier invoices received nothing late is billed from columns
    as in its first month: its invoice has no adjustment to carry."""
    # Lists, not id ranges: PostgreSQL orders text by its collation, which need not be
    # the order the shards were cut in.
    wanted = set(part)
    # Plain columns, not ORM objects: a shard's 500 organisations and their grants
    # loaded as objects took longer than the queries.
    with database.unit_of_work(read_only=True) as uow:
        connection = uow.session.connection()
        rows = connection.execute(select(*ACCOUNT_COLUMNS).where(Organization.id.in_(part))).all()
        grants = connection.execute(
            select(CreditGrant.organization_id, *GRANT_COLUMNS)
            .where(CreditGrant.organization_id.in_(part))
            .where(CreditGrant.granted_at <= context.as_of)
            .order_by(CreditGrant.id)
        ).all()
        ledger = connection.execute(
            select(
                LedgerEntry.organization_id,
                LedgerEntry.grant_id,
                LedgerEntry.kind,
                LedgerEntry.amount,
            ).where(LedgerEntry.organization_id.in_(part))
        ).all()
        late = organizations_with_late_usage(connection, part, period_key)
        final = set(
            connection.scalars(
                select(StoredInvoice.organization_id).where(
                    StoredInvoice.organization_id.in_(part),
                    StoredInvoice.period == period_key,
                    StoredInvoice.status != "draft",
                )
            )
        )
    # A balance is a fold over the append-only ledger (invariant 4), as in
    # services.customers.grant_balances, for the whole shard at once.
    spent: dict[str, Decimal] = defaultdict(Decimal)
    entries: dict[str, int] = defaultdict(int)
    for org, grant_id, kind, amount in ledger:
        entries[org] += 1
        if kind in ("applied", "expired"):
            spent[grant_id] += amount
    by_org: dict[str, list[Row[Any]]] = defaultdict(list)
    for grant in grants:
        by_org[grant.organization_id].append(grant)
    shard = _Shard({}, set(), final, dict(entries))
    periods: dict[str, BillingPeriod] = {}  # one per time zone, not per organisation
    for row in rows:
        if row.id not in wanted:
            continue
        settings = customer(row)
        period = periods.get(settings.time_zone)
        if period is None:
            period = periods[settings.time_zone] = BillingPeriod.parse(
                period_key, settings.time_zone
            )
        try:
            chosen = named_policy(settings.policy)
        except PolicyError:
            shard.reference.add(row.id)  # the reference path reports the bad policy
            continue
        balances = [
            GrantBalance(grant_value(grant), grant.amount - spent[grant.id])
            for grant in by_org.get(row.id, [])
        ]
        # R10 splits usage only at an expiry inside the period. A grant that expired at or
        # before its start pays none of it, and one expiring at or after its end pays all
        # of it, in the columns' one accrual over the period as in the core's.
        expiring = any(
            b.grant.expires_at is not None and period.start < b.grant.expires_at < period.end
            for b in balances
        )
        if row.id in late or expiring:
            shard.reference.add(row.id)
        elif row.id not in final:  # an issued invoice is never computed again (R13)
            shard.inputs[row.id] = OrganizationInput(settings, period, chosen, balances)
    shard.reference |= wanted - set(shard.inputs) - shard.reference - final
    return shard


def _micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


def _organization_table(inputs: dict[str, OrganizationInput]) -> pa.Table:
    """Each organisation's period bounds (R1, in its time zone), policy (R6), currency."""
    orgs = sorted(inputs)
    return pa.table(
        {
            "organization_id": pa.array(orgs, pa.string()),
            "start_us": pa.array([_micros(inputs[o].period.start) for o in orgs], pa.int64()),
            "end_us": pa.array([_micros(inputs[o].period.end) for o in orgs], pa.int64()),
            "slice_s": pa.array([inputs[o].policy.slice_seconds for o in orgs], pa.int64()),
            "minimum_s": pa.array([inputs[o].policy.minimum_seconds for o in orgs], pa.int64()),
            "currency": pa.array([inputs[o].customer.currency for o in orgs], pa.string()),
        }
    )


def _other_events(events: pa.Table, inputs: dict[str, OrganizationInput]) -> dict[str, list[Event]]:
    """Add-on, task and quantity events, read back by the core as billing always does."""
    others = events.filter(pc.invert(pc.is_in(events.column("type"), _INSTANCE_TYPES)))
    found: dict[str, list[Event]] = defaultdict(list)
    organizations = others.column("organization_id").to_pylist()
    documents = others.column("document").to_pylist()
    for org, document in zip(organizations, documents, strict=True):
        if org in inputs:
            found[org].append(stored_event(orjson.loads(document)))
    return found
