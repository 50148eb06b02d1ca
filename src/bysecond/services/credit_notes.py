"""Credit notes (R13): corrections of issued invoices, and the credit they give back.

An issued invoice never changes (invariant 5). To correct one, a credit note is issued:
a numbered document of its own, referring to the invoice, with its own PDF and Factur-X
(type code 381). One transaction takes its number, stores its document and hash, and
returns what it credits to the organisation as a prepaid grant; a refusal or a crash
leaves nothing behind, not even a used number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from bysecond.core.document import canonical_json, content_hash
from bysecond.core.period import require_aware, rfc3339
from bysecond.store.database import Database
from bysecond.store.invoices import next_invoice_number
from bysecond.store.schema import CreditNote
from bysecond.store.schema import Invoice as StoredInvoice

from .credit_note_document import (
    Credited,
    CreditedLines,
    CreditNoteError,
    credit_note_document,
    credited_amounts,
)
from .credits import grant_credit
from .customers import organization

__all__ = [
    "CreditNoteError",
    "CreditNoteNotFound",
    "CreditNoteResult",
    "CreditNoteSummary",
    "issue_credit_note",
    "list_credit_notes",
    "stored_credit_note",
]


class CreditNoteNotFound(LookupError):
    pass


@dataclass(frozen=True)
class CreditNoteSummary:
    id: str
    organization_id: str
    number: str
    corrects_invoice: str
    issued_at: datetime
    reason: str
    subtotal: Decimal
    vat_amount: Decimal
    total: Decimal
    currency: str
    grant_id: str


@dataclass(frozen=True)
class CreditNoteResult:
    """An issued credit note: its summary, its stored bytes and their hash."""

    summary: CreditNoteSummary
    document: bytes
    content_hash: str


def issue_credit_note(
    target: Database | Session,
    organization_id: str,
    invoice_number: str,
    *,
    lines: CreditedLines,
    reason: str,
    at: datetime,
) -> CreditNoteResult:
    """Credit `lines` of an issued invoice (all of it, or part of one line), at `at`.

    Given a Database, this is one transaction of its own, committed; given a Session, it
    works in the caller's transaction, which the caller commits. Raises
    UnknownOrganization, CreditNoteError (the message says why) or ImmutableRecordError.
    """
    if isinstance(target, Database):
        with target.unit_of_work() as uow:
            result = issue_credit_note(
                uow.session, organization_id, invoice_number, lines=lines, reason=reason, at=at
            )
            uow.commit()
        return result
    return _issue(target, organization_id, invoice_number, lines, reason, at)


def _issue(
    session: Session,
    organization_id: str,
    invoice_number: str,
    what: CreditedLines,
    reason: str,
    at: datetime,
) -> CreditNoteResult:
    require_aware(at, "the issue instant")
    reason = " ".join(reason.split())
    if not reason:
        raise CreditNoteError("a credit note states its reason")
    org = organization(session, organization_id)
    invoice_row = _issued_invoice(session, organization_id, invoice_number)
    invoice = _decoded(invoice_row.document)
    assert invoice_row.issued_at is not None  # an issued invoice has a date (schema check)
    if at < invoice_row.issued_at:
        raise CreditNoteError(
            f"a credit note cannot predate the invoice it corrects: {invoice_number}"
            f" was issued at {rfc3339(invoice_row.issued_at)}"
        )
    if org.currency != invoice["currency"]:
        raise CreditNoteError(
            f"invoice {invoice_number} is in {invoice['currency']} but {organization_id}'s"
            f" credit is kept in {org.currency}"
        )
    earlier = _credit_notes_of(session, invoice_row.id)
    amounts = credited_amounts(invoice, Credited.of(_decoded(r.document) for r in earlier), what)
    # Credit notes of an invoice are counted from 1: the id is deterministic, and two
    # transactions that would both issue the n-th one cannot both commit it.
    credit_note_id = _credit_note_id(invoice_row.id, len(earlier) + 1)
    grant_id = f"grant_{credit_note_id}"
    # R13: the next number of the invoices' own gapless yearly sequence, taken in this
    # transaction. One sequence for invoices and credit notes keeps the whole run of the
    # seller's documents gapless and in issue order, as EU and French practice allow: a
    # document that amends an invoice is treated as an invoice (Directive 2006/112/EC
    # art. 219) and carries a unique number of a continuous series, which may be one or
    # several (art. 226(2); CGI annex II art. 242 nonies A). Invoice numbers thus skip
    # the numbers taken by credit notes, with no gap in the series of documents.
    number = next_invoice_number(session.connection(), at.year)
    document = credit_note_document(
        invoice,
        amounts,
        credit_note_id=credit_note_id,
        number=number,
        issued_at=at,
        reason=reason,
        grant_id=grant_id,
    )
    data = canonical_json(document)
    row = CreditNote(
        id=credit_note_id,
        organization_id=organization_id,
        invoice_id=invoice_row.id,
        number=number,
        document=data,
        content_hash=content_hash(data),
        issued_at=at,
        reason=reason,
    )
    session.add(row)
    session.flush()
    # R10: what is credited goes back as prepaid credit, in this same transaction. Not a
    # refund of money: the invoice may already have been paid (by transfer or by
    # credits), and prepaid credit pays any line of the next invoices (R10), never
    # expires, and is settled after VAT like a payment (R11), which is what this is.
    grant_credit(
        session,
        organization_id,
        amounts.total,
        "prepaid",
        granted_at=at,
        reason=f"credit note {number}",
        grant_id=grant_id,
    )
    return CreditNoteResult(summary(row), data, row.content_hash)


def list_credit_notes(
    session: Session, organization_id: str | None = None, invoice_number: str | None = None
) -> list[CreditNoteSummary]:
    """Credit notes in number order, of one organisation or invoice when asked."""
    query = select(CreditNote).order_by(CreditNote.number)
    if organization_id:
        query = query.where(CreditNote.organization_id == organization_id)
    if invoice_number:
        query = query.join(StoredInvoice, StoredInvoice.id == CreditNote.invoice_id).where(
            StoredInvoice.number == invoice_number
        )
    return [summary(row) for row in session.scalars(query)]


def stored_credit_note(session: Session, organization_id: str, number: str) -> bytes:
    """The credit note document exactly as stored."""
    row = session.scalar(
        select(CreditNote).where(
            CreditNote.organization_id == organization_id, CreditNote.number == number
        )
    )
    if row is None:
        raise CreditNoteNotFound(f"no credit note numbered {number} for {organization_id}")
    return row.document


def summary(row: CreditNote) -> CreditNoteSummary:
    document = _decoded(row.document)
    return CreditNoteSummary(
        row.id,
        row.organization_id,
        row.number,
        document["corrects_invoice"],
        row.issued_at,
        row.reason,
        Decimal(document["subtotal"]),
        Decimal(document["vat_amount"]),
        Decimal(document["total"]),
        document["currency"],
        document["credit_grant_id"],
    )


def _issued_invoice(session: Session, organization_id: str, number: str) -> StoredInvoice:
    """The invoice `number` of the organisation, locked until this transaction ends.

    The lock (PostgreSQL; SQLite's writers are serialised anyway) makes a concurrent
    credit note of the same invoice wait, then read what this one credited.
    """
    row = session.scalar(
        select(StoredInvoice)
        .where(StoredInvoice.organization_id == organization_id)
        .where(StoredInvoice.number == number)
        .with_for_update()
    )
    if row is not None:
        return row
    is_credit_note = session.scalar(
        select(CreditNote.id).where(
            CreditNote.organization_id == organization_id, CreditNote.number == number
        )
    )
    if is_credit_note:
        raise CreditNoteError(
            f"{number} is a credit note, not an invoice: only invoices are credited"
        )
    # Drafts have no number (R13): only an issued invoice can be found, and corrected.
    raise CreditNoteError(f"no issued invoice numbered {number} for {organization_id}")


def _credit_notes_of(session: Session, invoice_id: str) -> list[CreditNote]:
    return list(
        session.scalars(
            select(CreditNote)
            .where(CreditNote.invoice_id == invoice_id)
            .order_by(CreditNote.number)
        )
    )


def _credit_note_id(invoice_id: str, ordinal: int) -> str:
    seed = f"credit-note|{invoice_id}|{ordinal}".encode()
    return "cn_" + hashlib.sha256(seed).hexdigest()[:24]


def _decoded(document: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(document)
    return value
