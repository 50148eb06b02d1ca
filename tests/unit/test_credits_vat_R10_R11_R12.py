"""R10 credits usable for everything, R11 VAT, R12 rounding of credits and VAT."""

from decimal import Decimal

import pytest

from bysecond.core.credits import Grant, GrantBalance
from bysecond.core.invoice import Customer
from bysecond.core.money import MoneyError
from bysecond.core.tax import REVERSE_CHARGE_MENTION, is_valid_vat_number
from tests.builders import (
    ORG,
    at,
    full,
    invoice_for,
    prepaid,
    promotional,
    provisioned,
    started,
    stopped,
    task,
)

WHOLE_OCTOBER_M = [started("2026-09-20 00:00")]  # 74.40 EUR


def credits_of(document):  # type: ignore[no-untyped-def]
    return {c["grant_id"]: c for c in document["credits"]}


def test_R10_promotional_credit_reduces_the_taxable_amount_before_vat() -> None:
    document = invoice_for(WHOLE_OCTOBER_M, grants=full(promotional("20"))).document()
    assert document["subtotal"] == "74.40"
    assert document["promotional_credits_applied"] == "20.00"
    assert document["taxable_amount"] == "54.40"
    assert document["vat_amount"] == "10.88"
    assert document["total"] == "65.28"
    assert document["amount_due"] == "65.28"


def test_R10_a_20_eur_welcome_credit_expiring_mid_month_pays_only_earlier_usage() -> None:
    # An XS instance (0.02 EUR/h) for all of October: 14.88 EUR, accruing 0.48 EUR a day.
    # The credit expires on the 11th at 00:00: it can pay 10 days = 4.80 EUR, no more.
    events = [started("2026-10-01 00:00", flavor="XS")]
    welcome = promotional("20", expires="2026-10-11 00:00")
    document = invoice_for(events, grants=full(welcome)).document()
    assert document["subtotal"] == "14.88"
    grant = credits_of(document)["welcome"]
    assert (grant["applied"], grant["expired"], grant["remaining"]) == ("4.80", "15.20", "0.00")
    assert document["credit_summary"]["promotional"] == {
        "available": "20.00",
        "used": "4.80",
        "expired": "15.20",
        "remaining": "0.00",
    }
    assert document["taxable_amount"] == "10.08"


def test_R10_a_piece_spanning_an_expiry_is_split_in_proportion() -> None:
    # One run of 10 h at 0.10/h = 1.00 EUR; the grant expires after 3 h of it.
    events = [started("2026-10-05 00:00"), stopped("2026-10-05 10:00")]
    document = invoice_for(
        events, grants=full(promotional("5", expires="2026-10-05 03:00"))
    ).document()
    assert credits_of(document)["welcome"]["applied"] == "0.30"


def test_R10_a_task_accrues_at_its_instant() -> None:
    events = [task("2026-10-20 00:00", amount="50.00")]
    expired_before = invoice_for(events, grants=full(promotional("20", expires="2026-10-19 00:00")))
    valid_at = invoice_for(events, grants=full(promotional("20", expires="2026-10-21 00:00")))
    assert expired_before.document()["promotional_credits_applied"] == "0.00"
    assert valid_at.document()["promotional_credits_applied"] == "20.00"


def test_R10_credits_pay_for_everything_applications_addons_and_tasks() -> None:
    events = [
        provisioned("2026-10-01 00:00", plan="s"),
        task("2026-10-07 10:00", amount="50.00"),
        started("2026-10-03 12:00"),
        stopped("2026-10-03 14:00"),
    ]
    document = invoice_for(events, grants=full(promotional("100"))).document()
    assert document["subtotal"] == "60.53"  # 10.33 + 50.00 + 0.20
    assert document["promotional_credits_applied"] == "60.53"
    assert document["amount_due"] == "0.00"
    assert credits_of(document)["welcome"]["remaining"] == "39.47"


def test_R10_promotional_grants_are_drawn_by_priority_then_expiry() -> None:
    grants = full(
        promotional("50", grant_id="late", expires="2026-12-31 00:00"),
        promotional("50", grant_id="soon", expires="2026-11-30 00:00"),
        promotional("50", grant_id="first", priority=-1),
    )
    document = invoice_for(WHOLE_OCTOBER_M, grants=grants).document()
    applied = {g: c["applied"] for g, c in credits_of(document).items()}
    assert applied == {"first": "50.00", "soon": "24.40", "late": "0.00"}


def test_R10_what_a_grant_has_not_spent_carries_over() -> None:
    october = invoice_for(WHOLE_OCTOBER_M, grants=full(promotional("100"))).document()
    left = Decimal(credits_of(october)["welcome"]["remaining"])
    assert left == Decimal("25.60")
    november = invoice_for(
        WHOLE_OCTOBER_M, period=october_next(), grants=[GrantBalance(promotional("100"), left)]
    ).document()
    assert november["promotional_credits_applied"] == "25.60"


def october_next():  # type: ignore[no-untyped-def]
    from tests.builders import OCTOBER

    return OCTOBER.next()


def test_R10_a_grant_given_after_the_period_can_still_pay_it() -> None:
    late_gift = promotional("10", granted="2026-11-02 00:00")
    document = invoice_for(WHOLE_OCTOBER_M, grants=full(late_gift)).document()
    assert document["promotional_credits_applied"] == "10.00"


def test_R10_R11_a_prepaid_grant_pays_the_total_including_vat() -> None:
    document = invoice_for(WHOLE_OCTOBER_M, grants=full(prepaid("100"))).document()
    assert document["taxable_amount"] == "74.40"
    assert document["vat_amount"] == "14.88"
    assert document["total"] == "89.28"
    assert document["prepaid_credits_applied"] == "89.28"
    assert document["amount_due"] == "0.00"
    assert credits_of(document)["prepaid-1"]["remaining"] == "10.72"


def test_R12_a_prepaid_grant_never_pays_more_than_what_is_left_of_the_total() -> None:
    grants = full(
        prepaid("50", grant_id="a"), prepaid("50", grant_id="b", granted="2026-09-02 00:00")
    )
    document = invoice_for(WHOLE_OCTOBER_M, grants=grants).document()
    applied = {g: c["applied"] for g, c in credits_of(document).items()}
    assert applied == {"a": "50.00", "b": "39.28"}
    assert document["amount_due"] == "0.00"


def test_R12_promotional_credit_never_exceeds_the_subtotal_and_covers_it_whole() -> None:
    # Three runs of 0.005 EUR exact: each line rounds up to 0.01, the exact sum is 0.015.
    events = []
    for n in range(3):
        events += [
            started("2026-10-05 00:00", instance=f"i-{n}", app=f"app-{n}"),
            stopped("2026-10-05 00:03", instance=f"i-{n}"),
        ]
    document = invoice_for(events, grants=full(promotional("20"))).document()
    assert document["subtotal"] == "0.03"
    assert document["promotional_credits_applied"] == "0.03"
    assert document["amount_due"] == "0.00"


def test_R11_vat_is_rounded_half_up_once() -> None:
    # 0.25 EUR taxable at 20 % = 0.05; at 5.5 % = 0.01375 -> 0.01
    events = [started("2026-10-05 00:00"), stopped("2026-10-05 02:30")]
    customer = Customer(ORG, country="FR", vat_rate=Decimal("0.055"))
    document = invoice_for(events, customer=customer).document()
    assert (document["taxable_amount"], document["vat_rate"], document["vat_amount"]) == (
        "0.25",
        "0.055",
        "0.01",
    )


def test_R11_an_eu_organisation_with_a_valid_vat_number_is_reverse_charged() -> None:
    customer = Customer(ORG, name="Acme GmbH", country="DE", vat_number="DE136695976")
    document = invoice_for(WHOLE_OCTOBER_M, customer=customer).document()
    assert document["vat_rate"] == "0" and document["vat_amount"] == "0.00"
    assert document["reverse_charge"] is True
    assert document["vat_mention"] == REVERSE_CHARGE_MENTION
    assert document["total"] == "74.40"


def test_R11_an_invalid_vat_number_or_the_sellers_own_country_is_not_reverse_charged() -> None:
    for customer in (
        Customer(ORG, country="DE", vat_number="DE000000000"),
        Customer(ORG, country="FR", vat_number="FR40303265045"),
    ):
        document = invoice_for(WHOLE_OCTOBER_M, customer=customer).document()
        assert document["reverse_charge"] is False and document["vat_amount"] == "14.88"


def test_R11_vat_numbers_are_checked_by_their_check_digits() -> None:
    assert is_valid_vat_number("DE136695976", "DE")
    assert not is_valid_vat_number("DE136695977", "DE")
    assert not is_valid_vat_number("FR40303265045", "DE")
    for junk in ("XX", "1", "DE", "??????", " "):
        assert not is_valid_vat_number(junk, "DE")


def test_R10_grants_refuse_impossible_terms() -> None:
    with pytest.raises(MoneyError, match="never expires"):
        Grant("g", "prepaid", Decimal("5"), "EUR", at("2026-10-01 00:00"), at("2026-12-01 00:00"))
    with pytest.raises(MoneyError, match="positive"):
        Grant("g", "promotional", Decimal("0"), "EUR", at("2026-10-01 00:00"))
    with pytest.raises(MoneyError, match="kind"):
        Grant("g", "gift", Decimal("5"), "EUR", at("2026-10-01 00:00"))  # type: ignore[arg-type]
