"""Realistic invoice documents (docs/invoice-document.md) for the renderer's tests.

The documents are built here with their own small exact arithmetic, independent of
`bysecond.core`, and keep the document's identities: a detail amount is the exact
`billed_seconds * rate / 3600` (R7), a line amount the half-up rounding of its details'
exact sum (R8/R12), the subtotal the sum of the lines (R9), credits and VAT per R10-R12.
Prices are the platform's of April 2021 (shared/seed).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
KINDS = ("application", "addon", "task", "usage", "adjustment")
FLAVOR_PER_HOUR = {
    "pico": "0.00625",
    "nano": "0.008333",
    "XS": "0.02",
    "S": "0.04",
    "M": "0.10",
    "L": "0.20",
    "XL": "0.40",
    "2XL": "0.80",
    "3XL": "1.60",
}
ADDON_PER_MONTH = {
    ("postgresql", "s"): "10",
    ("postgresql", "m"): "30",
    ("postgresql", "l"): "240",
    ("mysql", "s"): "15",
    ("redis", "s"): "8.67",
    ("redis", "m"): "13.34",
}
FORMER_SLICE = 600  # R6: the former rule bills every started 10-minute slice

SELLER = {
    "name": "Stratus Cloud SAS",
    "address": "12 quai de la Fosse\n44000 Nantes",
    "country": "FR",
    "vat_number": "FR59842166076",
    "company_id": "842 166 076",
}


# Exact numbers --------------------------------------------------------------------


def round_cents(value: Fraction) -> Decimal:
    """R12: half-up (away from zero) to the cent."""
    scaled = abs(value) * 100
    units = math.floor(scaled)
    if scaled - units >= Fraction(1, 2):
        units += 1
    return (Decimal(units if value >= 0 else -units) / 100).quantize(CENT)


def twelve(value: Fraction) -> str:
    """An exact amount shown to 12 decimals, half-up."""
    scaled = abs(value) * 10**12
    units = math.floor(scaled)
    if scaled - units >= Fraction(1, 2):
        units += 1
    text = f"{Decimal(units).scaleb(-12):.12f}"
    return "-" + text if value < 0 and units else text


def rate_text(value: Fraction) -> str:
    """A rate to 12 decimals, trailing zeros dropped down to the cent."""
    whole, _, decimals = twelve(value).partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def cents(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ident(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return f"{prefix}-{digest[:8]}"


# Pieces and lines -----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    instance_id: str
    role: str
    flavor: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Interval:
    addon_id: str
    provider: str
    plan: str
    start: datetime
    end: datetime


@dataclass
class Line:
    """A line with its exact sums under the invoice's policy and under the former rule."""

    kind: str
    resource_id: str
    description: str
    details: list[dict[str, Any]]
    exact: Fraction
    former_exact: Fraction
    billed_seconds: int = 0
    former_billed_seconds: int = 0
    corrects_period: str | None = None

    @property
    def amount(self) -> Decimal:
        return round_cents(self.exact)


def _uptime(
    start: datetime, end: datetime, per_hour: Fraction
) -> tuple[dict[str, Any], int, Fraction]:
    """A piece's timing fields, and its billed seconds and exact amount under the
    former rule (R15)."""
    elapsed = int((end - start).total_seconds())
    former = math.ceil(elapsed / FORMER_SLICE) * FORMER_SLICE
    timing = {
        "start": instant(start),
        "end": instant(end),
        "elapsed_seconds": elapsed,
        "billed_seconds": elapsed,  # R6 per-second: billed = elapsed, no minimum
        "rate_per_hour": rate_text(per_hour),
        "amount": twelve(elapsed * per_hour / 3600),
    }
    return timing, former, former * per_hour / 3600


def application_line(app_id: str, name: str, runs: Sequence[Run]) -> Line:
    details, exact, former_exact, former_billed = [], Fraction(0), Fraction(0), 0
    for run in sorted(runs, key=lambda r: (r.start, r.instance_id)):
        per_hour = Fraction(FLAVOR_PER_HOUR[run.flavor])
        timing, billed_former, exact_former = _uptime(run.start, run.end, per_hour)
        details.append(
            {
                "instance_id": run.instance_id,
                "role": run.role,
                "price_key": f"instance.{run.flavor}",
                "flavor": run.flavor,
                **timing,
            }
        )
        exact += timing["billed_seconds"] * per_hour / 3600
        former_exact += exact_former
        former_billed += billed_former
    instances = len({r.instance_id for r in runs})
    builds = len({r.instance_id for r in runs if r.role == "build"})
    description = f"Application {name}: {instances} instances"
    if builds:
        description += f", {builds} of them builds"
    return Line(
        "application",
        app_id,
        description,
        details,
        exact,
        former_exact,
        sum(d["billed_seconds"] for d in details),
        former_billed,
    )


def addon_line(addon_id: str, name: str, intervals: Sequence[Interval]) -> Line:
    details, exact, former_exact, former_billed = [], Fraction(0), Fraction(0), 0
    for interval in intervals:
        # R5: a monthly plan is stored per hour as monthly / 720.
        per_hour = Fraction(ADDON_PER_MONTH[(interval.provider, interval.plan)]) / 720
        timing, billed_former, exact_former = _uptime(interval.start, interval.end, per_hour)
        details.append(
            {
                "addon_id": interval.addon_id,
                "provider": interval.provider,
                "plan": interval.plan,
                "price_key": f"addon.{interval.provider}.{interval.plan}",
                **timing,
            }
        )
        exact += timing["billed_seconds"] * per_hour / 3600
        former_exact += exact_former
        former_billed += billed_former
    plans = ", ".join(sorted({i.plan for i in intervals}))
    return Line(
        "addon",
        addon_id,
        f"Add-on {name} ({plans})",
        details,
        exact,
        former_exact,
        sum(d["billed_seconds"] for d in details),
        former_billed,
    )


def task_line(
    task_id: str, description: str, items: Iterable[tuple[datetime, str | None, str, str]]
) -> Line:
    """items: (at, price_key or None, quantity, unit_price)."""
    details, exact = [], Fraction(0)
    for number, (at, price_key, quantity, unit_price) in enumerate(items, start=1):
        amount = Fraction(quantity) * Fraction(unit_price)
        details.append(
            {
                "task_id": task_id,
                "event_id": f"e-{task_id}-{number}",
                "at": instant(at),
                "price_key": price_key,
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": twelve(amount),
            }
        )
        exact += amount
    return Line("task", task_id, description, details, exact, exact)


def usage_line(
    resource_id: str,
    meter: str,
    unit: str,
    unit_price: str,
    reports: Iterable[tuple[datetime, str]],
) -> Line:
    details, exact, total = [], Fraction(0), Decimal(0)
    for at, quantity in reports:
        amount = Fraction(quantity) * Fraction(unit_price)
        details.append(
            {
                "meter": meter,
                "at": instant(at),
                "quantity": quantity,
                "unit": unit,
                "unit_price": unit_price,
                "amount": twelve(amount),
            }
        )
        exact += amount
        total += Decimal(quantity)
    return Line(
        "usage", resource_id, f"{meter} of {resource_id}: {total} {unit}", details, exact, exact
    )


def adjustment_line(
    corrects_period: str, kind: str, resource_id: str, invoiced: str, recomputed: str
) -> Line:
    """R14: what the finalised period costs now minus what was invoiced."""
    amount = Decimal(recomputed) - Decimal(invoiced)
    detail = {
        "corrects_period": corrects_period,
        "kind": kind,
        "resource_id": resource_id,
        "invoiced": invoiced,
        "recomputed": recomputed,
        "amount": f"{amount:f}",  # a difference of rounded amounts, as the core writes it
    }
    return Line(
        "adjustment",
        resource_id,
        f"Adjustment for {corrects_period}: {kind} {resource_id}",
        [detail],
        Fraction(amount),
        Fraction(amount),
        corrects_period=corrects_period,
    )


# Credits and the document ---------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    grant_id: str
    kind: str  # "promotional" or "prepaid"
    available_before: str
    expires_at: str | None = None
    # R10: a promotional grant only pays usage consumed before its expiry; the sample
    # states that usable part instead of re-deriving it from the pieces' accrual.
    usable_before_expiry: str | None = None


@dataclass
class Party:
    organization_id: str
    name: str
    address: str
    country: str
    vat_number: str
    locale: str

    def as_buyer(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "name": self.name,
            "address": self.address,
            "country": self.country,
            "vat_number": self.vat_number,
            "locale": self.locale,
        }


@dataclass
class Sample:
    """Everything a document is made of, before the totals are worked out."""

    buyer: Party
    period_key: str
    time_zone: str
    lines: list[Line]
    grants: list[Grant] = field(default_factory=list)
    number: str | None = None
    status: str = "finalized"
    issued_at: str | None = None
    vat_rate: str = "0.20"
    reverse_charge: bool = False
    vat_mention: str | None = None
    document_type: str | None = None
    corrects_invoice: str | None = None


def period_bounds(key: str, time_zone: str) -> tuple[datetime, datetime]:
    """R1: the calendar month in the organisation's time zone."""
    year, month = map(int, key.split("-"))
    zone = ZoneInfo(time_zone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


def build_document(sample: Sample) -> dict[str, Any]:
    start, end = period_bounds(sample.period_key, sample.time_zone)
    lines = [_line_json(number, line) for number, line in enumerate(sample.lines, start=1)]
    subtotal = sum((line.amount for line in sample.lines), Decimal(0))  # R9
    totals_by_kind = {
        kind: cents(sum((ln.amount for ln in sample.lines if ln.kind == kind), Decimal(0)))
        for kind in KINDS
    }
    credits, promotional = _draw(sample.grants, "promotional", max(subtotal, Decimal(0)))
    taxable = subtotal - promotional  # R10/R11: promotional credits are a discount
    vat = round_cents(Fraction(taxable) * Fraction(sample.vat_rate))  # R11, R12
    total = taxable + vat
    prepaid_credits, prepaid = _draw(sample.grants, "prepaid", max(total, Decimal(0)))
    credits += prepaid_credits
    former_amounts = [round_cents(line.former_exact) for line in sample.lines]
    former_subtotal = sum(former_amounts, Decimal(0))
    document: dict[str, Any] = {
        "id": "inv_"
        + hashlib.sha256(
            f"{sample.buyer.organization_id}/{sample.period_key}/{sample.document_type}".encode()
        ).hexdigest()[:24],
        "number": sample.number,
        "status": sample.status,
        "organization_id": sample.buyer.organization_id,
        "currency": "EUR",
        "policy": "per-second",
        "issued_at": sample.issued_at,
        "period": {
            "key": sample.period_key,
            "start": instant(start),
            "end": instant(end),
            "time_zone": sample.time_zone,
        },
        "seller": dict(SELLER),
        "buyer": sample.buyer.as_buyer(),
        "lines": lines,
        "totals_by_kind": totals_by_kind,
        "subtotal": cents(subtotal),
        "promotional_credits_applied": cents(promotional),
        "taxable_amount": cents(taxable),
        "vat_rate": sample.vat_rate,
        "vat_amount": cents(vat),
        "reverse_charge": sample.reverse_charge,
        "vat_mention": sample.vat_mention,
        "total": cents(total),
        "prepaid_credits_applied": cents(prepaid),
        "amount_due": cents(total - prepaid),
        "credits": credits,
        "credit_summary": _credit_summary(credits),
        "comparison": {
            "policy": "10-minute-slices",
            "subtotal": cents(former_subtotal),
            "difference": cents(subtotal - former_subtotal),  # as the core writes it
            "lines": [
                {
                    "id": ln["id"],
                    "kind": ln["kind"],
                    "resource_id": ln["resource_id"],
                    "billed_seconds": line.former_billed_seconds,
                    "amount": cents(amount),
                }
                for ln, line, amount in zip(lines, sample.lines, former_amounts, strict=True)
            ],
        },
        "anomalies": [],
    }
    if sample.document_type:
        document["type"] = sample.document_type
        document["corrects_invoice"] = sample.corrects_invoice
    return document


def _line_json(number: int, line: Line) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": f"L{number:03d}",
        "kind": line.kind,
        "resource_id": line.resource_id,
        "description": line.description,
        "billed_seconds": line.billed_seconds,
        "amount": cents(line.amount),
    }
    if line.corrects_period:
        result["corrects_period"] = line.corrects_period
    result["details"] = line.details
    return result


def _draw(grants: list[Grant], kind: str, owed: Decimal) -> tuple[list[dict[str, Any]], Decimal]:
    """R10: grants of one kind drawn in order until what is owed is paid."""
    drawn, total = [], Decimal(0)
    for grant in (g for g in grants if g.kind == kind):
        available = Decimal(grant.available_before)
        usable = Decimal(grant.usable_before_expiry or grant.available_before)
        applied = min(usable, owed - total)
        expired = available - applied if grant.expires_at and grant.usable_before_expiry else 0
        total += applied
        drawn.append(
            {
                "grant_id": grant.grant_id,
                "kind": kind,
                "expires_at": grant.expires_at,
                "available_before": cents(available),
                "applied": cents(applied),
                "expired": cents(Decimal(expired)),
                "remaining": cents(available - applied - Decimal(expired)),
            }
        )
    return drawn, total


def _credit_summary(credits: list[dict[str, Any]]) -> dict[str, Any]:
    def total(kind: str, key: str) -> str:
        return cents(sum((Decimal(c[key]) for c in credits if c["kind"] == kind), Decimal(0)))

    return {
        "promotional": {
            "available": total("promotional", "available_before"),
            "used": total("promotional", "applied"),
            "expired": total("promotional", "expired"),
            "remaining": total("promotional", "remaining"),
        },
        "prepaid": {
            "available": total("prepaid", "available_before"),
            "used": total("prepaid", "applied"),
            "remaining": total("prepaid", "remaining"),
        },
    }


# Usage generators -----------------------------------------------------------------


def deployments(
    app: str,
    *,
    start: datetime,
    end: datetime,
    run_flavor: str,
    instances: int,
    build_flavor: str,
    deploy_days: Sequence[int],
    seed: int,
) -> list[Run]:
    """A month of an application: each deployment builds on a dedicated instance, then
    replaces the running instances (new instance ids), which run until the next one."""
    rng = random.Random(seed)
    runs: list[Run] = []
    current = [ident("i", app, "boot", n) for n in range(instances)]
    since = start
    for day in deploy_days:
        at = start + timedelta(
            days=day,
            hours=rng.randint(8, 17),
            minutes=rng.randint(0, 59),
            seconds=rng.randint(0, 59),
        )
        build_done = at + timedelta(minutes=rng.randint(6, 14), seconds=rng.randint(0, 59))
        runs.append(Run(ident("i", app, "build", day), "build", build_flavor, at, build_done))
        switched = build_done + timedelta(seconds=rng.randint(20, 90))
        runs.extend(Run(i, "run", run_flavor, since, switched) for i in current)
        current = [ident("i", app, day, n) for n in range(instances)]
        since = switched
    runs.extend(Run(i, "run", run_flavor, since, end) for i in current)  # R4: open at end
    return runs


def short_jobs(app: str, count: int, *, start: datetime, flavor: str, seed: int) -> list[Run]:
    """Many short runs of autoscaled instances (the 5,000-run invoice)."""
    rng = random.Random(seed)
    runs, at = [], start + timedelta(minutes=5)
    for n in range(count):
        length = timedelta(seconds=rng.randint(45, 3000))
        runs.append(Run(ident("i", app, n), "run", flavor, at, at + length))
        at += timedelta(seconds=rng.randint(60, 500))
    return runs


# The samples ----------------------------------------------------------------------

ACME = Party(
    "org-acme",
    "Acme Analytics SAS",
    "8 rue du Faubourg Poissonnière\n75010 Paris",
    "FR",
    "FR75512345679",
    "en",
)
GAUFRE = Party(
    "org-gaufre",
    "Gaufre Software SRL",
    "Rue de la Loi 42\n1040 Bruxelles",
    "BE",
    "BE0428759497",
    "fr",
)
LOUVE = Party(
    "org-louve", "Louve Studio SARL", "5 place Bellecour\n69002 Lyon", "FR", "FR40303265045", "fr"
)
REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196, Council Directive 2006/112/EC)"
)


def typical_invoice() -> dict[str, Any]:
    """A month of a small company: three applications redeployed several times, two
    add-ons (one changes plan), a custom task, traffic, a negative late-usage adjustment, a
    welcome credit, a promotional credit that expires mid-month, and prepaid credit."""
    tz = "Europe/Paris"
    start, end = period_bounds("2026-10", tz)
    pg_change = datetime(2026, 10, 14, 10, 32, 17, tzinfo=UTC)
    lines = [
        application_line(
            "app-shop",
            "shop",
            deployments(
                "app-shop",
                start=start,
                end=end,
                run_flavor="S",
                instances=2,
                build_flavor="M",
                deploy_days=[5, 16, 27],
                seed=1,
            ),
        ),
        application_line(
            "app-api",
            "api",
            deployments(
                "app-api",
                start=start,
                end=end,
                run_flavor="XS",
                instances=1,
                build_flavor="S",
                deploy_days=[20],
                seed=2,
            ),
        ),
        application_line(
            "app-cron",
            "cron",
            [
                Run(
                    ident("i", "cron", n),
                    "run",
                    "nano",
                    start + timedelta(days=7 * n, hours=2),
                    start + timedelta(days=7 * n, hours=3, minutes=12, seconds=42),
                )
                for n in range(2)
            ],
        ),
        addon_line(
            "addon-pg-main",
            "main-db",
            [
                Interval("addon-pg-main", "postgresql", "s", start, pg_change),
                Interval("addon-pg-main", "postgresql", "m", pg_change, end),
            ],
        ),
        addon_line(
            "addon-redis",
            "sessions",
            [
                Interval("addon-redis", "redis", "s", start, end),
            ],
        ),
        task_line(
            "task-migration",
            "Database migration assisted by the support team",
            [
                (datetime(2026, 10, 14, 10, 0, tzinfo=UTC), "task.support-hour", "1.5", "60.00"),
            ],
        ),
        usage_line(
            "cellar-assets",
            "traffic.out",
            "GB",
            "0.09",
            [
                (datetime(2026, 10, 8, 0, 0, tzinfo=UTC), "41.250"),
                (datetime(2026, 10, 28, 0, 0, tzinfo=UTC), "57.125"),
            ],
        ),
        adjustment_line("2026-09", "addon", "addon-redis", "8.67", "8.25"),
    ]
    return build_document(
        Sample(
            buyer=ACME,
            period_key="2026-10",
            time_zone=tz,
            lines=lines,
            grants=[
                Grant("grant-welcome", "promotional", "20.00", "2027-03-01T00:00:00Z"),
                Grant(
                    "grant-devfest",
                    "promotional",
                    "15.00",
                    "2026-10-15T22:00:00Z",
                    usable_before_expiry="6.40",
                ),
                Grant("grant-prepaid-1", "prepaid", "50.00"),
            ],
            number="2026-000042",
            issued_at="2026-11-01T06:00:00Z",
        )
    )


def reverse_charged_invoice() -> dict[str, Any]:
    """A Belgian customer with a valid VAT number, billed from France (R11): rate 0 and
    the legal mention; French wording; welcome credit only."""
    tz = "Europe/Brussels"
    start, end = period_bounds("2026-10", tz)
    lines = [
        application_line(
            "app-site",
            "site",
            deployments(
                "app-site",
                start=start,
                end=end,
                run_flavor="M",
                instances=1,
                build_flavor="M",
                deploy_days=[4, 18],
                seed=3,
            ),
        ),
        addon_line(
            "addon-mysql",
            "wp-db",
            [
                Interval("addon-mysql", "mysql", "s", start, end),
            ],
        ),
        task_line(
            "task-dns",
            "Custom DNS set-up",
            [
                (datetime(2026, 10, 2, 9, 30, tzinfo=UTC), None, "1", "35.00"),
            ],
        ),
    ]
    return build_document(
        Sample(
            buyer=GAUFRE,
            period_key="2026-10",
            time_zone=tz,
            lines=lines,
            grants=[Grant("grant-welcome-g", "promotional", "20.00", "2027-01-01T00:00:00Z")],
            number="2026-000043",
            issued_at="2026-11-01T06:00:00Z",
            vat_rate="0",
            reverse_charge=True,
            vat_mention=REVERSE_CHARGE_MENTION,
        )
    )


def draft_invoice() -> dict[str, Any]:
    """The current month so far (R13 draft: no number, not issued), in French."""
    tz = "Europe/Paris"
    start, _ = period_bounds("2026-11", tz)
    now = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
    lines = [
        application_line(
            "app-portfolio",
            "portfolio",
            deployments(
                "app-portfolio",
                start=start,
                end=now,
                run_flavor="pico",
                instances=1,
                build_flavor="S",
                deploy_days=[3],
                seed=4,
            ),
        ),
        addon_line(
            "addon-pg-louve",
            "louve-db",
            [
                Interval("addon-pg-louve", "postgresql", "s", start, now),
            ],
        ),
    ]
    return build_document(
        Sample(
            buyer=LOUVE,
            period_key="2026-11",
            time_zone=tz,
            lines=lines,
            grants=[Grant("grant-welcome-l", "promotional", "20.00", "2027-05-01T00:00:00Z")],
            status="draft",
        )
    )


def large_invoice(runs: int = 5_000) -> dict[str, Any]:
    """A batch platform with `runs` short runs on autoscaled instances, and one add-on."""
    tz = "UTC"
    start, end = period_bounds("2026-10", tz)
    batch = runs - runs // 5
    lines = [
        application_line(
            "app-batch", "batch", short_jobs("app-batch", batch, start=start, flavor="M", seed=5)
        ),
        application_line(
            "app-render",
            "render",
            short_jobs("app-render", runs - batch, start=start, flavor="XL", seed=6),
        ),
        addon_line(
            "addon-pg-batch",
            "jobs-db",
            [
                Interval("addon-pg-batch", "postgresql", "l", start, end),
            ],
        ),
    ]
    return build_document(
        Sample(
            buyer=ACME,
            period_key="2026-10",
            time_zone=tz,
            lines=lines,
            grants=[Grant("grant-prepaid-big", "prepaid", "500.00")],
            number="2026-000044",
            issued_at="2026-11-01T06:00:00Z",
        )
    )


def credit_note() -> dict[str, Any]:
    """A credit note (R13) refunding a custom task billed twice on invoice 2026-000042.

    Convention: a credit note's amounts are positive and say what is credited back, as
    in EN 16931 (type code 381)."""
    document = build_document(
        Sample(
            buyer=ACME,
            period_key="2026-10",
            time_zone="Europe/Paris",
            lines=[
                task_line(
                    "task-migration",
                    "Refund: database migration billed twice",
                    [
                        (
                            datetime(2026, 10, 14, 10, 0, tzinfo=UTC),
                            "task.support-hour",
                            "1.5",
                            "60.00",
                        ),
                    ],
                )
            ],
            number="2026-000051",
            issued_at="2026-11-20T09:30:00Z",
            document_type="credit_note",
            corrects_invoice="2026-000042",
        )
    )
    document["comparison"] = None  # R15 compares policies; a refund of a task has none
    return document
