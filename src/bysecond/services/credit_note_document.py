"""The credit note document (R13): what is credited back on an issued invoice.

Pure: it reads the stored invoice document and the documents of the credit notes already
issued against it, and returns the new credit note's document; no database, no clock
(R16). The shape is the invoice document's with `"type": "credit_note"` and positive
amounts that say what is credited (EN 16931, Factur-X type code 381), described in
docs/invoice-document.md, "Credit notes"; `bysecond.render` prints it as it is.

The amounts follow the invoice's own rules (R9-R12), applied to what is credited:
- the credited lines are parts of the invoice's rounded line amounts (R8), so they need
  no rounding; their sum is the credit note's subtotal (R9);
- the invoice's promotional credits were a discount on the whole invoice (R10/R11), so
  the credit note takes back the same share of what it credits: otherwise a customer
  would be paid back money a free credit paid;
- VAT is the invoice's rate on the credited taxable amount (R11), reverse charge and its
  mention as on the invoice;
- both are rounded half-up once (R12) over everything credited on the invoice so far,
  and this credit note takes the difference with what earlier ones took. A single credit
  note thus gets exactly R12(amount x rate); a run of partial ones never drifts (each is
  within one minor unit of its own rounding, which EN 16931's BR-CO-17 tolerates), never
  credits more VAT or discount than the invoice carried, and the one that credits the
  last of the invoice brings the credited totals to exactly the invoice's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final, Literal

from bysecond.core.money import (
    Currency,
    MoneyError,
    currency,
    format_decimal,
    parse_amount,
    round_half_up,
)
from bysecond.core.period import rfc3339

FULL: Final = "full"
# What to credit: every line (FULL), or part of one line, given by its id and amount.
CreditedLines = Literal["full"] | tuple[str, str | Decimal]
# The order of `totals_by_kind`, as on the invoice (core.invoice, render.html).
LINE_KINDS: Final = ("application", "addon", "task", "usage", "adjustment")

Document = Mapping[str, Any]


class CreditNoteError(ValueError):
    """A credit note that cannot be issued; the message tells a person why."""


@dataclass(frozen=True)
class Credited:
    """What credit notes already issued against one invoice credited, summed."""

    lines: Mapping[str, Decimal]  # by the invoice's line id
    subtotal: Decimal = Decimal(0)
    promotional: Decimal = Decimal(0)
    taxable: Decimal = Decimal(0)
    vat: Decimal = Decimal(0)
    total: Decimal = Decimal(0)

    @classmethod
    def of(cls, documents: Iterable[Document]) -> Credited:
        lines: dict[str, Decimal] = {}
        sums = dict.fromkeys(("subtotal", "promotional", "taxable", "vat", "total"), Decimal(0))
        for document in documents:
            for line in document["lines"]:
                lines[line["id"]] = lines.get(line["id"], Decimal(0)) + Decimal(line["amount"])
            sums["subtotal"] += Decimal(document["subtotal"])
            sums["promotional"] += Decimal(document["promotional_credits_applied"])
            sums["taxable"] += Decimal(document["taxable_amount"])
            sums["vat"] += Decimal(document["vat_amount"])
            sums["total"] += Decimal(document["total"])
        return cls(lines, **sums)


@dataclass(frozen=True)
class CreditedAmounts:
    """The lines one credit note credits, with its totals (all positive)."""

    lines: tuple[tuple[Document, Decimal], ...]  # (the invoice's line, amount credited)
    subtotal: Decimal
    promotional: Decimal
    taxable: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.taxable + self.vat


def credited_amounts(invoice: Document, earlier: Credited, what: CreditedLines) -> CreditedAmounts:
    """What a new credit note of `invoice` credits, given what `earlier` ones did.

    Refuses (CreditNoteError) an unknown line, an amount that is not positive or more
    than what is left of its line or of the invoice, and a credit of nothing.
    """
    cur = currency(invoice["currency"])
    number = invoice["number"]
    if what == FULL:
        # Every line, for what earlier credit notes left of it: the rest of the invoice.
        lines = tuple(
            (line, _left_on(line, earlier))
            for line in invoice["lines"]
            if _left_on(line, earlier) != 0
        )
        subtotal = sum((amount for _, amount in lines), Decimal(0))
        if subtotal <= 0:
            raise CreditNoteError(_nothing_left(invoice, earlier, cur))
    elif isinstance(what, tuple):
        line_id, text = what
        line = _line(invoice, line_id)
        amount = _positive_amount(text, cur)
        _check_within_line(number, line, amount, earlier, cur)
        # An R14 adjustment can be negative: lines can then add up to more than the
        # invoice, which is never credited beyond its own subtotal.
        left = Decimal(invoice["subtotal"]) - earlier.subtotal
        if amount > left:
            raise CreditNoteError(
                f"invoice {number} has {_money(left, cur)} {cur.code} left to credit"
                f" in all, not {_money(amount, cur)}"
            )
        lines, subtotal = ((line, amount),), amount
    else:
        raise TypeError(f"credit {FULL!r} or (line id, amount), not {what!r}")
    # R10-R12 applied once to everything credited on the invoice so far, this credit note
    # included, minus what earlier ones took (see the module's docstring).
    promotional = (
        _share(
            earlier.subtotal + subtotal,
            Decimal(invoice["promotional_credits_applied"]),
            Decimal(invoice["subtotal"]),
            cur,
        )
        - earlier.promotional
    )
    taxable = subtotal - promotional
    vat = (
        round_half_up(Fraction(earlier.taxable + taxable) * Fraction(invoice["vat_rate"]), cur)
        - earlier.vat
    )
    amounts = CreditedAmounts(lines, subtotal, promotional, taxable, vat)
    if amounts.total <= 0:
        raise CreditNoteError(
            f"nothing to credit: invoice {number}'s promotional credits paid for"
            f" {_money(subtotal, cur)} {cur.code} of its lines, so the customer paid nothing"
            " for them"
        )
    return amounts


def credit_note_document(
    invoice: Document,
    amounts: CreditedAmounts,
    *,
    credit_note_id: str,
    number: str,
    issued_at: datetime,
    reason: str,
    grant_id: str,
) -> dict[str, Any]:
    """The issued credit note: numbered, dated and final from the start (R13).

    Seller, buyer, period, currency, policy and VAT treatment are the invoice's: a credit
    note corrects that invoice, as it was issued, whatever the profiles say today.
    """
    cur = currency(invoice["currency"])
    lines = [_credited_line(line, amount, cur) for line, amount in amounts.lines]
    by_kind = {
        kind: _money(
            sum((amount for line, amount in amounts.lines if line["kind"] == kind), Decimal(0)),
            cur,
        )
        for kind in LINE_KINDS
    }
    zero = _money(Decimal(0), cur)
    total = _money(amounts.total, cur)
    return {
        "type": "credit_note",
        "id": credit_note_id,
        "number": number,
        "status": "finalized",
        "organization_id": invoice["organization_id"],
        "currency": cur.code,
        "policy": invoice["policy"],
        "issued_at": rfc3339(issued_at),
        "corrects_invoice": invoice["number"],
        "corrects_invoice_id": invoice["id"],
        "corrects_invoice_issued_at": invoice["issued_at"],  # EN 16931 BT-26
        "reason": reason,
        "period": invoice["period"],
        "seller": invoice["seller"],
        "buyer": invoice["buyer"],
        "lines": lines,
        "totals_by_kind": by_kind,
        "subtotal": _money(amounts.subtotal, cur),
        "promotional_credits_applied": _money(amounts.promotional, cur),
        "taxable_amount": _money(amounts.taxable, cur),
        "vat_rate": invoice["vat_rate"],
        "vat_amount": _money(amounts.vat, cur),
        "reverse_charge": invoice["reverse_charge"],
        "vat_mention": invoice["vat_mention"],
        "total": total,
        # Nothing is paid with credits on a credit note: what it credits is all returned,
        # and `amount_due` is that amount (the renderers print it as "amount credited").
        "prepaid_credits_applied": zero,
        "amount_due": total,
        # R10: the credit goes back as a prepaid grant (services.credit_notes).
        "credit_grant_id": grant_id,
        "payment_terms": (
            f"Credited to the prepaid credit of {invoice['organization_id']} (grant {grant_id}),"
            " which pays the next invoices. Nothing is to be paid."
        ),
        "credits": [],
        "credit_summary": {
            "promotional": dict.fromkeys(("available", "used", "expired", "remaining"), zero),
            "prepaid": dict.fromkeys(("available", "used", "remaining"), zero),
        },
        "comparison": None,  # R15 compares policies; a credit note re-rates nothing
        "anomalies": [],
    }


# Lines and limits ----------------------------------------------------------------------


def _line(invoice: Document, line_id: str) -> Document:
    for line in invoice["lines"]:
        if line["id"] == line_id:
            line_document: Document = line
            return line_document
    ids = [line["id"] for line in invoice["lines"]]
    known = f"its lines are {ids[0]} to {ids[-1]}" if ids else "it has no line"
    raise CreditNoteError(f"invoice {invoice['number']} has no line {line_id!r}: {known}")


def _left_on(line: Document, earlier: Credited) -> Decimal:
    return Decimal(line["amount"]) - earlier.lines.get(line["id"], Decimal(0))


def _positive_amount(text: str | Decimal, cur: Currency) -> Decimal:
    try:
        amount = parse_amount(str(text), cur, allow_negative=True)
    except MoneyError as error:
        raise CreditNoteError(f"amount to credit: {error}") from None
    if amount <= 0:
        raise CreditNoteError(f"the amount to credit must be more than 0, not {text}")
    return amount


def _check_within_line(
    number: str, line: Document, amount: Decimal, earlier: Credited, cur: Currency
) -> None:
    invoiced = Decimal(line["amount"])
    name = f"line {line['id']} of invoice {number}"
    if invoiced <= 0:
        raise CreditNoteError(
            f"{name} is {_money(invoiced, cur)} {cur.code}: there is nothing to credit on it"
        )
    left = _left_on(line, earlier)
    if left <= 0:
        raise CreditNoteError(
            f"{name} ({_money(invoiced, cur)} {cur.code}) is already credited in full"
        )
    if amount > left:
        already = earlier.lines.get(line["id"], Decimal(0))
        history = f", {_money(already, cur)} already credited" if already else ""
        raise CreditNoteError(
            f"{name} was invoiced {_money(invoiced, cur)} {cur.code}{history}:"
            f" at most {_money(left, cur)} can be credited on it, not {_money(amount, cur)}"
        )


def _nothing_left(invoice: Document, earlier: Credited, cur: Currency) -> str:
    number = invoice["number"]
    if earlier.subtotal:
        return (
            f"invoice {number} is already credited in full"
            f" ({_money(earlier.total, cur)} of {invoice['total']} {cur.code}):"
            " nothing is left to credit"
        )
    return f"invoice {number}'s lines come to {invoice['subtotal']} {cur.code}: nothing to credit"


def _credited_line(line: Document, amount: Decimal, cur: Currency) -> dict[str, Any]:
    """A credited line keeps the id, kind and resource of the invoice line it credits.

    Credited in full, it also keeps the line's details, which add up to it (R8). A part
    of a line has no details of its own: no piece of usage adds up to an agreed amount.
    """
    whole = amount == Decimal(line["amount"])
    document: dict[str, Any] = {
        "id": line["id"],
        "kind": line["kind"],
        "resource_id": line["resource_id"],
        "description": line["description"] if whole else f"Partial credit: {line['description']}",
        "billed_seconds": line["billed_seconds"] if whole else 0,
        "amount": _money(amount, cur),
        "invoiced_amount": line["amount"],
    }
    if line.get("corrects_period"):
        document["corrects_period"] = line["corrects_period"]
    document["details"] = list(line["details"]) if whole else []
    return document


# Numbers ------------------------------------------------------------------------------


def _share(credited: Decimal, promotional: Decimal, subtotal: Decimal, cur: Currency) -> Decimal:
    """R10/R12: the invoice's promotional discount on `credited` of its subtotal."""
    if not promotional or subtotal <= 0:
        return Decimal(0)
    return round_half_up(Fraction(credited) * Fraction(promotional) / Fraction(subtotal), cur)


def _money(value: Decimal, cur: Currency) -> str:
    return format_decimal(value, cur)
