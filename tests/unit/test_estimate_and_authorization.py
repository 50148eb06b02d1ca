"""Estimates (the period so far and projected) and add-on authorisations paid by credits."""

from datetime import timedelta
from decimal import Decimal

import pytest

from bysecond.core.catalog import default_catalog
from bysecond.core.estimate import Request, authorize, estimate
from bysecond.core.invoice import Customer
from tests.builders import ORG, at, full, prepaid, promotional, provisioned, started, stopped

CUSTOMER = Customer(ORG)
CATALOG = default_catalog()
NOW = at("2026-10-11 00:00")  # 10 days of October gone, 21 to go


def test_the_estimate_bills_so_far_and_projects_running_resources_to_period_end() -> None:
    events = [
        started("2026-10-01 00:00"),
        started("2026-10-05 00:00", instance="i-2"),
        stopped("2026-10-06 00:00", instance="i-2"),
        started("2026-10-20 00:00", instance="i-3"),
    ]
    result = estimate(CUSTOMER, NOW, events, CATALOG, [])
    # i-1: 240 h so far, 744 h projected; i-2: 24 h, ended; i-3 starts after now: unknown yet.
    assert result.so_far.settlement.subtotal == Decimal("26.40")
    assert result.projected.subtotal == Decimal("76.80")
    assert result.so_far.period.key == "2026-10"


def test_an_addon_is_allowed_when_credits_cover_the_projected_period() -> None:
    decision = authorize(
        CUSTOMER, NOW, [], CATALOG, full(promotional("20")), Request("addon.postgresql.s")
    )
    # 21 days of a 10 EUR/month plan: 10 x 504 / 720 = 7.00, +20 % VAT = 8.40 owed at most.
    assert decision.allowed
    assert decision.projected_cost == Decimal("0.00")  # the credit pays it before VAT
    assert decision.balance == Decimal("20.00")


def test_an_addon_is_refused_when_the_credits_fall_short_and_says_by_how_much() -> None:
    decision = authorize(
        CUSTOMER, NOW, [], CATALOG, full(promotional("5")), Request("addon.postgresql.s")
    )
    assert not decision.allowed
    assert "falls short" in decision.reason or "fall short" in decision.reason
    assert "2.40 EUR" in decision.reason  # 7.00 - 5.00 = 2.00 taxable, + 0.40 VAT
    assert decision.projected_cost == Decimal("2.40")


def test_running_usage_already_eats_into_the_balance() -> None:
    running = [started("2026-10-01 00:00", flavor="S")]  # 0.04/h x 744 h = 29.76
    decision = authorize(
        CUSTOMER,
        NOW,
        running,
        CATALOG,
        full(prepaid("50")),
        Request("instance.S", duration=timedelta(hours=10)),
    )
    # The month projects 29.76 + 20 % = 35.71; 14.29 left; 10 h of S = 0.40 + VAT = 0.48.
    assert decision.balance == Decimal("14.29")
    assert decision.allowed and decision.projected_cost == Decimal("0.48")


def test_a_postpaid_organisation_is_always_allowed() -> None:
    decision = authorize(CUSTOMER, NOW, [], CATALOG, [], Request("addon.mysql.l"), postpaid=True)
    assert decision.allowed and "postpaid" in decision.reason


def test_a_plan_without_a_price_is_refused_with_the_reason() -> None:
    decision = authorize(
        CUSTOMER, NOW, [], CATALOG, full(promotional("20")), Request("addon.mongodb.xl")
    )
    assert not decision.allowed and "no price" in decision.reason


def test_only_addon_plans_and_flavors_can_be_authorised() -> None:
    with pytest.raises(ValueError, match="only add-on plans and flavors"):
        authorize(
            CUSTOMER, NOW, [], CATALOG, full(promotional("20")), Request("usage.outbound-traffic")
        )


def test_an_expiring_welcome_credit_pays_only_until_it_expires() -> None:
    events = [provisioned("2026-10-01 00:00")]
    credit = full(promotional("20", expires="2026-10-16 00:00"))
    decision = authorize(CUSTOMER, NOW, events, CATALOG, credit, Request("addon.redis.s"))
    assert not decision.allowed  # after the 16th nothing pays for either add-on
