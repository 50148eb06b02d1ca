"""Refuse changes to what must never change: finalised invoices and credit notes (R13),
and the credit ledger.

Two layers. SQLAlchemy hooks give an early, clear `ImmutableRecordError` when code goes
through the ORM or a Core UPDATE/DELETE of an append-only table. Database triggers
(created by the migrations, on SQLite and PostgreSQL alike) refuse the same changes
whatever client sends them; their errors carry `MARKER` and are re-raised as the same
`ImmutableRecordError` by `install`.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Delete, Engine, Update, event, inspect, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Mapper

from .schema import CreditNote, Invoice, InvoiceBody, LedgerEntry

MARKER: Final = "bysecond: immutable:"
INVOICE_MESSAGE: Final = f"{MARKER} a finalized invoice never changes (R13)"
LEDGER_MESSAGE: Final = f"{MARKER} credit ledger entries are append-only"
CREDIT_NOTE_MESSAGE: Final = f"{MARKER} a credit note never changes (R13)"
# Tables whose rows are only ever inserted: any Core UPDATE or DELETE of them is refused.
APPEND_ONLY_TABLES: Final = {
    LedgerEntry.__tablename__: LEDGER_MESSAGE,
    CreditNote.__tablename__: CREDIT_NOTE_MESSAGE,
}

# Everything of a finalised invoice but its status (finalized -> paid stays allowed).
FROZEN_INVOICE_ATTRIBUTES: Final = (
    "id",
    "organization_id",
    "period",
    "number",
    "head",
    "content_hash",
    "issued_at",
    "period_start",
    "period_end",
)
ALLOWED_STATUS_CHANGES: Final = {("draft", "finalized"), ("finalized", "paid")}


class ImmutableRecordError(Exception):
    """An UPDATE or DELETE of a record that must never change."""


def install(engine: Engine) -> None:
    """Add the Core-level refusal and the translation of trigger errors to `engine`."""
    event.listen(engine, "before_execute", _refuse_append_only_statements)
    event.listen(engine, "handle_error", _translate_trigger_error)


def _refuse_append_only_statements(
    conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
) -> None:
    if isinstance(clauseelement, Update | Delete):
        table = getattr(clauseelement, "table", None)
        message = APPEND_ONLY_TABLES.get(getattr(table, "name", None) or "")
        if message is not None:
            raise ImmutableRecordError(message)


def _translate_trigger_error(context: ExceptionContext) -> BaseException | None:
    if MARKER in str(context.original_exception):
        return ImmutableRecordError(str(context.original_exception).strip())
    return None


def _committed_status(target: Invoice) -> str:
    history = inspect(target).attrs.status.history
    return history.deleted[0] if history.deleted else target.status


@event.listens_for(Invoice, "before_update")
def _refuse_invoice_update(mapper: Mapper[Invoice], connection: Any, target: Invoice) -> None:
    before = _committed_status(target)
    if before != target.status and (before, target.status) not in ALLOWED_STATUS_CHANGES:
        raise ImmutableRecordError(f"{INVOICE_MESSAGE}: status {before} -> {target.status}")
    if before == "draft":
        return
    state = inspect(target)
    changed = [
        name for name in FROZEN_INVOICE_ATTRIBUTES if state.attrs[name].history.has_changes()
    ]
    if changed:
        raise ImmutableRecordError(f"{INVOICE_MESSAGE}: {', '.join(changed)} of {target.id}")


@event.listens_for(Invoice, "before_delete")
def _refuse_invoice_delete(mapper: Mapper[Invoice], connection: Any, target: Invoice) -> None:
    if _committed_status(target) != "draft":
        raise ImmutableRecordError(f"{INVOICE_MESSAGE}: {target.id} cannot be deleted")


@event.listens_for(InvoiceBody, "before_update")
@event.listens_for(InvoiceBody, "before_delete")
def _refuse_issued_body_change(
    mapper: Mapper[InvoiceBody], connection: Any, target: InvoiceBody
) -> None:
    # The rest of an issued document is as frozen as its head. A draft's rest changes
    # before the draft is issued, never in the same statement (services/billing.py).
    status = connection.execute(
        select(Invoice.status).where(Invoice.id == target.invoice_id)
    ).scalar()
    if status is not None and status != "draft":
        raise ImmutableRecordError(f"{INVOICE_MESSAGE}: document of {target.invoice_id}")


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _refuse_ledger_change(
    mapper: Mapper[LedgerEntry], connection: Any, target: LedgerEntry
) -> None:
    raise ImmutableRecordError(f"{LEDGER_MESSAGE}: entry {target.id}")


@event.listens_for(CreditNote, "before_update")
@event.listens_for(CreditNote, "before_delete")
def _refuse_credit_note_change(
    mapper: Mapper[CreditNote], connection: Any, target: CreditNote
) -> None:
    # R13: a credit note is corrected by another document, never edited or withdrawn.
    raise ImmutableRecordError(f"{CREDIT_NOTE_MESSAGE}: {target.number or target.id}")
