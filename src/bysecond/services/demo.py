"""The main job on the embedded default: a realistic platform month, billed end to end.

A month is generated, ingested, finalised and compared with 10-minute slices; late events
arrive afterwards and are carried as adjustments by the next month's drafts; every
invoice is written as JSON, HTML and PDF.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, update

from bysecond.core.period import BillingPeriod
from bysecond.generator.month import OrganizationPlan, generate_month
from bysecond.settings import Settings
from bysecond.store.database import Database
from bysecond.store.prices import load_catalog
from bysecond.store.schema import Invoice, Organization

from .billing import BillingContext, BillingReport, bill_period
from .credits import grant_credit
from .ingest import ingest

ISSUE_DELAY = timedelta(hours=6)  # invoices are issued at 06:00 on the 1st


@dataclass
class DemoResult:
    month: str
    organizations: int
    events: int
    duplicates: int
    rejected: int
    report: BillingReport
    late_events: int
    adjustments: Decimal
    adjusted_organizations: int
    subtotal: Decimal
    former_subtotal: Decimal
    savings: list[Decimal]
    revenue: Decimal
    promotional_used: Decimal
    prepaid_used: Decimal
    expired: Decimal
    amount_due: Decimal
    output: Path
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def previous_month(now: datetime) -> str:
    return BillingPeriod.containing(now).previous().key


def run_demo(
    database: Database,
    output: Path,
    *,
    month: str,
    orgs: int,
    seed: int,
    now: datetime,
    settings: Settings,
    pdf: bool = True,
    step: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    import time

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    period = BillingPeriod.parse(month)
    output.mkdir(parents=True, exist_ok=True)
    step(f"generating {orgs} organisations' usage for {month}")
    plans = list(generate_month(orgs, month, seed))
    events_file, late_file = output / "events.jsonl", output / "late-events.jsonl"
    _write_jsonl(events_file, (e for p in plans for e in p.events))
    _write_jsonl(late_file, (e for p in plans for e in p.late_events))
    now = story_clock(now, period, plans)
    lap("generate")
    step(f"ingesting {events_file.name}")
    accepted, duplicates, rejected = _ingest(database, events_file, now, settings)
    _complete_profiles(database, plans, settings)
    lap("ingest")
    step(f"billing and finalising {month}")
    with database.unit_of_work(read_only=True) as uow:
        catalog = load_catalog(uow.connection)
    issued = BillingContext(catalog, settings.seller, period.end + ISSUE_DELAY)
    report = bill_period(database, issued, month, issue=True)
    lap("bill")
    step(f"ingesting {late_file.name}, usage of {month} that arrives after it was invoiced")
    late_accepted, _, _ = _ingest(database, late_file, now, settings)
    late_orgs = sorted({p.id for p in plans if p.late_events})
    next_month = period.next().key
    drafts = BillingContext(catalog, settings.seller, max(now, period.next().end + ISSUE_DELAY))
    bill_period(database, drafts, next_month, issue=False, organizations=late_orgs)
    lap("late usage")
    step("writing every invoice as JSON, HTML" + (" and PDF" if pdf else ""))
    stored = _documents(database, month)
    documents = [document for _, document in stored]
    adjustments = _adjustments(database, next_month, late_orgs)
    files = _write_documents(output / "invoices", stored, pdf)
    lap("documents")
    savings = [Decimal(d["comparison"]["subtotal"]) - Decimal(d["subtotal"]) for d in documents]
    return DemoResult(
        month=month,
        organizations=len(plans),
        events=accepted,
        duplicates=duplicates,
        rejected=rejected,
        report=report,
        late_events=late_accepted,
        adjustments=sum(adjustments.values(), Decimal(0)),
        adjusted_organizations=len(adjustments),
        subtotal=_total(documents, "subtotal"),
        former_subtotal=sum((Decimal(d["comparison"]["subtotal"]) for d in documents), Decimal(0)),
        savings=savings,
        revenue=_total(documents, "total"),
        promotional_used=_total(documents, "promotional_credits_applied"),
        prepaid_used=_total(documents, "prepaid_credits_applied"),
        expired=sum((Decimal(c["expired"]) for d in documents for c in d["credits"]), Decimal(0)),
        amount_due=_total(documents, "amount_due"),
        output=output,
        files=files,
        timings=timings,
    )


def story_clock(now: datetime, period: BillingPeriod, plans: list[OrganizationPlan]) -> datetime:
    """The instant the demo acts at: `now`, or, in the first hours of the next month,
    the instant by which the month's last events have happened and its invoices have
    been issued. Acting earlier, ingestion would refuse the events still ahead of the
    clock (stops of instances running past the month's end), and the late events would
    arrive before the invoices they are late for (R14). The demo's store is its own, so
    its clock may run ahead of the real one."""
    happened = (
        datetime.fromisoformat(event["time"])
        for plan in plans
        for event in (*plan.events, *plan.late_events)
    )
    return max(now, period.end + ISSUE_DELAY, *happened)


def _write_jsonl(path: Path, events: Iterable[dict[str, Any]]) -> None:
    with path.open("wb") as stream:
        for event in events:
            stream.write(orjson.dumps(event) + b"\n")


def _ingest(
    database: Database, path: Path, now: datetime, settings: Settings
) -> tuple[int, int, int]:
    accepted = duplicates = rejected = 0
    with path.open("rb") as lines:
        for report in ingest(database, lines, clock=lambda: now, welcome=settings.welcome):
            accepted += report.accepted
            duplicates += report.duplicates
            rejected += report.rejected
    return accepted, duplicates, rejected


def _complete_profiles(
    database: Database, plans: list[OrganizationPlan], settings: Settings
) -> None:
    """The profiles the customers filled in, and the credits they got beyond the welcome."""
    with database.unit_of_work() as uow:
        session = uow.session
        for plan in plans:
            session.execute(
                update(Organization)
                .where(Organization.id == plan.id)
                .values(
                    name=plan.name,
                    country=plan.country,
                    locale=plan.locale,
                    time_zone=plan.time_zone,
                    vat_number=plan.vat_number or None,
                    address=plan.address,
                )
            )
            for number, grant in enumerate(plan.grants, 1):
                grant_credit(
                    session,
                    plan.id,
                    grant.amount,
                    grant.kind,
                    granted_at=grant.granted_at,
                    expires_at=grant.expires_at,
                    reason="event voucher" if grant.kind == "promotional" else "top-up",
                    grant_id=f"{plan.id}-grant-{number}",
                )
        uow.commit()


def _documents(database: Database, month: str) -> list[tuple[bytes, dict[str, Any]]]:
    """The month's issued documents: the stored bytes and their decoded form."""
    with database.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(
            select(Invoice)
            .where(Invoice.period == month)
            .where(Invoice.status != "draft")
            .order_by(Invoice.number)
        )
        return [(row.document, orjson.loads(row.document)) for row in rows]


def _adjustments(database: Database, month: str, organizations: list[str]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    with database.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(
            select(Invoice).where(
                Invoice.period == month, Invoice.organization_id.in_(organizations)
            )
        )
        for row in rows:
            organization_id, lines = row.organization_id, orjson.loads(row.document)["lines"]
            amounts = [Decimal(ln["amount"]) for ln in lines if ln["kind"] == "adjustment"]
            if amounts:
                found[organization_id] = sum(amounts, Decimal(0))
    return found


def _total(documents: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(d[key]) for d in documents), Decimal(0))


def _write_documents(
    folder: Path, stored: list[tuple[bytes, dict[str, Any]]], pdf: bool
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(folder, data, document, pdf) for data, document in stored]
    workers = max(1, min(os.cpu_count() or 1, 4))
    with ProcessPoolExecutor(workers) as pool:
        return [path for paths in pool.map(_write_one, jobs, chunksize=8) for path in paths]


def _write_one(job: tuple[Path, bytes, dict[str, Any], bool]) -> list[Path]:
    from bysecond.render.html import render_html
    from bysecond.render.pdf import render_pdf

    folder, data, document, pdf = job
    stem = folder / f"{document['number']}-{document['organization_id']}"
    written = [stem.with_suffix(".json"), stem.with_suffix(".html")]
    written[0].write_bytes(data)  # the stored document, byte for byte
    written[1].write_text(render_html(document), encoding="utf-8")
    if pdf:
        written.append(stem.with_suffix(".pdf"))
        written[2].write_bytes(render_pdf(document))
    return written
