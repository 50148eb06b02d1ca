"""The billing run of the whole month: drafts, then finalisation, each end to end.

Both are the real command (`bysecond bill --period ... [--finalize]`) in a subprocess,
timed from start to exit, with the peak memory of its process tree. Afterwards every
organisation with an event in the month must hold a finalised invoice for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import orjson

from .console import BenchError
from .datasets import BYSECOND, MONTH, PERIOD_END, PERIOD_START, Dataset
from .processes import Finished, run_measured
from .stores import Store

MIB = 1024 * 1024


@dataclass(frozen=True)
class Billing:
    drafts_seconds: float
    finalize_seconds: float
    drafts_peak_mib: float
    finalize_peak_mib: float
    billed_subtotal: Decimal  # the sum of every invoice's subtotal, to compare with the floor
    facts: dict[str, object]


def billing_run(dataset: Dataset, store: Store, extra: list[str]) -> Billing:
    """`extra`: more arguments for both commands (an engine or worker option)."""
    drafts = _bill(store, extra, finalize=False)
    final = _bill(store, extra, finalize=True)
    report = orjson.loads(final.stdout)
    active = store.active_organizations(PERIOD_START, PERIOD_END)
    finalized = store.finalized_invoices(MONTH)
    unbilled = store.unbilled_organizations(MONTH, PERIOD_START, PERIOD_END)
    facts = {
        "organisations with events in the month (SQL)": active,
        "finalized invoices (SQL)": finalized,
        "organisations with events and no finalised invoice (SQL)": unbilled,
        "report counts": report["counts"],
    }
    if unbilled or active != dataset.active_organizations or finalized != active:
        raise BenchError(f"the billing run left organisations unbilled: {facts}")
    subtotal = sum(
        (
            Decimal(org["subtotal"])
            for org in report["organizations"]
            if org["outcome"] == "finalized"
        ),
        Decimal(0),
    )
    return Billing(
        drafts.seconds,
        final.seconds,
        drafts.peak_rss_bytes / MIB,
        final.peak_rss_bytes / MIB,
        subtotal,
        facts,
    )


def _bill(store: Store, extra: list[str], *, finalize: bool) -> Finished:
    command = [*BYSECOND, "bill", "--period", MONTH, "--json", "--db", store.url, *extra]
    if finalize:
        command.append("--finalize")
    done = run_measured(command)
    if done.returncode != 0:
        raise BenchError(done.describe_failure())
    if done.peak_rss_bytes <= 0:
        raise BenchError(f"no memory sample of `{' '.join(command)}`: it ended too fast")
    return done
