"""Hypothesis properties of ARCHITECTURE.md's invariants on generated event histories."""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bysecond.core.catalog import Catalog, Price, default_catalog
from bysecond.core.credits import Grant, GrantBalance
from bysecond.core.document import canonical_json, content_hash
from bysecond.core.estimate import estimate
from bysecond.core.events import Event, parse_event
from bysecond.core.invoice import (
    Customer,
    Invoice,
    build_invoice,
    finalize,
    project_settlement,
    stored_parts,
)
from bysecond.core.metering import meter
from bysecond.core.money import currency, exact_sum, round_half_up
from bysecond.core.period import BillingPeriod, micros_between, rfc3339
from bysecond.core.policy import PER_SECOND, PER_SECOND_MIN_60, TEN_MINUTE_SLICES
from bysecond.core.rating import rate, rebill
from bysecond.services.invoice_record import CreditDrawn, InvoiceRecord

OCTOBER = BillingPeriod(2026, 10)
ORIGIN = OCTOBER.start - timedelta(days=3)
SPAN_MICROS = 36 * 86_400 * 1_000_000  # from 3 days before October to 2 days after
FLAVORS = ["pico", "nano", "XS", "S", "M", "XL"]
PLANS = ["s", "m", "l"]
CATALOG = default_catalog()
EUR = currency("EUR")
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("BYSECOND_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

instants = st.integers(0, SPAN_MICROS).map(lambda us: ORIGIN + timedelta(microseconds=us))
whole_seconds = st.integers(0, SPAN_MICROS // 1_000_000).map(
    lambda s: ORIGIN + timedelta(seconds=s)
)


def cloud_event(n: int, kind: str, time: Any, data: dict[str, Any]) -> Event:
    return parse_event(
        {
            "specversion": "1.0",
            "id": f"e-{n}",
            "source": "//gen",
            "type": kind,
            "time": rfc3339(time),
            "subject": "org-gen",
            "data": data,
        }
    )


@st.composite
def well_formed_histories(draw: st.DrawFn) -> list[Event]:
    """Instances that start and stop in turn, add-ons with plan changes, and tasks."""
    events: list[Event] = []
    for instance in range(draw(st.integers(0, 4))):
        # Strictly increasing: a stop and a start at one instant are ordered stop first (R3).
        times = sorted(draw(st.lists(st.one_of(instants, whole_seconds), max_size=8, unique=True)))
        flavor = draw(st.sampled_from(FLAVORS))
        role = draw(st.sampled_from(["run", "build"]))
        for position, time in enumerate(times):
            if position % 2 == 0:
                data = {
                    "instance_id": f"i-{instance}",
                    "application_id": f"app-{instance % 2}",
                    "flavor": flavor,
                    "role": role,
                }
                events.append(cloud_event(len(events), "instance.started", time, data))
            else:
                events.append(
                    cloud_event(
                        len(events), "instance.stopped", time, {"instance_id": f"i-{instance}"}
                    )
                )
    for addon in range(draw(st.integers(0, 2))):
        times = sorted(draw(st.lists(whole_seconds, min_size=1, max_size=5)))
        events.append(
            cloud_event(
                len(events),
                "addon.provisioned",
                times[0],
                {"addon_id": f"a-{addon}", "provider": "redis", "plan": "s"},
            )
        )
        for time in times[1:]:
            plan = draw(st.sampled_from(PLANS))
            events.append(
                cloud_event(
                    len(events),
                    "addon.plan_changed",
                    time,
                    {"addon_id": f"a-{addon}", "plan": plan},
                )
            )
        if draw(st.booleans()):
            end = times[-1] + timedelta(seconds=draw(st.integers(0, 10**6)))
            events.append(
                cloud_event(len(events), "addon.deleted", end, {"addon_id": f"a-{addon}"})
            )
    for task in range(draw(st.integers(0, 3))):
        amount = draw(st.decimals(0, 500, places=2))
        events.append(
            cloud_event(
                len(events),
                "task.performed",
                draw(instants),
                {"task_id": f"t-{task}", "description": "work", "amount": str(amount)},
            )
        )
    return events


@st.composite
def messy_histories(draw: st.DrawFn) -> list[Event]:
    """Any sequence of starts and stops, including the anomalies of R4."""
    events = []
    for n in range(draw(st.integers(0, 25))):
        instance = f"i-{draw(st.integers(0, 2))}"
        time = draw(instants)
        if draw(st.booleans()):
            data = {
                "instance_id": instance,
                "application_id": "app",
                "role": "run",
                "flavor": draw(st.sampled_from(FLAVORS)),
            }
            events.append(cloud_event(n, "instance.started", time, data))
        else:
            events.append(cloud_event(n, "instance.stopped", time, {"instance_id": instance}))
    return events


@st.composite
def grant_sets(draw: st.DrawFn) -> list[GrantBalance]:
    balances = []
    for n in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["promotional", "prepaid"]))
        amount = draw(st.decimals(Decimal("0.01"), 200, places=2))
        granted = draw(whole_seconds)
        expires = None
        if kind == "promotional" and draw(st.booleans()):
            expires = granted + timedelta(seconds=draw(st.integers(1, 40 * 86_400)))
        grant = Grant(f"g-{n}", kind, amount, "EUR", granted, expires, draw(st.integers(-1, 1)))
        available = draw(st.decimals(0, amount, places=2))
        balances.append(GrantBalance(grant, available))
    return balances


def bill(events: list[Event], grants: list[GrantBalance] = (), **options: Any) -> Invoice:  # type: ignore[assignment]
    return build_invoice(Customer("org-gen"), OCTOBER, events, CATALOG, list(grants), **options)


@given(well_formed_histories(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_R16_shuffled_duplicated_rebatched_events_give_a_byte_identical_invoice(
    events: list[Event], rng: random.Random, batches: int
) -> None:
    reference = canonical_json(bill(events).document())
    delivered = events + rng.sample(events, k=len(events) // 2)
    rng.shuffle(delivered)
    rebatched = [delivered[i::batches] for i in range(batches)]
    replayed = [event for batch in rebatched for event in batch]
    assert canonical_json(bill(replayed).document()) == reference


@given(messy_histories())
def test_invariant_3_pieces_of_a_resource_never_overlap(events: list[Event]) -> None:
    pieces = meter(events, OCTOBER.start, OCTOBER.end).pieces
    by_resource: dict[str, list[Any]] = {}
    for piece in pieces:
        by_resource.setdefault(piece.resource_id, []).append(piece)
        assert OCTOBER.start <= piece.start <= piece.end <= OCTOBER.end
    for resource_pieces in by_resource.values():
        resource_pieces.sort(key=lambda p: (p.start, p.end))
        for before, after in itertools.pairwise(resource_pieces):
            assert before.end <= after.start


@given(well_formed_histories())
def test_invariant_3_per_second_covers_exactly_the_uptime(events: list[Event]) -> None:
    """An independent oracle: each start/stop pair clipped to October."""
    expected: dict[str, int] = {}
    open_since: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: e.sort_key):
        if event.type == "instance.started":
            open_since[event.resource_id] = event.time
        elif event.type == "instance.stopped":
            start = open_since.pop(event.resource_id)
            expected[event.resource_id] = expected.get(event.resource_id, 0) + _overlap(
                start, event.time
            )
    for resource, start in open_since.items():
        expected[resource] = expected.get(resource, 0) + _overlap(start, OCTOBER.end)
    document = bill(events).document()
    covered: dict[str, int] = {}
    for line in document["lines"]:
        for detail in line["details"]:
            if "instance_id" in detail:
                micros = int(Decimal(detail["elapsed_seconds"]) * 1_000_000)
                covered[detail["instance_id"]] = covered.get(detail["instance_id"], 0) + micros
                assert detail["billed_seconds"] == -(-micros // 1_000_000)
    assert {k: v for k, v in covered.items() if v} == {k: v for k, v in expected.items() if v}


def _overlap(start: Any, end: Any) -> int:
    return max(0, micros_between(max(start, OCTOBER.start), min(end, OCTOBER.end)))


@given(well_formed_histories(), grant_sets())
def test_invariant_4_credits_balance_and_never_overpay(
    events: list[Event], grants: list[GrantBalance]
) -> None:
    invoice = bill(events, grants)
    s = invoice.settlement
    for use in s.uses:
        assert use.available_before == use.applied + use.expired + use.remaining
        assert min(use.applied, use.expired, use.remaining) >= 0
    promo = sum((u.applied for u in s.uses if u.grant.kind == "promotional"), Decimal(0))
    prepaid = sum((u.applied for u in s.uses if u.grant.kind == "prepaid"), Decimal(0))
    assert promo == s.promotional_applied <= max(s.subtotal, Decimal(0))
    assert prepaid == s.prepaid_applied <= max(s.total, Decimal(0))
    assert s.amount_due >= 0


@given(well_formed_histories(), grant_sets(), st.sampled_from(["0.20", "0.055", "0.21", "0"]))
def test_R9_R11_subtotal_and_vat_identities_hold(
    events: list[Event], grants: list[GrantBalance], rate: str
) -> None:
    customer = Customer("org-gen", vat_rate=Decimal(rate))
    document = build_invoice(customer, OCTOBER, events, CATALOG, grants).document()
    d = {
        k: Decimal(v)
        for k, v in document.items()
        if k
        in {
            "subtotal",
            "promotional_credits_applied",
            "taxable_amount",
            "vat_rate",
            "vat_amount",
            "total",
            "prepaid_credits_applied",
            "amount_due",
        }
    }
    assert d["subtotal"] == sum(Decimal(line["amount"]) for line in document["lines"])
    assert d["taxable_amount"] == d["subtotal"] - d["promotional_credits_applied"]
    assert d["vat_amount"] == round_half_up(
        Fraction(d["taxable_amount"]) * Fraction(d["vat_rate"]), EUR
    )
    assert d["total"] == d["taxable_amount"] + d["vat_amount"]
    assert d["amount_due"] == d["total"] - d["prepaid_credits_applied"]
    for line in document["lines"]:
        exact = sum(Fraction(Decimal(detail["amount"])) for detail in line["details"])
        # Shown details are rounded to 12 decimals; the line rounds the exact sum (R8).
        assert abs(Fraction(Decimal(line["amount"])) - exact) <= Fraction(1, 200) + Fraction(
            len(line["details"]), 10**12
        )


@given(
    well_formed_histories(),
    grant_sets(),
    st.sampled_from(["per-second", "10-minute-slices", "per-second-min-60"]),
    st.sampled_from([("FR", ""), ("DE", "DE136695976"), ("US", "")]),
)
def test_R4_a_projection_settles_exactly_as_the_whole_period_invoice(
    events: list[Event], grants: list[GrantBalance], policy: str, place: tuple[str, str]
) -> None:
    # Estimates and authorisations read only a projection's totals: the shortcut that
    # skips details and the comparison must settle to the same cent (R4, R10-R12).
    customer = Customer("org-gen", policy=policy, country=place[0], vat_number=place[1])
    invoice = build_invoice(customer, OCTOBER, events, CATALOG, grants)
    assert project_settlement(customer, OCTOBER, events, CATALOG, grants) == invoice.settlement


@given(well_formed_histories())
def test_R15_per_second_never_costs_more_than_ten_minute_slices(events: list[Event]) -> None:
    per_second = bill(events, policy=PER_SECOND).settlement.subtotal
    slices = bill(events, policy=TEN_MINUTE_SLICES).settlement.subtotal
    assert per_second <= slices


@given(well_formed_histories(), grant_sets())
def test_invariant_4_granted_equals_applied_expired_remaining_across_months(
    events: list[Event], grants: list[GrantBalance]
) -> None:
    """Carry each grant's balance through September, October and November invoices."""
    fresh = [GrantBalance(b.grant, b.grant.amount) for b in grants]
    balances = {b.grant.id: b for b in fresh}
    applied: dict[str, Decimal] = {gid: Decimal(0) for gid in balances}
    expired: dict[str, Decimal] = {gid: Decimal(0) for gid in balances}
    for period in (OCTOBER.previous(), OCTOBER, OCTOBER.next()):
        invoice = build_invoice(
            Customer("org-gen"), period, events, CATALOG, list(balances.values())
        )
        for use in invoice.settlement.uses:
            applied[use.grant.id] += use.applied
            expired[use.grant.id] += use.expired
            balances[use.grant.id] = GrantBalance(use.grant, use.remaining)
    for grant in fresh:
        gid = grant.grant.id
        assert grant.grant.amount == applied[gid] + expired[gid] + balances[gid].available


@given(
    st.lists(
        st.builds(Fraction, st.integers(-(10**12), 10**12), st.integers(1, 3_600_000_000)),
        max_size=60,
    )
)
def test_R7_exact_sum_is_the_sum_of_the_fractions(amounts: list[Fraction]) -> None:
    assert exact_sum(amounts) == sum(amounts, Fraction(0))
    assert exact_sum(iter(amounts)) == sum(amounts, Fraction(0))


@st.composite
def price_histories(draw: st.DrawFn) -> Catalog:
    """One flavor's price versions in order (most windows cross a change), some ended,
    with gaps between some."""
    moments = sorted(set(draw(st.lists(whole_seconds, min_size=3, max_size=8))))
    prices = []
    for index, begins in enumerate(moments):
        following = moments[index + 1] if index + 1 < len(moments) else None
        ends = draw(st.sampled_from(["open", "at next", "before next"]))
        if ends == "before next" and following is not None and following - begins > _SECOND:
            effective_to = begins + (following - begins) / 2
        elif ends == "open" and following is None:
            effective_to = None
        else:
            effective_to = following or begins + timedelta(days=1)
        amount = Decimal(draw(st.integers(0, 99_999))).scaleb(-4)
        prices.append(Price("instance.M", amount, "EUR", "hour", begins, effective_to))
    return Catalog(tuple(prices))


_SECOND = timedelta(seconds=1)


@given(price_histories(), instants, instants)
def test_R5_segments_cut_a_window_exactly_where_the_price_changes(
    catalog: Catalog, one: Any, other: Any
) -> None:
    start, end = min(one, other), max(one, other)
    segments = catalog.segments("instance.M", "EUR", start, end)
    assert segments[0].start == start
    assert segments[-1].end == end
    for segment in segments:
        assert segment.price == catalog.price_at("instance.M", "EUR", segment.start)
        if segment.end > segment.start:  # one price up to the segment's last microsecond
            last = segment.end - timedelta(microseconds=1)
            assert catalog.price_at("instance.M", "EUR", last) == segment.price
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
        assert before.price != after.price  # each cut is a change of price


@given(well_formed_histories(), grant_sets())
def test_R13_a_record_writes_the_draft_and_the_issued_document_as_the_invoice_does(
    events: list[Event], grants: list[GrantBalance]
) -> None:
    invoice = bill(events, grants)
    record = InvoiceRecord.of(invoice)
    document = invoice.document()
    issued_at = OCTOBER.end + timedelta(days=1, microseconds=7)
    assert record.draft_document() == canonical_json(document)
    issued_head, head = record.issued_head("2026-000042", issued_at)
    issued = issued_head + record.draft_parts()[1]
    assert issued == canonical_json(finalize(document, "2026-000042", issued_at))
    assert head["number"] == "2026-000042" and head["issued_at"] == rfc3339(issued_at)
    s = invoice.settlement
    assert record.amounts.subtotal == s.subtotal and record.amounts.total == s.total
    assert record.amounts.amount_due == s.amount_due
    assert record.amounts.promotional_applied == s.promotional_applied
    assert record.amounts.prepaid_applied == s.prepaid_applied
    assert record.amounts.credits == tuple(
        CreditDrawn(u.grant.id, u.applied, u.expired) for u in s.uses
    )
    assert record.unpriced == tuple(a.message for a in invoice.unpriced)
    # A stored draft reads back as the same record (a draft issued as it stands).
    assert InvoiceRecord.of_draft(*record.draft_parts()) == replace(record, from_draft=True)
    # Kept whole (a document not cut at its head), it reads back the same.
    whole = InvoiceRecord.of_draft(b"", record.draft_document())
    assert whole == replace(record, from_draft=True)
    # The store keeps a document as head and rest; issuing rewrites the head alone.
    draft_head, rest = record.draft_parts()
    assert draft_head + rest == record.draft_document()
    assert stored_parts(record.draft_document()) == (draft_head, rest)
    assert stored_parts(issued) == (issued_head, rest)
    assert content_hash(issued_head, rest) == content_hash(issued)


def test_R13_only_a_stored_draft_reads_back_as_a_record() -> None:
    record = InvoiceRecord.of(bill([]))
    issued_head, _ = record.issued_head("2026-000001", OCTOBER.end)
    rest = record.draft_parts()[1]
    with pytest.raises(ValueError, match="is finalized, not a draft"):
        InvoiceRecord.of_draft(issued_head, rest)
    with pytest.raises(ValueError, match="cannot be read back: Object missing required field"):
        InvoiceRecord.of_draft(b"", b'{"id": "inv-1", "status": "draft"}')


@given(
    st.one_of(well_formed_histories(), messy_histories()),
    price_histories(),
    st.sampled_from([TEN_MINUTE_SLICES, PER_SECOND_MIN_60, PER_SECOND]),
)
def test_R15_rebilling_rated_usage_equals_rating_it_under_the_other_policy(
    events: list[Event], prices: Catalog, other: Any
) -> None:
    # The comparison reuses the pieces the policy rated, cut at the same price changes.
    catalog = CATALOG.with_prices(prices)
    usage = meter(events, OCTOBER.start, OCTOBER.end)
    rated = rate(usage, catalog, "EUR", PER_SECOND)
    assert rebill(rated, other) == rate(usage, catalog, "EUR", other)


@given(
    st.one_of(well_formed_histories(), messy_histories()),
    grant_sets(),
    st.sampled_from(["per-second", "10-minute-slices", "per-second-min-60"]),
    st.data(),
)
def test_R4_an_estimate_is_the_invoice_so_far_and_the_projection_of_the_period(
    events: list[Event], grants: list[GrantBalance], policy: str, data: st.DataObject
) -> None:
    # An estimate meters its events once for both; the reference bills them twice.
    # `now` is often an event's own instant: an event at `now` is known but not yet
    # billed so far.
    moments = [event.time for event in events]
    now = data.draw(st.one_of(instants, st.sampled_from(moments)) if moments else instants)
    customer = Customer("org-gen", policy=policy)
    result = estimate(customer, now, events, CATALOG, grants)
    period = BillingPeriod.containing(now, customer.time_zone)
    known = [event for event in events if event.time <= now]
    reference = build_invoice(customer, period, known, CATALOG, grants, until=now)
    assert canonical_json(result.so_far.document()) == canonical_json(reference.document())
    assert result.projected == project_settlement(customer, period, known, CATALOG, grants)


@given(st.sampled_from(["EUR", "JPY", "BHD"]), st.data())
def test_R12_rounding_is_half_up_away_from_zero_to_the_minor_unit(
    code: str, data: st.DataObject
) -> None:
    # The definition, with Fraction arithmetic: the nearest minor unit, halves away
    # from zero. The implementation works on the fraction's integers. Exact halves of
    # the minor unit are drawn often: they are where half-up differs from other rules.
    cur = currency(code)
    half = Fraction(1, 2 * 10**cur.minor_unit)
    amount = data.draw(
        st.one_of(
            st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**15),
            st.integers(-(10**9), 10**9).map(lambda k: (2 * k + 1) * half),
        )
    )
    scaled = abs(amount) * 10**cur.minor_unit
    units = int(scaled)
    if scaled - units >= Fraction(1, 2):
        units += 1
    expected = Decimal(units if amount >= 0 else -units).scaleb(-cur.minor_unit)
    rounded = round_half_up(amount, cur)
    assert rounded == expected and rounded.as_tuple().exponent == -cur.minor_unit
