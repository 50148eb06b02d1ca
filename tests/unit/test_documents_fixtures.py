"""The sample invoice documents follow docs/invoice-document.md and keep its identities,
so the renderers' tests exercise documents the core could have produced (R8-R12, R15)."""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.documents_fixtures import (
    credit_note,
    draft_invoice,
    large_invoice,
    reverse_charged_invoice,
    typical_invoice,
)

CENT = Decimal("0.01")
SAMPLES: list[Callable[[], dict[str, Any]]] = [
    typical_invoice,
    reverse_charged_invoice,
    draft_invoice,
    credit_note,
    lambda: large_invoice(300),
]
TOP_LEVEL = {
    "id", "number", "status", "organization_id", "currency", "policy", "issued_at", "period",
    "seller", "buyer", "lines", "totals_by_kind", "subtotal", "promotional_credits_applied",
    "taxable_amount", "vat_rate", "vat_amount", "reverse_charge", "vat_mention", "total",
    "prepaid_credits_applied", "amount_due", "credits", "credit_summary", "comparison",
    "anomalies",
}  # fmt: skip
DETAIL_KEYS = {
    "application": {"instance_id", "role", "price_key", "flavor", "start", "end",
                    "elapsed_seconds", "billed_seconds", "rate_per_hour", "amount"},
    "addon": {"addon_id", "provider", "plan", "price_key", "start", "end", "elapsed_seconds",
              "billed_seconds", "rate_per_hour", "amount"},
    "task": {"task_id", "event_id", "at", "price_key", "quantity", "unit_price", "amount"},
    "usage": {"meter", "at", "quantity", "unit", "unit_price", "amount"},
    "adjustment": {"corrects_period", "kind", "resource_id", "invoiced", "recomputed",
                   "amount"},
}  # fmt: skip


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@pytest.mark.parametrize("build", SAMPLES)
def test_samples_have_the_documents_fields(build: Callable[[], dict[str, Any]]) -> None:
    document = build()
    assert set(document) >= TOP_LEVEL
    assert set(document["period"]) == {"key", "start", "end", "time_zone"}
    for line in document["lines"]:
        assert {"id", "kind", "resource_id", "description", "billed_seconds", "amount"} <= set(line)
        assert ("corrects_period" in line) == (line["kind"] == "adjustment")
        for detail in line["details"]:
            assert set(detail) == DETAIL_KEYS[line["kind"]]


@pytest.mark.parametrize("build", SAMPLES)
def test_samples_add_up_like_the_core_would(build: Callable[[], dict[str, Any]]) -> None:
    d = build()
    amount = {key: Decimal(d[key]) for key in ("subtotal", "promotional_credits_applied",
              "taxable_amount", "vat_amount", "total", "prepaid_credits_applied",
              "amount_due")}  # fmt: skip
    for line in d["lines"]:
        # R8/R12: the rounding of the exact sum (12 decimals are close enough here).
        assert Decimal(line["amount"]) == cents(sum(Decimal(x["amount"]) for x in line["details"]))
        if line["kind"] in ("application", "addon"):
            assert line["billed_seconds"] == sum(x["billed_seconds"] for x in line["details"])
    lines = [Decimal(line["amount"]) for line in d["lines"]]
    assert amount["subtotal"] == sum(lines)  # R9
    assert sum(map(Decimal, d["totals_by_kind"].values())) == amount["subtotal"]
    # R11
    assert amount["taxable_amount"] == amount["subtotal"] - amount["promotional_credits_applied"]
    assert amount["vat_amount"] == cents(amount["taxable_amount"] * Decimal(d["vat_rate"]))
    assert amount["total"] == amount["taxable_amount"] + amount["vat_amount"]
    assert amount["amount_due"] == amount["total"] - amount["prepaid_credits_applied"]
    for kind, applied in (
        ("promotional", "promotional_credits_applied"),
        ("prepaid", "prepaid_credits_applied"),
    ):
        grants = [c for c in d["credits"] if c["kind"] == kind]
        assert sum(Decimal(c["applied"]) for c in grants) == amount[applied]
        assert Decimal(d["credit_summary"][kind]["used"]) == amount[applied]
    for grant in d["credits"]:  # ARCHITECTURE invariant 4, per grant
        parts = (grant["applied"], grant["expired"], grant["remaining"])
        assert Decimal(grant["available_before"]) == sum(map(Decimal, parts))
    if d["comparison"]:  # R15
        former = sum(Decimal(x["amount"]) for x in d["comparison"]["lines"])
        assert Decimal(d["comparison"]["subtotal"]) == former
        assert Decimal(d["comparison"]["difference"]) == amount["subtotal"] - former
