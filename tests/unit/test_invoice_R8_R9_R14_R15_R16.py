"""R8 lines, R9 subtotal, R14 adjustments, R15 comparison, R16 determinism."""

import random
from decimal import Decimal

from bysecond.core.catalog import Price, default_catalog
from bysecond.core.document import canonical_json, content_hash
from bysecond.core.invoice import Adjustment, adjustments_for, finalize
from bysecond.core.policy import TEN_MINUTE_SLICES
from tests.builders import (
    at,
    event,
    invoice_for,
    line,
    plan_changed,
    provisioned,
    started,
    stopped,
    task,
)


def busy_month():  # type: ignore[no-untyped-def]
    return [
        started("2026-10-01 00:00", instance="i-1", application_name="Shop"),
        started("2026-10-03 12:00", instance="i-2", role="build", flavor="XL"),
        stopped("2026-10-03 12:12:42", instance="i-2"),
        started("2026-10-04 08:00", instance="i-3", app="app-api", flavor="S"),
        stopped("2026-10-04 18:00:30", instance="i-3"),
        provisioned("2026-10-02 00:00", plan="s", name="Shop DB"),
        plan_changed("2026-10-20 00:00", plan="m"),
        task("2026-10-07 10:00", amount="120.00"),
        task(
            "2026-10-08 10:00",
            task_id="t-2",
            description="Support hour",
            price_key="task.support-hour",
            quantity="1.5",
        ),
        event(
            "usage.reported",
            "2026-10-09 00:00",
            resource_id="bucket-1",
            meter="outbound-traffic",
            quantity="12.5",
        ),
    ]


def catalog():  # type: ignore[no-untyped-def]
    return default_catalog().with_prices(
        [Price("task.support-hour", Decimal("90"), "EUR", "hour", at("2026-01-01 00:00"))]
    )


def test_R8_one_line_per_application_addon_task_and_quantity() -> None:
    document = invoice_for(busy_month(), catalog=catalog()).document()
    assert [(ln["kind"], ln["resource_id"]) for ln in document["lines"]] == [
        ("application", "app-api"),
        ("application", "app-shop"),
        ("addon", "pg-1"),
        ("task", "t-1"),
        ("task", "t-2"),
        ("usage", "bucket-1/outbound-traffic"),
    ]
    shop = document["lines"][1]
    assert shop["description"] == "Application Shop: 2 instances, 1 of them build"
    assert [(d["instance_id"], d["role"], d["flavor"]) for d in shop["details"]] == [
        ("i-1", "run", "M"),
        ("i-2", "build", "XL"),
    ]
    addon = document["lines"][2]
    assert [d["plan"] for d in addon["details"]] == ["s", "m"]
    assert document["lines"][4]["amount"] == "135.00"  # 1.5 h x 90
    assert document["lines"][5]["amount"] == "1.13"  # 12.5 GB x 0.09 = 1.125


def test_R8_a_line_amount_rounds_the_exact_sum_not_the_shown_details() -> None:
    # Three 1-second runs of an M instance: each 0.0000277..., the sum 0.0000833...
    events = []
    for n in range(3):
        events += [
            started(f"2026-10-0{n + 1} 00:00", instance=f"i-{n}"),
            stopped(f"2026-10-0{n + 1} 00:00:01", instance=f"i-{n}"),
        ]
    # 200 such runs would be 0.0056: show that rounding happens once, on the sum.
    for n in range(200):
        day = 10 + n // 24
        events += [
            started(f"2026-10-{day} {n % 24:02d}:00", instance=f"j-{n}", app="app-b"),
            stopped(f"2026-10-{day} {n % 24:02d}:00:01", instance=f"j-{n}"),
        ]
    invoice = invoice_for(events)
    assert line(invoice, "app-shop")["amount"] == "0.00"
    assert line(invoice, "app-b")["amount"] == "0.01"  # 200 x 0.10 / 3600 = 0.00555...


def test_R9_the_subtotal_is_the_sum_of_rounded_lines() -> None:
    document = invoice_for(busy_month(), catalog=catalog()).document()
    lines_sum = sum(Decimal(ln["amount"]) for ln in document["lines"])
    assert Decimal(document["subtotal"]) == lines_sum
    by_kind = document["totals_by_kind"]
    assert sum(Decimal(v) for v in by_kind.values()) == lines_sum


def test_R15_the_invoice_shows_what_ten_minute_slices_would_have_cost() -> None:
    invoice = invoice_for(busy_month(), catalog=catalog())
    document = invoice.document()
    former = invoice_for(busy_month(), catalog=catalog(), policy=TEN_MINUTE_SLICES).document()
    assert document["comparison"]["policy"] == "10-minute-slices"
    assert document["comparison"]["subtotal"] == former["subtotal"]
    assert Decimal(document["comparison"]["subtotal"]) > Decimal(document["subtotal"])
    assert Decimal(document["comparison"]["difference"]) == (
        Decimal(document["subtotal"]) - Decimal(former["subtotal"])
    )
    compared = {c["resource_id"]: c["amount"] for c in document["comparison"]["lines"]}
    assert compared == {ln["resource_id"]: ln["amount"] for ln in former["lines"]}


def test_R14_adjustments_are_what_a_final_period_costs_now_minus_what_was_invoiced() -> None:
    invoiced = {("application", "app-shop"): Decimal("74.40"), ("addon", "pg-1"): Decimal("5.00")}
    late = invoice_for([started("2026-09-20 00:00"), task("2026-10-07 10:00", amount="12.00")])
    found = adjustments_for("2026-10", invoiced, late.lines)
    assert found == [
        Adjustment("2026-10", "addon", "pg-1", Decimal("5.00"), Decimal("0")),
        Adjustment("2026-10", "task", "t-1", Decimal("0"), Decimal("12.00")),
    ]


def test_R14_adjustment_lines_are_carried_by_the_next_invoice() -> None:
    adjustment = Adjustment("2026-09", "task", "t-9", Decimal("0"), Decimal("12.00"))
    refund = Adjustment("2026-09", "application", "app-old", Decimal("3.00"), Decimal("1.00"))
    document = invoice_for(
        [started("2026-09-20 00:00")], adjustments=[adjustment, refund]
    ).document()
    adjustments = [ln for ln in document["lines"] if ln["kind"] == "adjustment"]
    assert [(a["resource_id"], a["amount"], a["corrects_period"]) for a in adjustments] == [
        ("app-old", "-2.00", "2026-09"),
        ("t-9", "12.00", "2026-09"),
    ]
    assert document["subtotal"] == "84.40"  # 74.40 + 12.00 - 2.00
    assert document["totals_by_kind"]["adjustment"] == "10.00"


def test_R16_event_order_batching_and_duplicates_do_not_change_a_byte() -> None:
    events = busy_month()
    reference = canonical_json(invoice_for(events, catalog=catalog()).document())
    shuffled = events + events[:4]
    random.Random(7).shuffle(shuffled)
    assert canonical_json(invoice_for(shuffled, catalog=catalog()).document()) == reference


def test_R13_finalising_numbers_and_dates_the_document_and_hashes_it() -> None:
    document = invoice_for(busy_month(), catalog=catalog()).document()
    issued = finalize(document, "2026-000042", at("2026-11-01 06:00"))
    assert (issued["number"], issued["status"], issued["issued_at"]) == (
        "2026-000042",
        "finalized",
        "2026-11-01T06:00:00Z",
    )
    assert document["number"] is None  # the draft is untouched
    assert list(issued) == list(document)
    assert len(content_hash(canonical_json(issued))) == 64
    assert content_hash(canonical_json(issued)) != content_hash(canonical_json(document))


def test_an_organisation_with_no_usage_gets_an_empty_invoice() -> None:
    document = invoice_for([]).document()
    assert document["lines"] == [] and document["amount_due"] == "0.00"


def test_R8_a_projection_without_details_has_the_same_amounts() -> None:
    """Estimates read only a projection's totals; leaving the details out changes none."""
    full = invoice_for(busy_month(), catalog=catalog())
    bare = invoice_for(busy_month(), catalog=catalog(), details=False)
    assert full.settlement == bare.settlement
    assert [(ln.kind, ln.resource_id, ln.amount) for ln in full.lines] == [
        (ln.kind, ln.resource_id, ln.amount) for ln in bare.lines
    ]
    assert all(ln.details for ln in full.lines)
    assert not any(ln.details for ln in bare.lines)
