"""Billing runs: drafts, finalisation with gapless numbers, credits drawn, late usage (R13, R14).

Each organisation is billed in its own transaction: the number, the final document, its
hash and the credit ledger entries are written together or not at all, so a run killed
at any point and run again ends with the same invoices, no gap and no repeated number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Interval,
    Select,
    String,
    bindparam,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from bysecond.core.catalog import Catalog
from bysecond.core.document import content_hash
from bysecond.core.events import Event
from bysecond.core.invoice import (
    Adjustment,
    Customer,
    Invoice,
    Seller,
    adjustments_for,
    build_invoice,
)
from bysecond.core.metering import opening_at
from bysecond.core.period import MICROSECOND, BillingPeriod, rfc3339
from bysecond.core.policy import policy as named_policy
from bysecond.services.customers import customer, grant_balances, organization
from bysecond.store.database import Database
from bysecond.store.events import events_for
from bysecond.store.invoices import InvoiceNumbers, next_invoice_number
from bysecond.store.schema import Invoice as StoredInvoice
from bysecond.store.schema import LedgerEntry, Organization, StoredEvent

from .invoice_record import InvoiceRecord
from .openings import CountedOpening, opened_events, opening_row, save_openings

Outcome = Literal["finalized", "draft", "refused", "already_final", "no_usage"]
Engine = Literal["reference", "columnar"]
# Events stamped this long before a finalisation are rechecked for late usage (R14): a
# margin for events whose transaction committed while the invoice was being issued.
LATE_MARGIN = timedelta(hours=1)
ALREADY_FINAL = "already issued: it never changes (R13)"


@dataclass(frozen=True)
class BillingContext:
    """What a run bills with: the catalog, the seller, and the run's clock reading."""

    catalog: Catalog
    seller: Seller
    as_of: datetime  # the issue date of what it finalises; grants given after are left out


@dataclass(frozen=True)
class OrganizationResult:
    organization_id: str
    outcome: Outcome
    number: str | None = None
    subtotal: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    amount_due: Decimal = Decimal(0)
    credits_used: Decimal = Decimal(0)
    reason: str = ""
    # Its stored draft was taken as it stands, its inputs unchanged (batch/inputs.py).
    from_draft: bool = False


@dataclass
class BillingReport:
    period: str
    finalize: bool
    results: list[OrganizationResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def from_drafts(self) -> int:
        """How many invoices were taken from unchanged drafts rather than computed."""
        return sum(1 for r in self.results if r.from_draft)

    @property
    def refused(self) -> list[OrganizationResult]:
        return [r for r in self.results if r.outcome == "refused"]


def bill_period(
    database: Database,
    context: BillingContext,
    period_key: str,
    *,
    issue: bool,
    organizations: Sequence[str] | None = None,
    progress: Callable[[OrganizationResult], None] | None = None,
    engine: Engine = "columnar",
    workers: int | None = None,
    shard_size: int | None = None,
) -> BillingReport:
    """Draft (and with `issue`, finalise) the invoice of every organisation for a period.

    The reference engine takes organisations in id order, each in a transaction of its
    own. The columnar engine (bysecond.batch) bills them by shards of organisations, on
    `workers` processes, and gives the same invoices; an in-memory SQLite database is
    billed by the reference engine.
    """
    BillingPeriod.parse(period_key)  # refuse a malformed period before any work
    if organizations is None:
        with database.unit_of_work(read_only=True) as uow:
            # Python's order, the same on every store (PostgreSQL orders text by its
            # collation): both engines number invoices in this order.
            organizations = sorted(uow.session.scalars(select(Organization.id)))
    if engine == "columnar":
        from bysecond.batch import run as batch  # the batch path builds on this module

        if batch.usable(database):
            return batch.bill_period_columnar(
                database,
                context,
                period_key,
                organizations,
                issue=issue,
                progress=progress,
                workers=workers,
                shard_size=shard_size or batch.SHARD_SIZE,
            )
    report = BillingReport(period_key, issue)
    for organization_id in organizations:
        with database.unit_of_work() as uow:
            result = bill_organization(
                uow.session, context, organization_id, period_key, issue=issue
            )
            uow.commit()
        report.results.append(result)
        if progress:
            progress(result)
    return report


def bill_organization(
    session: Session,
    context: BillingContext,
    organization_id: str,
    period_key: str,
    *,
    issue: bool,
    numbers: InvoiceNumbers | None = None,
) -> OrganizationResult:
    """One organisation's invoice for a period, inside the caller's transaction."""
    stored = stored_invoice(session, organization_id, period_key)
    if stored is not None and stored.status != "draft":
        return OrganizationResult(
            organization_id,
            "already_final",
            stored.number,
            reason=ALREADY_FINAL,
        )
    if issue:  # the balances read next are the ones its ledger entries spend
        lock_ledgers(session.connection(), [organization_id])
    draft = compute_draft(session, context, organization_id, period_key)
    if draft.closing is not None:
        save_openings(session.connection(), {organization_id: opening_row(draft.closing)})
    return record_invoice(session, context, stored, draft.invoice, issue=issue, numbers=numbers)


def lock_ledgers(connection: Connection, organizations: Sequence[str]) -> None:
    """Invariant 4: until this transaction ends, no other issue spends these
    organisations' credit, so balances read now stay true for the entries it writes.

    PostgreSQL: each organisation's row is locked `FOR NO KEY UPDATE`, in id order (no
    deadlock between two runs), which leaves ingestion's foreign-key checks free. SQLite:
    nothing to do, a writing transaction (BEGIN IMMEDIATE) excludes every other writer.
    """
    if connection.dialect.name != "postgresql" or not organizations:
        return
    connection.execute(
        select(Organization.id)
        .where(Organization.id.in_(sorted(organizations)))
        .order_by(Organization.id)
        .with_for_update(key_share=True)
    ).all()


def ledger_counts(connection: Connection, organizations: Sequence[str]) -> dict[str, int]:
    """How many credit ledger entries each organisation has (absent: none). The ledger
    is append-only: the same count is the same ledger, hence the same balances."""
    counted = connection.execute(
        select(LedgerEntry.organization_id, func.count())
        .where(LedgerEntry.organization_id.in_(organizations))
        .group_by(LedgerEntry.organization_id)
    )
    return {org: count for org, count in counted}


@dataclass(frozen=True)
class RecordPlan:
    """What storing one computed invoice writes (R13), decided once: `record_invoice`
    writes it through the session for one organisation, the batch path in bulk for a
    shard (bysecond.batch.write)."""

    result: OrganizationResult
    # The document's new bytes as the store keeps them (store/schema.py): its head, and
    # its rest. No head: nothing to write. No rest: the stored draft's rest stands.
    head: bytes | None = None
    rest: bytes | None = None
    number: str | None = None  # issued: its number, date and hash go with the head
    issued_at: datetime | None = None
    # Of the whole issued document (R13); None when issuing a draft whose rest is left
    # in the store (InvoiceRecord.rest_left_stored): the store hashes it there.
    content_hash: str | None = None
    delete: bool = False  # the stored draft goes: nothing is left to bill
    ledger: tuple[tuple[str, str, Decimal], ...] = ()  # (grant, applied|expired, amount)


def plan_record(
    context: BillingContext,
    stored: bool,
    record: InvoiceRecord,
    *,
    issue: bool,
    take_number: Callable[[], str],
) -> RecordPlan:
    """What storing `record` writes, given whether the period has a stored draft
    (`stored`; never a final one). `take_number` is called once, when it is issued."""
    organization_id, period = record.organization_id, record.period
    nothing_to_bill = not record.has_lines and record.finalizable
    if nothing_to_bill and not any(c.expired for c in record.amounts.credits):
        # A draft with nothing left to bill is removed.
        return RecordPlan(OrganizationResult(organization_id, "no_usage"), delete=stored)
    # A stored draft taken as it stands is not written again; issuing it writes its head.
    as_stored = stored and record.from_draft
    if record.rest is None and not as_stored:
        raise ValueError(f"invoice {record.id} has no stored draft to take its rest from")
    parts = None if record.rest is None else record.draft_parts()
    draft: tuple[bytes | None, bytes | None] = (None, None) if as_stored or parts is None else parts
    if issue and context.as_of < period.end:
        # R1/R13: a period ends at midnight in the organisation's own time zone; until
        # then its usage is not complete and the invoice stays a draft.
        reason = (
            f"{period.key} ends at {rfc3339(period.end)} in the organisation's time "
            f"zone ({period.time_zone}); it can be finalised after that"
        )
        return RecordPlan(_result(organization_id, "refused", record, None, reason), *draft)
    if not issue:
        return RecordPlan(_result(organization_id, "draft", record, None), *draft)
    if not record.finalizable:
        reason = (
            f"{len(record.unpriced)} piece(s) of usage have no price, first: "
            f"{record.unpriced[0]}; add the prices to the catalog, then finalise again"
        )
        return RecordPlan(_result(organization_id, "refused", record, None, reason), *draft)
    number = take_number()
    issued_head, head = record.issued_head(number, context.as_of)
    ledger = tuple(
        (drawn.grant_id, kind, amount)
        for drawn in record.amounts.credits
        for kind, amount in (("applied", drawn.applied), ("expired", drawn.expired))
        if amount
    )
    # A rest left in the store is hashed there, with the issued head (store/invoice_hash.py).
    hashed = None if parts is None else content_hash(issued_head, parts[1])
    return RecordPlan(
        _result(organization_id, "finalized", record, number),
        issued_head,
        draft[1],
        number,
        datetime.fromisoformat(head["issued_at"]),
        hashed,
        ledger=ledger,
    )


def record_invoice(
    session: Session,
    context: BillingContext,
    stored: StoredInvoice | None,
    invoice: Invoice | InvoiceRecord,
    *,
    issue: bool,
    numbers: InvoiceNumbers | None = None,
) -> OrganizationResult:
    """Store a computed invoice as a draft, or issue it (R13), inside the caller's
    transaction. `stored` is the period's draft, if any (never a final one); `numbers`
    gives numbers from a block taken for many invoices."""
    record = invoice if isinstance(invoice, InvoiceRecord) else InvoiceRecord.of(invoice)

    def take_number() -> str:
        if numbers is not None:
            return numbers.take()
        return next_invoice_number(session.connection(), context.as_of.year)

    plan = plan_record(context, stored is not None, record, issue=issue, take_number=take_number)
    if plan.delete and stored is not None:
        session.delete(stored)
    elif plan.head is not None:
        row = stored or StoredInvoice(
            id=record.id, organization_id=record.organization_id, period=record.period.key
        )
        row.set_document(plan.head, plan.rest)
        row.inputs_hash = record.inputs_hash
        row.period_start, row.period_end = record.period.start, record.period.end
        if plan.number is not None and stored is not None and plan.rest is not None:
            session.flush()  # the draft's new rest, while it is a draft (R13)
        if plan.number is not None:
            row.status, row.number = "finalized", plan.number
            row.content_hash = plan.content_hash or content_hash(plan.head, row.body.rest)
            row.issued_at = plan.issued_at
        if stored is None:
            session.add(row)
        session.flush()
    for grant_id, kind, amount in plan.ledger:
        session.add(
            LedgerEntry(
                grant_id=grant_id,
                organization_id=record.organization_id,
                invoice_id=record.id,
                kind=kind,
                amount=amount,
                at=context.as_of,
            )
        )
    return plan.result


@dataclass(frozen=True)
class Draft:
    invoice: Invoice
    # The state the period's events end in, for the next period (services/openings.py):
    # made once the period is over at the run's clock, and for a whole period only.
    closing: CountedOpening | None


def draft_invoice(
    session: Session,
    context: BillingContext,
    organization_id: str,
    period_key: str,
    *,
    until: datetime | None = None,
) -> Invoice:
    """The invoice as it stands now: every event known, late usage adjusted (R14)."""
    return compute_draft(session, context, organization_id, period_key, until=until).invoice


def compute_draft(
    session: Session,
    context: BillingContext,
    organization_id: str,
    period_key: str,
    *,
    until: datetime | None = None,
) -> Draft:
    """`draft_invoice`, and the state at the period's end it leaves.

    The period is billed from the state its earlier events left (services/openings.py)
    and its own events, unless earlier periods have late usage: R14 rates each of them
    again, from all the events before its end.
    """
    settings = customer(organization(session, organization_id))
    period = BillingPeriod.parse(period_key, settings.time_zone)
    connection = session.connection()
    late = late_periods(connection, [settings.id], period.key)
    if late:  # R14 rates each late period again, from all the events before its end
        counted, events = None, events_for(connection, settings.id, before=period.end)
    else:
        counted, events = opened_events(connection, settings.id, period.start, period.end)
    opening = counted.opening if counted else None
    balances = grant_balances(session, organization_id, context.as_of)
    adjustments = late_adjustments(session, context, settings, period, events, late)
    invoice = build_invoice(
        settings,
        period,
        events,
        context.catalog,
        balances,
        seller=context.seller,
        adjustments=adjustments,
        until=until,
        opening=opening,
    )
    closing = None
    if until is None and period.end <= context.as_of:
        closing = CountedOpening(
            opening_at(events, period.end, opening=opening),
            (counted.events_before if counted else 0) + len(events),
        )
    return Draft(invoice, closing)


def late_adjustments(
    session: Session,
    context: BillingContext,
    settings: Customer,
    period: BillingPeriod,
    events: Sequence[Event],
    late: set[tuple[str, str]],
) -> list[Adjustment]:
    """R14: for each finalised earlier period with late usage (`late`, from
    `late_periods`), what it costs now minus what was invoiced for it (including earlier
    adjustments). `events`: all the organisation's events before the period's end.

    Documents, 10-100 KB each, are read only when there is a period to rate again.
    """
    if not late:
        return []
    finals = session.scalars(
        select(StoredInvoice)
        .where(StoredInvoice.organization_id == settings.id)
        .where(StoredInvoice.period < period.key)
        .where(StoredInvoice.status != "draft")
        .order_by(StoredInvoice.period)
    ).all()
    documents = {row.period: orjson.loads(row.document) for row in finals}
    found: list[Adjustment] = []
    for key, document in documents.items():
        if (settings.id, key) not in late:
            continue
        # The period is re-rated as it was invoiced: its policy and its time zone.
        then = replace(
            settings, policy=document["policy"], time_zone=document["period"]["time_zone"]
        )
        corrected = BillingPeriod.parse(key, then.time_zone)
        recomputed = build_invoice(
            then,
            corrected,
            [e for e in events if e.time < corrected.end],
            context.catalog,
            seller=context.seller,
            policy=named_policy(document["policy"]),
        )
        invoiced = _invoiced_amounts(key, document, documents.values())
        found += adjustments_for(key, invoiced, recomputed.lines)
    return found


def organizations_with_late_usage(
    connection: Connection, organizations: Sequence[str], period_key: str
) -> set[str]:
    """R14: which of `organizations` have late usage of a period finalised before
    `period_key` (`late_periods`): their invoices carry adjustments."""
    return {org for org, _ in late_periods(connection, organizations, period_key)}


def late_periods(
    connection: Connection, organizations: Sequence[str], period_key: str
) -> set[tuple[str, str]]:
    """R14: the (organisation, period) of each invoice finalised before `period_key` whose
    period received usage after it was last taken into account.

    A period's usage is taken into account when its invoice is issued, and again when a
    later period's invoice is issued after it: every invoice issued rates again each
    earlier period that had late usage by then, and adjusts it (one billed from columns
    had none). Usage received before the last of those instants, less LATE_MARGIN for
    transactions still committing, is on the invoices already: an organisation that once
    sent usage late is not rated again month after month. An invoice without recorded
    bounds (a document that gave none, migration 0006) counts as having late usage.

    One query: each earlier invoice is one probe of the events' (organization_id, time)
    index between its bounds, not a read of its document.
    """
    if not organizations:
        return set()
    query = _late_periods_query(connection.dialect.name == "sqlite")
    found = connection.execute(
        query, {"organizations": list(organizations), "period_key": period_key}
    )
    return {(org, key) for org, key in found}


@cache
def _late_periods_query(sqlite: bool) -> Select[Any]:
    """`late_periods`'s statement, built once per dialect: building it took ten times as
    long as running it for one organisation (3-4 ms against 0.1-0.2 ms)."""
    period_key = bindparam("period_key", type_=String())
    later = aliased(StoredInvoice)
    looked_at = (
        select(func.max(later.issued_at))
        .where(later.organization_id == StoredInvoice.organization_id)
        .where(later.period < period_key, later.status != "draft")
        .where(later.period >= StoredInvoice.period, later.issued_at >= StoredInvoice.issued_at)
        .scalar_subquery()
    )
    # Materialised: each invoice's instant is computed once, not once per event probed.
    finals = (
        select(
            StoredInvoice.organization_id.label("org"),
            StoredInvoice.period.label("period"),
            StoredInvoice.period_start.label("start"),
            StoredInvoice.period_end.label("end"),
            looked_at.label("looked_at"),
        )
        .where(StoredInvoice.organization_id.in_(bindparam("organizations", expanding=True)))
        .where(StoredInvoice.period < period_key, StoredInvoice.status != "draft")
        .cte("finals")
        .prefix_with("MATERIALIZED")
    )
    received, looked = StoredEvent.received_at, finals.c.looked_at
    if sqlite:  # instants are microseconds there
        late = type_coerce(received, BigInteger) >= type_coerce(looked, BigInteger) - bindparam(
            "margin", LATE_MARGIN // MICROSECOND, BigInteger
        )
    else:
        late = type_coerce(received, DateTime(timezone=True)) >= type_coerce(
            looked, DateTime(timezone=True)
        ) - bindparam("margin", LATE_MARGIN, Interval())
    received_late = exists().where(
        StoredEvent.organization_id == finals.c.org,
        StoredEvent.time >= finals.c.start,
        StoredEvent.time < finals.c.end,
        late,
    )
    return select(finals.c.org, finals.c.period).where(
        or_(finals.c.start.is_(None), finals.c.end.is_(None), received_late)
    )


def _invoiced_amounts(
    period_key: str, document: dict[str, Any], all_documents: Iterable[dict[str, Any]]
) -> dict[tuple[str, str], Decimal]:
    """What has been invoiced for a period: its own lines plus later corrections of it."""
    invoiced: dict[tuple[str, str], Decimal] = {}
    for line in document["lines"]:
        if line["kind"] != "adjustment":
            key = (line["kind"], line["resource_id"])
            invoiced[key] = invoiced.get(key, Decimal(0)) + Decimal(line["amount"])
    for later in all_documents:
        for line in later["lines"]:
            if line["kind"] == "adjustment" and line.get("corrects_period") == period_key:
                detail = line["details"][0]
                key = (detail["kind"], detail["resource_id"])
                invoiced[key] = invoiced.get(key, Decimal(0)) + Decimal(line["amount"])
    return invoiced


def stored_invoice(session: Session, organization_id: str, period_key: str) -> StoredInvoice | None:
    return session.scalar(
        select(StoredInvoice)
        .where(StoredInvoice.organization_id == organization_id)
        .where(StoredInvoice.period == period_key)
    )


def _result(
    organization_id: str,
    outcome: Outcome,
    record: InvoiceRecord,
    number: str | None,
    reason: str = "",
) -> OrganizationResult:
    s = record.amounts
    return OrganizationResult(
        organization_id,
        outcome,
        number,
        s.subtotal,
        s.total,
        s.amount_due,
        s.promotional_applied + s.prepaid_applied,
        reason,
        record.from_draft,
    )
