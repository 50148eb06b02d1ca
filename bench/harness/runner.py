"""The order of the runs: per size, the floor, then K runs on each target database.

One run on one database: a fresh store, bulk ingest of the size's file, the billing run
(drafts, then finalisation) on what was ingested, the estimate latency on that store
(it holds the whole size), and PDF rendering of its finalised invoices (on the first
target only: rendering reads no database). HTTP ingest gets a fresh store of its own.
Every store is dropped at the end of its run.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from rich.markup import escape

from . import results as r
from .billing import billing_run
from .bulk_ingest import bulk_ingest
from .console import console
from .datasets import SIZES, Dataset, prepare
from .estimate import estimate_latency
from .floor import floor_query, median_seconds
from .http_ingest import http_ingest
from .options import Options
from .pdf_rendering import pdf_rendering
from .results import NO_DATABASE, Results
from .stores import fresh_store

T = TypeVar("T")


def run_all(options: Options, results: Results) -> None:
    """Every measure, into `results` as they come: a failed run keeps what came before."""
    for size in options.sizes:
        dataset = prepare(SIZES[size], options.data)
        _run_size(options, dataset, results)


def _run_size(options: Options, dataset: Dataset, results: Results) -> None:
    size, wanted = dataset.size.name, set(options.measures)
    floor_total: Decimal | None = None
    if "floor" in wanted:
        repeats = options.floor_repeats(size)
        floor = _step(f"{size}: DuckDB floor x{repeats}", lambda: floor_query(dataset, repeats))
        for seconds in floor.seconds:
            results.add(size, NO_DATABASE, r.FLOOR, seconds)
        floor_total = floor.total
        console.log(f"{size}: floor {median_seconds(floor):.3f} s, {floor.organizations:,} orgs")
    needs_store = wanted & {"ingest", "billing", "estimate", "pdf"}
    for index in range(1, options.repeats(size) + 1):
        rendered = False
        for target in options.targets:
            where = f"{size} {target} run {index}/{options.repeats(size)}"
            if needs_store:
                rendered |= _store_run(
                    options, dataset, target, where, results, not rendered, floor_total
                )
            if "http" in wanted:
                _http_run(options, dataset, target, where, results)
    _ratios(size, options.targets, results)


def _store_run(
    options: Options,
    dataset: Dataset,
    target: str,
    where: str,
    results: Results,
    render: bool,
    floor_total: Decimal | None,
) -> bool:
    """One store: ingest, bill, estimate, render. True when it rendered PDFs."""
    size, wanted = dataset.size.name, set(options.measures)
    label = f"{size}-{target}"
    with fresh_store(target, options.data / "runs", label, options.postgresql) as store:
        rate, facts = _step(f"{where}: bulk ingest", lambda: bulk_ingest(dataset, store))
        _log(where, "bulk ingest", f"{rate:,.0f} events/s", facts)
        if "ingest" in wanted:
            results.add(size, target, r.BULK_INGEST, rate)
            results.check(size=size, target=target, measure="bulk ingest", **facts)
        if not wanted & {"billing", "estimate", "pdf"}:
            return False
        bill = _step(
            f"{where}: billing run", lambda: billing_run(dataset, store, options.bill_args)
        )
        _log(
            where,
            "billing run",
            f"{bill.drafts_seconds:.2f} + {bill.finalize_seconds:.2f} s,"
            f" peak {max(bill.drafts_peak_mib, bill.finalize_peak_mib):,.0f} MiB",
            bill.facts,
        )
        if "billing" in wanted:
            results.add(size, target, r.BILL_DRAFTS, bill.drafts_seconds)
            results.add(size, target, r.BILL_FINALIZE, bill.finalize_seconds)
            results.add(size, target, r.BILL_TOTAL, bill.drafts_seconds + bill.finalize_seconds)
            results.add(size, target, r.MEMORY_DRAFTS, bill.drafts_peak_mib)
            results.add(size, target, r.MEMORY_FINALIZE, bill.finalize_peak_mib)
            results.add(
                size, target, r.MEMORY_PEAK, max(bill.drafts_peak_mib, bill.finalize_peak_mib)
            )
            results.check(
                size=size,
                target=target,
                measure="billing run",
                **bill.facts,
                **_against_floor(bill.billed_subtotal, floor_total),
            )
        if "estimate" in wanted:
            p50, p99, facts = _step(
                f"{where}: estimate latency",
                lambda: estimate_latency(store, options.estimate_requests, options.estimate_warmup),
            )
            _log(where, "estimate", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", facts)
            results.add(size, target, r.ESTIMATE_P50, p50)
            results.add(size, target, r.ESTIMATE_P99, p99)
            results.check(size=size, target=target, measure="estimate latency", **facts)
        if "pdf" in wanted and render:
            pdf = _step(
                f"{where}: PDF rendering", lambda: pdf_rendering(store, options.pdf_invoices)
            )
            _log(where, "PDF", f"{pdf.median_per_second:.1f} invoices/s", pdf.facts)
            results.add(size, NO_DATABASE, r.PDF_MEDIAN, pdf.median_per_second)
            results.add(size, NO_DATABASE, r.PDF_AGGREGATE, pdf.aggregate_per_second)
            results.add(size, NO_DATABASE, r.PDF_PAGES, pdf.median_pages)
            results.check(size=size, target=target, measure="PDF rendering", **pdf.facts)
            return True
    return False


def _http_run(
    options: Options, dataset: Dataset, target: str, where: str, results: Results
) -> None:
    size = dataset.size.name
    with fresh_store(
        target, options.data / "runs", f"{size}-{target}-http", options.postgresql
    ) as store:
        rate, facts = _step(
            f"{where}: HTTP batch ingest",
            lambda: http_ingest(dataset, store, options.http_concurrency),
        )
    _log(where, "HTTP ingest", f"{rate:,.0f} events/s", facts)
    results.add(size, target, r.HTTP_INGEST, rate)
    results.check(size=size, target=target, measure="HTTP batch ingest", **facts)


def _against_floor(billed: Decimal, floor_total: Decimal | None) -> dict[str, str]:
    """The floor must do the work billing does: its subtotals should add up the same,
    within rounding (billing rounds each line to the cent (R9), the floor each
    organisation's sum)."""
    facts = {"billed subtotals (sum)": str(billed)}
    if floor_total is not None:
        facts["floor subtotals (sum)"] = str(floor_total)
        console.log(f"billed subtotals {billed} EUR, floor subtotals {floor_total} EUR")
    return facts


def _ratios(size: str, targets: list[str], results: Results) -> None:
    floor = results.get(size, NO_DATABASE, r.FLOOR)
    if floor is None:
        return
    for target in targets:
        total = results.get(size, target, r.BILL_TOTAL)
        for seconds in total.values if total else []:
            results.add(size, target, r.FLOOR_RATIO, seconds / floor.median)


def _step(what: str, work: Callable[[], T]) -> T:
    with console.status(what):
        return work()


def _log(where: str, what: str, figure: str, facts: dict[str, object]) -> None:
    console.log(f"{where}: {what} {figure}  [dim]{escape(str(facts))}[/dim]")
