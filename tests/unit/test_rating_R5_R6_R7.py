"""R5 catalog and price changes, R6 granularity policies, R7 exact amounts."""

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from bysecond.core.catalog import Catalog, CatalogError, Price, default_catalog
from bysecond.core.policy import (
    PER_SECOND,
    PER_SECOND_MIN_60,
    TEN_MINUTE_SLICES,
    Policy,
    PolicyError,
    policy,
)
from tests.builders import OCTOBER, at, invoice_for, line, provisioned, started, stopped

SECOND = 1_000_000


@pytest.mark.parametrize(
    ("chosen", "elapsed_micros", "billed"),
    [
        (PER_SECOND, 762 * SECOND, 762),
        (TEN_MINUTE_SLICES, 762 * SECOND, 1200),
        (PER_SECOND_MIN_60, 762 * SECOND, 762),
        (PER_SECOND_MIN_60, 12 * SECOND, 60),
        (PER_SECOND, 1, 1),
        (TEN_MINUTE_SLICES, 600 * SECOND, 600),
        (TEN_MINUTE_SLICES, 600 * SECOND + 1, 1200),
        (PER_SECOND, 0, 0),
        (PER_SECOND_MIN_60, 0, 0),
        (TEN_MINUTE_SLICES, 0, 0),
    ],
)
def test_R6_billed_seconds_by_policy(chosen: Policy, elapsed_micros: int, billed: int) -> None:
    assert chosen.billed_seconds(elapsed_micros) == billed


def test_R6_any_slice_and_minimum_pair_is_a_policy() -> None:
    custom = policy("slices-300s-min-60s")
    assert (custom.slice_seconds, custom.minimum_seconds) == (300, 60)
    assert custom.billed_seconds(10 * SECOND) == 300
    assert policy("slices-600s") is TEN_MINUTE_SLICES
    with pytest.raises(PolicyError, match="unknown policy"):
        policy("per-minute-ish")


def test_R6_the_seed_build_of_12_min_42_s_is_billed_762_s_per_second_and_1200_s_in_slices() -> None:
    build = [started("2026-10-03 12:00", role="build"), stopped("2026-10-03 12:12:42")]
    per_second = line(invoice_for(build), "app-shop")
    slices = line(invoice_for(build, policy=TEN_MINUTE_SLICES), "app-shop")
    assert per_second["details"][0]["billed_seconds"] == 762
    assert per_second["details"][0]["amount"] == "0.021166666667"  # 762 s x 0.10 / 3600
    assert slices["details"][0]["billed_seconds"] == 1200
    assert slices["amount"] == "0.03"  # 1200 s x 0.10 / 3600 = 0.0333...


def test_R7_a_flavor_M_instance_running_all_october_costs_74_40() -> None:
    invoice = invoice_for([started("2026-09-20 00:00")])
    application = line(invoice, "app-shop")
    assert application["billed_seconds"] == 744 * 3600
    assert application["amount"] == "74.40"
    assert application["details"][0]["rate_per_hour"] == "0.10"


def test_R5_addon_plans_are_monthly_prices_billed_by_the_second() -> None:
    invoice = invoice_for([provisioned("2026-10-01 00:00", plan="s")])
    addon = line(invoice, "pg-1")
    # 10 EUR a month = 720 h; October has 744 h: 10 x 744 / 720.
    assert addon["amount"] == "10.33"
    assert addon["details"][0]["rate_per_hour"] == "0.013888888889"


def test_R5_a_piece_spanning_a_price_change_is_split_and_each_side_uses_its_price() -> None:
    raise_at = at("2026-10-16 00:00")
    catalog = default_catalog().with_prices(
        [Price("instance.M", Decimal("0.12"), "EUR", "hour", raise_at)]
    )
    invoice = invoice_for(
        [started("2026-10-15 23:30:00.5"), stopped("2026-10-16 00:30")], catalog=catalog
    )
    details = line(invoice, "app-shop")["details"]
    assert [(d["rate_per_hour"], d["elapsed_seconds"], d["billed_seconds"]) for d in details] == [
        ("0.10", Decimal("1799.5"), 1800),
        ("0.12", 1800, 1800),
    ]
    # R6: each side is billed on its own, so the half second is rounded up once.
    assert line(invoice, "app-shop")["amount"] == "0.11"  # 0.05 + 0.06


def test_R5_an_ended_price_leaves_later_usage_unpriced() -> None:
    catalog = Catalog(
        (
            Price(
                "instance.M",
                Decimal("0.10"),
                "EUR",
                "hour",
                datetime(2021, 4, 1, tzinfo=UTC),
                at("2026-10-10 00:00"),
            ),
        )
    )
    invoice = invoice_for(
        [started("2026-10-09 23:00"), stopped("2026-10-10 01:00")], catalog=catalog
    )
    assert line(invoice, "app-shop")["details"][0]["billed_seconds"] == 3600
    assert [a.kind for a in invoice.unpriced] == ["unpriced"]
    assert not invoice.finalizable


def test_R5_usage_of_an_unknown_flavor_is_kept_as_unpriced_not_dropped() -> None:
    invoice = invoice_for([started("2026-10-03 12:00", flavor="9XL"), stopped("2026-10-03 13:00")])
    assert not invoice.finalizable
    assert "instance.9XL" in invoice.unpriced[0].message
    assert invoice.document()["anomalies"][0]["kind"] == "unpriced"


def test_R5_overlapping_price_versions_are_refused() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(CatalogError, match="overlap"):
        Catalog(
            (
                Price("instance.M", Decimal("1"), "EUR", "hour", start, at("2026-06-01 00:00")),
                Price("instance.M", Decimal("2"), "EUR", "hour", at("2026-05-01 00:00")),
            )
        )


def test_R5_the_default_catalog_has_the_2021_prices() -> None:
    catalog = default_catalog()
    nano = catalog.price_at("instance.nano", "EUR", OCTOBER.start)
    assert nano is not None and nano.rate_per_second == Fraction(8333, 1_000_000 * 3600)
    pg = catalog.price_at("addon.postgresql.xs_sml", "EUR", OCTOBER.start)
    assert pg is not None and pg.amount == Decimal("17.5") and pg.unit == "month"
    assert catalog.price_at("instance.M", "EUR", datetime(2021, 3, 31, tzinfo=UTC)) is None
