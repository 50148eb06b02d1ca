"""An invoice as storing it needs: totals, credits drawn, unpriced usage and the written
document.

The batch path computes invoices in worker processes and stores them in one: sending
the `Invoice` objects back (lines, accruals, every run's usage) cost more to pickle and
rebuild than computing them. A record is what `record_invoice` reads, with the draft
document already written except for the few fields issuing sets (R13), which stay a
small dict beside the bytes.

A record is also read back from a stored draft (`InvoiceRecord.of_draft`): the document
holds every amount storing needs, so a draft whose inputs have not changed since it was
computed is issued as it stands instead of being computed again (batch/inputs.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from bysecond.core.document import join_document, split_document, written_head, written_parts
from bysecond.core.invoice import Invoice, finalize, issue_fields_end, stored_parts
from bysecond.core.period import BillingPeriod


@dataclass(frozen=True, slots=True)
class CreditDrawn:
    """What one grant gave an invoice (R10): its ledger entries when the invoice is issued."""

    grant_id: str
    applied: Decimal
    expired: Decimal


@dataclass(frozen=True, slots=True)
class SettledAmounts:
    """The settlement's figures a billing run reports and records (R10-R12)."""

    subtotal: Decimal
    promotional_applied: Decimal
    prepaid_applied: Decimal
    total: Decimal
    amount_due: Decimal
    credits: tuple[CreditDrawn, ...]


@dataclass(frozen=True)
class InvoiceRecord:
    id: str
    organization_id: str
    period: BillingPeriod
    has_lines: bool
    unpriced: tuple[str, ...]  # the message of each piece of usage that has no price
    amounts: SettledAmounts
    head: dict[str, Any]  # the document's first fields, up to the last one issuing sets
    # The other fields, written (core.document.split_document); None for a stored
    # draft's record whose rest is left in the store (`rest_left_stored`).
    rest: bytes | None
    # What the invoice was computed from (batch/inputs.py), when the batch path knows it;
    # stored with the draft so that an unchanged draft is issued without recomputing it.
    inputs_hash: str | None = None
    from_draft: bool = False  # read back from the stored draft, not computed

    @classmethod
    def of(cls, invoice: Invoice, inputs_hash: str | None = None) -> InvoiceRecord:
        document = invoice.document()
        head, rest = split_document(document, issue_fields_end(document))
        s = invoice.settlement
        amounts = SettledAmounts(
            s.subtotal,
            s.promotional_applied,
            s.prepaid_applied,
            s.total,
            s.amount_due,
            tuple(CreditDrawn(u.grant.id, u.applied, u.expired) for u in s.uses),
        )
        return cls(
            invoice.id,
            invoice.customer.id,
            invoice.period,
            bool(invoice.lines),
            tuple(anomaly.message for anomaly in invoice.unpriced),
            amounts,
            head,
            rest,
            inputs_hash,
        )

    @classmethod
    def of_draft(cls, head: bytes, rest: bytes, inputs_hash: str | None = None) -> InvoiceRecord:
        """The record of a stored draft, equal to the one its invoice gave; `head` and
        `rest` are the document's bytes as the store keeps them (`stored_parts`).

        Only the figures storing needs are decoded (`_StoredDraft`): the lines' details,
        nine tenths of a document, are skipped over, not made into objects. A document
        the store keeps whole (not in the canonical form) is decoded whole.
        """
        written = head + rest
        try:
            draft = _STORED_DRAFT.decode(written)
        except msgspec.MsgspecError as error:
            raise ValueError(f"a stored draft cannot be read back: {error}") from None
        if draft.status != "draft":
            raise ValueError(f"invoice {draft.id} is {draft.status}, not a draft")
        if head:  # the canonical form cut after its head (core.invoice.stored_parts)
            fields, rest = orjson.loads(head + b"}"), rest.removeprefix(b",")
        else:
            fields, rest = _split_written(orjson.loads(written), written)
        amounts = SettledAmounts(
            Decimal(draft.subtotal),
            Decimal(draft.promotional_credits_applied),
            Decimal(draft.prepaid_credits_applied),
            Decimal(draft.total),
            Decimal(draft.amount_due),
            tuple(
                CreditDrawn(use.grant_id, Decimal(use.applied), Decimal(use.expired))
                for use in draft.credits
            ),
        )
        return cls(
            draft.id,
            draft.organization_id,
            BillingPeriod.parse(draft.period.key, draft.period.time_zone),
            bool(draft.lines),
            tuple(a.message for a in draft.anomalies if a.kind == "unpriced"),
            amounts,
            fields,
            rest,
            inputs_hash,
            from_draft=True,
        )

    @property
    def finalizable(self) -> bool:
        """An invoice with usage that has no price cannot be issued."""
        return not self.unpriced

    def rest_left_stored(self) -> InvoiceRecord:
        """This stored draft's record without its rest, which stays in the store.

        Issuing such a draft writes its head alone, and the store hashes the issued
        document where the rest is (store.invoice_hash.issued_document_hash): the rest, nine
        tenths of the document, does not travel from the worker that read it.
        """
        if not self.from_draft:
            raise ValueError("only a stored draft's rest is left in the store")
        return replace(self, rest=None)

    def draft_document(self) -> bytes:
        return join_document(self.head, self._rest())

    def draft_parts(self) -> tuple[bytes, bytes]:
        """The draft document's bytes as the store keeps them: head, then rest."""
        return written_parts(self.head, self._rest())

    def issued_head(self, number: str, issued_at: datetime) -> tuple[bytes, dict[str, Any]]:
        """The issued document's head bytes, and its head fields (R13). Issuing changes
        only the head: the rest's bytes are the draft's (`draft_parts`)."""
        head = finalize(self.head, number, issued_at)
        return written_head(head), head

    def _rest(self) -> bytes:
        if self.rest is None:
            raise ValueError(f"the rest of draft {self.id} was left in the store")
        return self.rest


class _Period(msgspec.Struct, frozen=True):
    key: str
    time_zone: str


class _CreditUse(msgspec.Struct, frozen=True):
    grant_id: str
    applied: str
    expired: str


class _Anomaly(msgspec.Struct, frozen=True):
    kind: str
    message: str


class _StoredDraft(msgspec.Struct, frozen=True):
    """The fields of a draft document (core.invoice's `_document`) a record holds;
    msgspec passes over the others, and over each line's content (`msgspec.Raw`)."""

    id: str
    status: str
    organization_id: str
    period: _Period
    lines: list[msgspec.Raw]
    subtotal: str
    promotional_credits_applied: str
    prepaid_credits_applied: str
    total: str
    amount_due: str
    credits: list[_CreditUse]
    anomalies: list[_Anomaly]


_STORED_DRAFT = msgspec.json.Decoder(_StoredDraft)


def _split_written(document: Mapping[str, Any], written: bytes) -> tuple[dict[str, Any], bytes]:
    """`split_document` of a stored document, taking the rest from its bytes as written.

    The stored bytes are the canonical form, so they begin with the head's own canonical
    form (`stored_parts` finds it); the rest is then a slice of them, not written again.
    Bytes in another form (a document stored by hand) are split by writing them anew.
    """
    fields = issue_fields_end(document)
    head_bytes, rest = stored_parts(written, document)
    if head_bytes:
        return dict(list(document.items())[:fields]), rest.removeprefix(b",")
    return split_document(document, fields)
