"""The columnar billing engine gives the reference engine's invoices, byte for byte.

ARCHITECTURE: "the fast path is tested against it on generated data, invoice for
invoice". A generated month plus organisations built to hit every case the columns must
leave to the core, or must get exactly right: R4 anomalies, a price change in the
middle of runs (R5), a flavor with no price, fractions of a second, a run of no
duration, time zones and policies (R1, R6), credit expiring inside the period and
prepaid credit (R10), and usage arriving late for a finalised month (R14).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bysecond.core.catalog import Price
from bysecond.services.credits import grant_credit
from bysecond.services.profiles import update_profile
from bysecond.store.database import open_database
from bysecond.store.prices import add_price
from bysecond.store.schema import Invoice, LedgerEntry

from .cli_runner import run

AT = "2026-11-20T09:00:00Z"


def event(kind: str, org: str, time: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "",  # numbered by write()
        "source": "//platform/orchestrator",
        "type": kind,
        "time": time,
        "subject": org,
        "datacontenttype": "application/json",
        "data": data,
    }


def start(org: str, time: str, instance: str, flavor: str = "M", **more: Any) -> dict[str, Any]:
    return event(
        "instance.started",
        org,
        time,
        instance_id=instance,
        application_id=f"app-{org}",
        flavor=flavor,
        role=more.pop("role", "run"),
        **more,
    )


def stop(org: str, time: str, instance: str) -> dict[str, Any]:
    return event("instance.stopped", org, time, instance_id=instance)


def edge_month() -> list[dict[str, Any]]:
    return [
        # Fractions of a second, a build, a named application, a run of no duration.
        start("org-edge-a", "2026-10-02T10:00:00.250000Z", "a-1", application_name="Shop"),
        stop("org-edge-a", "2026-10-02T10:12:42.750001Z", "a-1"),
        start("org-edge-a", "2026-10-03T08:00:00Z", "a-2", "L", role="build"),
        stop("org-edge-a", "2026-10-03T08:00:00Z", "a-2"),
        start("org-edge-a", "2026-10-03T08:00:00Z", "a-3", "XS"),
        # R4: started twice, stopped while stopped: the core writes the anomalies.
        start("org-edge-b", "2026-10-04T00:00:00Z", "b-1"),
        start("org-edge-b", "2026-10-04T01:00:00Z", "b-1", "XL"),
        stop("org-edge-b", "2026-10-04T02:00:00Z", "b-1"),
        stop("org-edge-b", "2026-10-05T02:00:00Z", "b-1"),
        # A flavor with no price: the invoice is refused, by both engines alike.
        start("org-edge-c", "2026-10-06T00:00:00Z", "c-1", "GPU"),
        stop("org-edge-c", "2026-10-06T05:00:00Z", "c-1"),
        start("org-edge-c", "2026-10-06T00:00:00Z", "c-2"),
        # Runs across the price change of flavor M on 2026-10-15 (added below), a run
        # still open at the end of the month, and one from September.
        start("org-edge-d", "2026-09-28T00:00:00Z", "d-1"),
        stop("org-edge-d", "2026-10-20T00:00:00Z", "d-1"),
        start("org-edge-d", "2026-10-14T23:59:59.5Z", "d-2"),
        start("org-edge-e", "2026-10-10T00:00:00Z", "e-1", "S"),
        stop("org-edge-e", "2026-10-31T23:30:00Z", "e-1"),
        start("org-edge-e", "2026-10-31T23:30:00Z", "e-2", "S"),
        start("org-edge-f", "2026-10-01T00:00:00Z", "f-1", "M"),
        stop("org-edge-f", "2026-10-01T00:10:01Z", "f-1"),
        start("org-edge-g", "2026-10-05T00:00:00Z", "g-1", "XS"),
        stop("org-edge-g", "2026-10-25T00:00:00Z", "g-1"),
        start("org-edge-h", "2026-10-05T00:00:00Z", "h-1", "XS"),
        stop("org-edge-h", "2026-10-06T00:00:00Z", "h-1"),
        event(
            "addon.provisioned",
            "org-edge-h",
            "2026-10-05T00:00:00Z",
            addon_id="h-pg",
            provider="postgresql",
            plan="S",
        ),
        event(
            "task.performed",
            "org-edge-h",
            "2026-10-07T00:00:00Z",
            task_id="h-t",
            description="Restore",
            amount="80.00",
        ),
    ]


def late_september() -> list[dict[str, Any]]:
    return [
        start("org-edge-i", "2026-09-10T00:00:00Z", "i-1"),
        stop("org-edge-i", "2026-09-11T00:00:00Z", "i-1"),
        start("org-edge-i", "2026-10-10T00:00:00Z", "i-2"),
        stop("org-edge-i", "2026-10-11T00:00:00Z", "i-2"),
    ]


def late_arrival() -> list[dict[str, Any]]:
    """Usage of September delivered after September was issued (R14)."""
    return [
        start("org-edge-i", "2026-09-20T00:00:00Z", "i-3", "L"),
        stop("org-edge-i", "2026-09-21T00:00:00Z", "i-3"),
    ]


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    """The events as JSON Lines, identified by the file's name and their position."""
    numbered = [{**e, "id": f"{path.stem}-{n}"} for n, e in enumerate(events, 1)]
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in numbered))
    return path


def prepare(url: str, generated: Path, tmp_path: Path) -> None:
    run("ingest", str(generated), db=url)
    run("ingest", str(write(tmp_path / "september.jsonl", late_september())), db=url)
    run(
        "bill",
        "--period",
        "2026-09",
        "--finalize",
        "--at",
        "2026-10-01T09:00:00Z",
        "--engine",
        "reference",
        db=url,
    )
    run("ingest", str(write(tmp_path / "late.jsonl", late_arrival())), db=url)
    run("ingest", str(write(tmp_path / "edge.jsonl", edge_month())), db=url)
    database = open_database(url)
    try:
        with database.unit_of_work() as uow:
            add_price(
                uow.connection,
                Price(
                    "instance.M", Decimal("0.12"), "EUR", "hour", datetime(2026, 10, 15, tzinfo=UTC)
                ),
            )
            session = uow.session
            update_profile(
                session,
                "org-edge-e",
                {"time_zone": "Europe/Paris", "policy": "per-second-min-60"},
                operator=True,
            )
            update_profile(session, "org-edge-f", {"policy": "10-minute-slices"}, operator=True)
            update_profile(session, "org-edge-g", {"policy": "slices-300s-min-120s"}, operator=True)
            granted = datetime(2026, 10, 1, tzinfo=UTC)
            grant_credit(
                session,
                "org-edge-g",
                "5.00",
                "promotional",
                granted_at=granted,
                expires_at=datetime(2026, 10, 12, tzinfo=UTC),
            )
            grant_credit(session, "org-edge-h", "500.00", "prepaid", granted_at=granted)
            grant_credit(
                session,
                "org-edge-d",
                "1.00",
                "promotional",
                granted_at=granted,
                expires_at=datetime(2027, 1, 1, tzinfo=UTC),
                priority=1,
            )
            uow.commit()
    finally:
        database.close()


def invoices(url: str) -> dict[str, tuple[Any, ...]]:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            rows = uow.session.scalars(select(Invoice)).all()
            ledger = uow.session.execute(
                select(
                    LedgerEntry.grant_id,
                    LedgerEntry.kind,
                    LedgerEntry.amount,
                    LedgerEntry.invoice_id,
                ).order_by(LedgerEntry.grant_id, LedgerEntry.kind)
            ).all()
            found: dict[str, tuple[Any, ...]] = {
                f"{r.organization_id} {r.period}": (
                    r.status,
                    r.number,
                    r.content_hash,
                    bytes(r.document),
                )
                for r in rows
            }
            found["ledger"] = tuple(sorted((tuple(entry) for entry in ledger), key=repr))
            return found
    finally:
        database.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("month") / "month.jsonl"
    run(
        "generate",
        "--orgs",
        "60",
        "--month",
        "2026-10",
        "--seed",
        "7",
        "-o",
        str(path),
        db="sqlite:///unused",
    )
    return path


def test_the_columnar_engine_gives_the_reference_invoices_byte_for_byte(
    database_url: str, generated: Path, tmp_path: Path
) -> None:
    """The columnar engine on each store against the reference engine on SQLite."""
    reference, columnar = f"sqlite:///{tmp_path / 'reference.sqlite3'}", database_url
    for url in (reference, columnar):
        prepare(url, generated, tmp_path)
    drafts = ("bill", "--period", "2026-10", "--at", AT)
    run(*drafts, "--engine", "reference", db=reference)
    run(*drafts, "--engine", "columnar", "--shard-size", "7", "--workers", "2", db=columnar)
    assert invoices(columnar) == invoices(reference)
    issue = ("bill", "--period", "2026-10", "--finalize", "--at", AT)
    refused = 1  # org-edge-c: a flavor with no price
    run(*issue, "--engine", "reference", db=reference, check=refused)
    run(
        *issue,
        "--engine",
        "columnar",
        "--shard-size",
        "7",
        "--workers",
        "2",
        db=columnar,
        check=refused,
    )
    issued = invoices(columnar)
    assert issued == invoices(reference)
    finalized = [key for key, row in issued.items() if row[0] == "finalized"]
    assert len(finalized) >= 30 + 7  # the generated month, September and the edge cases
    adjusted = orjson.loads(issued["org-edge-i 2026-10"][3])
    assert any(line["kind"] == "adjustment" for line in adjusted["lines"])  # R14
    expiring = orjson.loads(issued["org-edge-g 2026-10"][3])
    assert Decimal(expiring["credit_summary"]["promotional"]["expired"]) > 0  # R10
    assert issued["org-edge-c 2026-10"][0] == "draft"


@pytest.mark.postgres
def test_shards_hold_their_organisations_whatever_the_servers_text_order(
    postgresql_server: Any, tmp_path: Path
) -> None:
    """A PostgreSQL database whose collation orders ids otherwise than Python (ICU
    en-US: "org_c" < "org-0" < "org-a" < "org-B" < "orgZ") bills every organisation of
    every shard, as the reference engine on SQLite does."""
    import psycopg
    from psycopg import sql

    from .conftest import ADMIN_URL

    name = f"bysecond_icu_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu "
                "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ).format(sql.Identifier(name))
        )
    icu = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        orgs = ["org_c", "org-0", "org-a", "org-B", "orgZ", "org-b"]
        events = []
        for n, org in enumerate(orgs):
            events += [
                start(org, f"2026-10-0{n + 1}T00:00:00Z", f"{org}-1"),
                stop(org, f"2026-10-0{n + 1}T0{n + 1}:00:00Z", f"{org}-1"),
            ]
        month = write(tmp_path / "collation.jsonl", events)
        reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        for url in (reference, icu):
            run("ingest", str(month), db=url)
        issue = ("bill", "--period", "2026-10", "--finalize", "--at", AT)
        run(*issue, "--engine", "reference", db=reference)
        run(*issue, "--engine", "columnar", "--shard-size", "2", "--workers", "1", db=icu)
        billed = invoices(icu)
        assert billed == invoices(reference)
        assert len(billed) == len(orgs) + 1  # and the ledger
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
