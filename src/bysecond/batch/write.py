"""A shard's invoices written in one transaction, in bulk (R13).

Each organisation's plan is decided by `services.billing.plan_record`, the same
decision `record_invoice` writes for one organisation; here the plans of a whole shard
become a few statements each run for many rows (executemany), not an ORM object per
invoice and per ledger entry with their change tracking. The core's invoices come as
records too, computed by the workers; an organisation without one (unknown to the
store) goes through `bill_organization` in its turn, in the same
transaction: invoice numbers and ledger entries follow organisation id order either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from sqlalchemy import Connection, Table, bindparam, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from bysecond.services.billing import (
    ALREADY_FINAL,
    BillingContext,
    OrganizationResult,
    RecordPlan,
    bill_organization,
    ledger_counts,
    lock_ledgers,
    plan_record,
)
from bysecond.services.invoice_record import InvoiceRecord
from bysecond.services.openings import OpeningRow, save_openings
from bysecond.store.database import Database
from bysecond.store.invoice_hash import issued_document_hash
from bysecond.store.invoices import InvoiceNumbers
from bysecond.store.schema import Invoice as StoredInvoice
from bysecond.store.schema import InvoiceBody, LedgerEntry

_INVOICES: Final = cast(Table, StoredInvoice.__table__)
_BODIES: Final = cast(Table, InvoiceBody.__table__)
_LEDGER: Final = cast(Table, LedgerEntry.__table__)


def _value(column: str) -> Any:
    """A parameter standing for `column`'s new value, typed as the column is."""
    return bindparam(f"new_{column}", type_=_INVOICES.c[column].type)


# Only drafts are ever changed or removed here: a final invoice never changes (R13).
# The store's triggers refuse it too; the condition makes a row that is no longer a
# draft a counted miss, reported, instead of a write.
_IS_DRAFT: Final = (_INVOICES.c.id == bindparam("invoice_id")) & (_INVOICES.c.status == "draft")
_UPDATE_DRAFT: Final = (
    update(_INVOICES)
    .where(_IS_DRAFT)
    .values(
        head=_value("head"),
        inputs_hash=_value("inputs_hash"),
        period_start=_value("period_start"),
        period_end=_value("period_end"),
    )
)


# Issuing writes the head: the rest of the document is the draft's, already stored
# (store/schema.py), unless the invoice was computed again, and then it is written
# while the invoice is still a draft.
def _issuing(content_hash: Any) -> Any:
    return (
        update(_INVOICES)
        .where(_IS_DRAFT)
        .values(
            status="finalized",
            number=_value("number"),
            head=_value("head"),
            content_hash=content_hash,
            issued_at=_value("issued_at"),
            inputs_hash=_value("inputs_hash"),
            period_start=_value("period_start"),
            period_end=_value("period_end"),
        )
    )


_ISSUE_DRAFT: Final = _issuing(_value("content_hash"))
# A draft taken as it stands: the store hashes the issued head with the rest it holds.
_ISSUE_STORED_DRAFT: Final = _issuing(issued_document_hash(_value("head"), bindparam("invoice_id")))
_UPDATE_REST: Final = (
    update(_BODIES)
    .where(_BODIES.c.invoice_id == bindparam("draft_id"))
    .where(exists().where(_INVOICES.c.id == bindparam("draft_id"), _INVOICES.c.status == "draft"))
    .values(rest=bindparam("new_rest", type_=_BODIES.c.rest.type))
)
_DELETE_DRAFT: Final = delete(_INVOICES).where(_IS_DRAFT)  # its rest goes with it (cascade)


@dataclass
class _Pending:
    """The shard's writes not yet sent, in organisation order within each kind."""

    deleted: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    issued_stored: list[dict[str, Any]] = field(default_factory=list)  # hashed in the store
    rests: list[dict[str, Any]] = field(default_factory=list)  # of stored drafts
    new: list[dict[str, Any]] = field(default_factory=list)
    new_rests: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, context: BillingContext, record: InvoiceRecord, plan: RecordPlan, stored: bool
    ) -> None:
        if plan.delete:
            self.deleted.append({"invoice_id": record.id})
        elif plan.head is None:
            pass  # the stored draft, taken as it stands
        elif not stored:
            self.new.append(
                {
                    "id": record.id,
                    "organization_id": record.organization_id,
                    "period": record.period.key,
                    "status": "draft" if plan.number is None else "finalized",
                    "number": plan.number,
                    "head": plan.head,
                    "content_hash": plan.content_hash,
                    "issued_at": plan.issued_at,
                    "inputs_hash": record.inputs_hash,
                    "period_start": record.period.start,
                    "period_end": record.period.end,
                }
            )
            self.new_rests.append({"invoice_id": record.id, "rest": plan.rest})
        else:
            bounds = {
                "new_period_start": record.period.start,
                "new_period_end": record.period.end,
            }
            if plan.rest is not None:
                self.rests.append({"draft_id": record.id, "new_rest": plan.rest})
            if plan.number is None:
                self.drafts.append(
                    {
                        "invoice_id": record.id,
                        "new_head": plan.head,
                        "new_inputs_hash": record.inputs_hash,
                        **bounds,
                    }
                )
            else:
                issued = self.issued if plan.content_hash is not None else self.issued_stored
                issued.append(
                    {
                        "invoice_id": record.id,
                        "new_number": plan.number,
                        "new_head": plan.head,
                        "new_content_hash": plan.content_hash,
                        "new_issued_at": plan.issued_at,
                        "new_inputs_hash": record.inputs_hash,
                        **bounds,
                    }
                )
        for grant_id, kind, amount in plan.ledger:
            self.ledger.append(
                {
                    "grant_id": grant_id,
                    "organization_id": record.organization_id,
                    "invoice_id": record.id,
                    "kind": kind,
                    "amount": amount,
                    "at": context.as_of,
                }
            )

    def send(self, session: Session) -> None:
        """Write what is pending, after what the session holds (the core's invoices)."""
        session.flush()
        connection = session.connection()
        _each(connection, _DELETE_DRAFT, self.deleted)
        _each(connection, _UPDATE_REST, self.rests)  # before issuing: a draft's rest only
        _each(connection, _UPDATE_DRAFT, self.drafts)
        _each(connection, _ISSUE_DRAFT, self.issued)
        _each(connection, _ISSUE_STORED_DRAFT, self.issued_stored)
        if self.new:
            connection.execute(insert(_INVOICES), self.new)
            connection.execute(insert(_BODIES), self.new_rests)
        if self.ledger:
            connection.execute(insert(_LEDGER), self.ledger)
        self.deleted, self.drafts, self.issued, self.rests = [], [], [], []
        self.issued_stored = []
        self.new, self.new_rests, self.ledger = [], [], []


def _each(connection: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    changed = connection.execute(statement, rows).rowcount
    if changed != len(rows):  # a draft finalised or removed by someone else meanwhile
        raise RuntimeError(
            f"{len(rows) - changed} of {len(rows)} draft invoice(s) changed during the run;"
            " nothing of this shard was written: run it again"
        )


def write_shard(
    database: Database,
    context: BillingContext,
    period_key: str,
    part: Sequence[str],
    invoices: dict[str, InvoiceRecord],
    issue: bool,
    counts_read: dict[str, int],
    *,
    openings: Mapping[str, OpeningRow] | None = None,
) -> list[OrganizationResult]:
    """The shard's invoices in one transaction, organisations in id order (R13).

    `invoices` holds the records the workers computed (from columns, by the core, or
    read back from unchanged drafts); the other organisations of `part` are billed by
    the core here.

    Issuing spends credit computed from the balances the worker read: an organisation
    whose credit ledger changed since (`counts_read`, its count of entries then: another
    run issued one of its invoices meanwhile) is computed again here, under the lock,
    instead of applying credit twice (invariant 4).

    `openings`: the states the workers made at the period's end, for the next period
    (services/openings.py), stored in the same transaction.
    """
    results: list[OrganizationResult] = []
    with database.unit_of_work() as uow:
        session = uow.session
        connection = session.connection()
        if issue:  # before anything is read: what follows is what this shard spends from
            lock_ledgers(connection, part)
            counts_now = ledger_counts(connection, part)
            invoices = {
                org: record
                for org, record in invoices.items()
                if counts_now.get(org, 0) == counts_read.get(org, 0)
            }
        # Documents are written, never read, here: each is 10-100 KB.
        stored = {
            row.organization_id: row
            for row in connection.execute(
                select(_INVOICES.c.organization_id, _INVOICES.c.status, _INVOICES.c.number)
                .where(_INVOICES.c.organization_id.in_(part))
                .where(_INVOICES.c.period == period_key)
            )
        }
        # One block of numbers for the whole shard, taken in organisation id order by
        # both paths; what is left is given back before the commit.
        numbers = InvoiceNumbers(connection, context.as_of.year, len(part))
        pending = _Pending()
        for org in sorted(part):
            row = stored.get(org)
            record = invoices.get(org)
            if row is not None and row.status != "draft":
                results.append(
                    OrganizationResult(org, "already_final", row.number, reason=ALREADY_FINAL)
                )
            elif record is None:
                pending.send(session)  # earlier organisations first: the ledger's order
                results.append(
                    bill_organization(
                        session, context, org, period_key, issue=issue, numbers=numbers
                    )
                )
            else:
                plan = plan_record(
                    context, row is not None, record, issue=issue, take_number=numbers.take
                )
                pending.add(context, record, plan, stored=row is not None)
                results.append(plan.result)
        pending.send(session)
        numbers.close()
        save_openings(connection, openings or {})
        uow.commit()
    return results
