"""The main job (`bysecond demo`): a month generated, billed and finalised, late usage
carried by the next month's drafts (R14), whenever the demo is run after the month."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bysecond.core.period import BillingPeriod
from bysecond.services.demo import DemoResult, run_demo
from bysecond.settings import Settings
from bysecond.store.database import open_database

from .cli_runner import run

MONTH = "2026-10"


def _demo(folder: Path, after_month: timedelta) -> DemoResult:
    folder.mkdir()
    database = open_database(f"sqlite:///{folder / 'demo.sqlite3'}")
    try:
        return run_demo(
            database,
            folder,
            month=MONTH,
            orgs=200,
            seed=42,
            now=BillingPeriod.parse(MONTH).end + after_month,
            settings=Settings.from_environment(),
            pdf=False,
        )
    finally:
        database.close()


def _figures(result: DemoResult) -> dict[str, Any]:
    return {
        "events": (result.events, result.duplicates, result.rejected, result.late_events),
        "issued": result.report.count("finalized"),
        "amounts": (result.subtotal, result.former_subtotal, result.revenue, result.amount_due),
        "credits": (result.promotional_used, result.prepaid_used, result.expired),
        "late usage": (result.adjusted_organizations, result.adjustments),
    }


def test_the_demo_tells_the_same_month_in_its_first_minutes_as_weeks_later(
    tmp_path: Path,
) -> None:
    """Run 15 minutes into November, October's last events (instances stopped the next
    morning) are still ahead of the clock and its invoices not yet issued: the demo
    acts once they are, so nothing is refused and the late usage is late (R14)."""
    weeks_later = _figures(_demo(tmp_path / "later", timedelta(days=23)))
    first_minutes = _figures(_demo(tmp_path / "early", timedelta(minutes=15)))
    assert first_minutes == weeks_later
    events, _, rejected, late = weeks_later["events"]
    assert events > 25_000 and rejected == 0 and late > 0
    assert weeks_later["issued"] == 200
    # The figures the README prints for this month and seed.
    assert weeks_later["amounts"][0] == Decimal("95692.98")
    assert weeks_later["amounts"][3] == Decimal("97385.88")
    adjusted, adjustments = weeks_later["late usage"]
    assert adjusted > 0 and adjustments > 0


def test_bysecond_demo_writes_every_invoice_as_json_and_html(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    done = run("demo", "--orgs", "20", "--month", MONTH, "--no-pdf", "-o", str(output), db="unused")
    assert f"bysecond demo: {MONTH}, 20 organisations" in done.stdout
    assert "0 rejected" in done.stdout
    invoices = sorted((output / "invoices").iterdir())
    assert len([p for p in invoices if p.suffix == ".json"]) == 20
    assert len([p for p in invoices if p.suffix == ".html"]) == 20
