"""Invoice assembly: lines, subtotal, credits, VAT, comparison -> the document (R8-R16).

`build_invoice` is a pure function of the events, the catalog, the grants, the
organisation's settings and the policy (R16): no clock, no storage, no randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson

from .catalog import Catalog
from .credits import Accrual, GrantBalance, Settlement, settle
from .document import canonical_json
from .events import Event
from .lines import KINDS, Line, build_lines, line_totals, subtotal
from .metering import Anomaly, Opening, Usage, meter
from .money import Currency, currency, decimal_text, format_decimal
from .period import BillingPeriod, rfc3339
from .policy import FORMER_POLICY, Policy
from .policy import policy as named_policy
from .rating import rate, rebill
from .tax import vat_treatment


@dataclass(frozen=True, slots=True)
class Customer:
    """The organisation's billing settings (R1, R6, R11)."""

    id: str
    name: str = ""
    address: str = ""
    country: str = ""
    vat_number: str = ""
    time_zone: str = "UTC"
    policy: str = "per-second"
    vat_rate: Decimal = Decimal("0.20")
    currency: str = "EUR"
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class Seller:
    name: str = "bysecond platform"
    address: str = ""
    country: str = "FR"
    vat_number: str = ""
    company_id: str = ""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """R14: what a finalised period costs now minus what was invoiced for it."""

    corrects_period: str
    kind: str
    resource_id: str
    invoiced: Decimal
    recomputed: Decimal

    @property
    def amount(self) -> Decimal:
        return self.recomputed - self.invoiced


@dataclass(frozen=True)
class Comparison:
    """R15: the same usage rated under another policy: billed seconds and amount per line."""

    policy: Policy
    lines: dict[tuple[str, str], tuple[int, Decimal]]

    @property
    def subtotal(self) -> Decimal:
        return sum((amount for _, amount in self.lines.values()), Decimal(0))


@dataclass(frozen=True)
class Invoice:
    customer: Customer
    seller: Seller
    period: BillingPeriod
    policy: Policy
    lines: tuple[Line, ...]
    settlement: Settlement
    comparison: Comparison
    anomalies: tuple[Anomaly, ...]
    usage: Usage = field(repr=False)

    @property
    def id(self) -> str:
        return invoice_id(self.customer.id, self.period.key)

    @property
    def unpriced(self) -> tuple[Anomaly, ...]:
        return tuple(a for a in self.anomalies if a.kind == "unpriced")

    @property
    def finalizable(self) -> bool:
        """An invoice with usage that has no price cannot be issued."""
        return not self.unpriced

    def document(self) -> dict[str, Any]:
        return _document(self)


def invoice_id(organization_id: str, period_key: str) -> str:
    digest = hashlib.sha256(f"{organization_id}\x00{period_key}".encode()).hexdigest()
    return "inv_" + digest[:24]


def build_invoice(
    customer: Customer,
    period: BillingPeriod,
    events: Iterable[Event],
    catalog: Catalog,
    grants: Sequence[GrantBalance] = (),
    *,
    seller: Seller = Seller(),
    adjustments: Sequence[Adjustment] = (),
    policy: Policy | None = None,
    compare_with: Policy = FORMER_POLICY,
    until: datetime | None = None,
    details: bool = True,
    opening: Opening | None = None,
) -> Invoice:
    """The invoice of `customer` for `period` (R8-R12, R15).

    `until` cuts the window short for an estimate of the period so far; running
    resources are then billed up to it. `details=False` leaves each line's details out
    (amounts, credits and VAT are the same). With an `opening` state at or before the
    period's start, `events` are those at or after its instant (core.metering).
    """
    period = BillingPeriod(period.year, period.month, customer.time_zone)  # R1
    end = period.end if until is None else period.clamp(until)
    return invoice_of_usage(
        customer,
        period,
        meter(events, period.start, end, opening=opening),
        catalog,
        grants,
        seller=seller,
        adjustments=adjustments,
        policy=policy,
        compare_with=compare_with,
        details=details,
    )


def invoice_of_usage(
    customer: Customer,
    period: BillingPeriod,
    usage: Usage,
    catalog: Catalog,
    grants: Sequence[GrantBalance] = (),
    *,
    seller: Seller = Seller(),
    adjustments: Sequence[Adjustment] = (),
    policy: Policy | None = None,
    compare_with: Policy = FORMER_POLICY,
    details: bool = True,
) -> Invoice:
    """`build_invoice` from usage already metered over the period (or its part so far)."""
    chosen = policy or named_policy(customer.policy)
    cur = currency(customer.currency)
    rating = rate(usage, catalog, cur.code, chosen)
    compared = line_totals(rebill(rating, compare_with), cur)
    return assemble_invoice(
        customer,
        period,
        chosen,
        build_lines(rating, usage, cur, details=details),
        grants,
        seller=seller,
        adjustments=adjustments,
        comparison=Comparison(compare_with, compared),
        anomalies=(*usage.anomalies, *rating.unpriced),
        usage=usage,
    )


def project_settlement(
    customer: Customer,
    period: BillingPeriod,
    events: Iterable[Event],
    catalog: Catalog,
    grants: Sequence[GrantBalance] = (),
    *,
    seller: Seller = Seller(),
    opening: Opening | None = None,
) -> Settlement:
    """What `build_invoice` would settle for the whole period (R4: running resources
    continued to its end), and nothing else: no line details, no comparison (R15), no
    document. For projections, which only their totals are read of."""
    period = BillingPeriod(period.year, period.month, customer.time_zone)  # R1
    usage = meter(events, period.start, period.end, opening=opening)
    return settlement_of_usage(customer, period, usage, catalog, grants, seller=seller)


def settlement_of_usage(
    customer: Customer,
    period: BillingPeriod,
    usage: Usage,
    catalog: Catalog,
    grants: Sequence[GrantBalance] = (),
    *,
    seller: Seller = Seller(),
) -> Settlement:
    """`project_settlement` from usage already metered over the whole period."""
    cur = currency(customer.currency)
    rating = rate(usage, catalog, cur.code, named_policy(customer.policy))
    lines = build_lines(rating, usage, cur, details=False)
    return _settle(customer, seller, period, lines, grants)


def assemble_invoice(
    customer: Customer,
    period: BillingPeriod,
    policy: Policy,
    usage_lines: Sequence[Line],
    grants: Sequence[GrantBalance],
    *,
    seller: Seller,
    adjustments: Sequence[Adjustment],
    comparison: Comparison,
    anomalies: Iterable[Anomaly],
    usage: Usage,
) -> Invoice:
    """Rated lines -> the invoice: adjustments, credits, VAT (R9-R12, R14, R15).

    `build_invoice` rates the lines itself; the batch path (bysecond.batch) rates
    uptime in columns and gives its lines here, so both settle the same way.
    """
    adjustment_lines = [_adjustment_line(a, period) for a in adjustments]
    lines = tuple(sorted([*usage_lines, *adjustment_lines], key=lambda line: line.sort_key))
    return Invoice(
        customer,
        seller,
        period,
        policy,
        lines,
        _settle(customer, seller, period, lines, grants),
        comparison,
        tuple(sorted(anomalies, key=lambda a: a.sort_key)),
        usage,
    )


def _settle(
    customer: Customer,
    seller: Seller,
    period: BillingPeriod,
    lines: Sequence[Line],
    grants: Sequence[GrantBalance],
) -> Settlement:
    """Credits and VAT over the lines (R10-R12)."""
    accruals = [accrual for line in lines for accrual in line.accruals]
    treatment = vat_treatment(
        customer.country, customer.vat_number, seller.country, customer.vat_rate
    )
    cur = currency(customer.currency)
    return settle(subtotal(lines), accruals, grants, period.end, treatment, cur)


def adjustments_for(
    corrects_period: str,
    invoiced: Mapping[tuple[str, str], Decimal],
    recomputed: Iterable[Line],
) -> list[Adjustment]:
    """R14: per resource, the recomputed amount of a finalised period minus what was
    invoiced for it; resources whose amount did not change get no line."""
    now = {
        (line.kind, line.resource_id): line.amount
        for line in recomputed
        if line.kind != "adjustment"
    }
    found = []
    for kind, resource in sorted(set(now) | set(invoiced)):
        before = invoiced.get((kind, resource), Decimal(0))
        after = now.get((kind, resource), Decimal(0))
        if before != after:
            found.append(Adjustment(corrects_period, kind, resource, before, after))
    return found


def _adjustment_line(adjustment: Adjustment, period: BillingPeriod) -> Line:
    amount = adjustment.amount
    # A positive correction is owed from the start of the period that carries it.
    accruals = (Accrual(period.start, period.start, Fraction(amount)),) if amount > 0 else ()
    detail = {
        "corrects_period": adjustment.corrects_period,
        "kind": adjustment.kind,
        "resource_id": adjustment.resource_id,
        "invoiced": decimal_text(adjustment.invoiced),
        "recomputed": decimal_text(adjustment.recomputed),
        "amount": decimal_text(amount),
    }
    description = (
        f"Adjustment for {adjustment.corrects_period}: {adjustment.kind} {adjustment.resource_id}"
    )
    return Line(
        "adjustment",
        adjustment.resource_id,
        description,
        0,
        Fraction(amount),
        amount,
        (detail,),
        accruals,
        adjustment.corrects_period,
    )


def _money(value: Decimal, cur: Currency) -> str:
    return format_decimal(value, cur)


def _document(invoice: Invoice) -> dict[str, Any]:
    cur = currency(invoice.customer.currency)
    s = invoice.settlement
    lines = [_line_document(number, line, cur) for number, line in enumerate(invoice.lines, 1)]
    by_kind = {
        kind: _money(sum((ln.amount for ln in invoice.lines if ln.kind == kind), Decimal(0)), cur)
        for kind in KINDS
    }
    customer, seller = invoice.customer, invoice.seller
    return {
        "id": invoice.id,
        "number": None,
        "status": "draft",
        "organization_id": customer.id,
        "currency": cur.code,
        "policy": invoice.policy.name,
        "issued_at": None,
        "period": {
            "key": invoice.period.key,
            "start": rfc3339(invoice.period.start),
            "end": rfc3339(invoice.period.end),
            "time_zone": invoice.period.time_zone,
        },
        "seller": {
            "name": seller.name,
            "address": seller.address,
            "country": seller.country,
            "vat_number": seller.vat_number,
            "company_id": seller.company_id,
        },
        "buyer": {
            "organization_id": customer.id,
            "name": customer.name or customer.id,
            "address": customer.address,
            "country": customer.country,
            "vat_number": customer.vat_number,
            "locale": customer.locale,
        },
        "lines": lines,
        "totals_by_kind": by_kind,
        "subtotal": _money(s.subtotal, cur),
        "promotional_credits_applied": _money(s.promotional_applied, cur),
        "taxable_amount": _money(s.taxable, cur),
        "vat_rate": decimal_text(s.vat.rate),
        "vat_amount": _money(s.vat_amount, cur),
        "reverse_charge": s.vat.reverse_charge,
        "vat_mention": s.vat.mention,
        "total": _money(s.total, cur),
        "prepaid_credits_applied": _money(s.prepaid_applied, cur),
        "amount_due": _money(s.amount_due, cur),
        "credits": [
            {
                "grant_id": use.grant.id,
                "kind": use.grant.kind,
                "expires_at": rfc3339(use.grant.expires_at) if use.grant.expires_at else None,
                "available_before": _money(use.available_before, cur),
                "applied": _money(use.applied, cur),
                "expired": _money(use.expired, cur),
                "remaining": _money(use.remaining, cur),
            }
            for use in s.uses
        ],
        "credit_summary": _credit_summary(s, cur),
        "comparison": {
            "policy": invoice.comparison.policy.name,
            "subtotal": _money(invoice.comparison.subtotal, cur),
            "difference": _money(s.subtotal - invoice.comparison.subtotal, cur),
            "lines": [
                {
                    "id": f"L{number:03d}",
                    "kind": line.kind,
                    "resource_id": line.resource_id,
                    "billed_seconds": compared[0],
                    "amount": _money(compared[1], cur),
                }
                for number, line in enumerate(invoice.lines, 1)
                if (compared := invoice.comparison.lines.get((line.kind, line.resource_id)))
            ],
        },
        "anomalies": [
            {
                "kind": a.kind,
                "source": a.source,
                "event_id": a.event_id,
                "resource_id": a.resource_id,
                "time": rfc3339(a.time),
                "message": a.message,
            }
            for a in invoice.anomalies
        ],
    }


def _line_document(number: int, line: Line, cur: Currency) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": f"L{number:03d}",
        "kind": line.kind,
        "resource_id": line.resource_id,
        "description": line.description,
        "billed_seconds": line.billed_seconds,
        "amount": _money(line.amount, cur),
    }
    if line.corrects_period:
        document["corrects_period"] = line.corrects_period
    # A line rated in columns brings its details already written (canonical JSON).
    document["details"] = (
        orjson.Fragment(line.details_json) if line.details_json is not None else list(line.details)
    )
    return document


def _credit_summary(s: Settlement, cur: Currency) -> dict[str, dict[str, str]]:
    def total(kind: str, attribute: str) -> str:
        return _money(
            sum((getattr(u, attribute) for u in s.uses if u.grant.kind == kind), Decimal(0)), cur
        )

    return {
        "promotional": {
            "available": total("promotional", "available_before"),
            "used": total("promotional", "applied"),
            "expired": total("promotional", "expired"),
            "remaining": total("promotional", "remaining"),
        },
        "prepaid": {
            "available": total("prepaid", "available_before"),
            "used": total("prepaid", "applied"),
            "remaining": total("prepaid", "remaining"),
        },
    }


# The fields `finalize` sets; a draft document has them all, near its start.
ISSUE_FIELDS = ("number", "status", "issued_at")


def issue_fields_end(document: Mapping[str, Any]) -> int:
    """How many leading fields of `document` hold every field issuing sets."""
    keys = list(document)
    return max(keys.index(name) for name in ISSUE_FIELDS) + 1


def stored_parts(written: bytes, document: Any = None) -> tuple[bytes, bytes]:
    """A written document's bytes cut after its last field issuing sets, as
    `written_parts` cuts them: (head, rest), whose concatenation is `written`.
    `document` is `written` decoded, when the caller has already decoded it.

    Bytes not in the canonical form, or without those fields, are all rest: the cut
    never changes a byte, only where the bytes are kept.
    """
    if document is None:
        try:
            document = orjson.loads(written)
        except orjson.JSONDecodeError:
            return b"", written
    if not isinstance(document, dict) or not all(name in document for name in ISSUE_FIELDS):
        return b"", written
    head = dict(list(document.items())[: issue_fields_end(document)])
    opening = canonical_json(head)[:-1]
    if written.startswith(opening) and written[len(opening) : len(opening) + 1] in (b",", b"}"):
        return opening, written[len(opening) :]
    return b"", written


def finalize(document: Mapping[str, Any], number: str, issued_at: datetime) -> dict[str, Any]:
    """R13: the issued form of a draft document: numbered, dated, never changed again."""
    issued = dict(document)
    issued["number"] = number
    issued["status"] = "finalized"
    issued["issued_at"] = rfc3339(issued_at)
    return issued
