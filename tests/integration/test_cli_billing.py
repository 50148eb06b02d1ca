"""Every billing command end to end through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
import psutil
import pytest
from sqlalchemy import func, select

from bysecond.store.database import open_database
from bysecond.store.schema import Invoice
from tests.integration.cli_runner import BYSECOND, run, run_json

AT = "2026-11-01T06:00:00Z"


@pytest.fixture
def month_file(tmp_path: Path) -> Path:
    path = tmp_path / "month.jsonl"
    run(
        "generate",
        "--orgs",
        "12",
        "--month",
        "2026-10",
        "--seed",
        "7",
        "--no-late",
        "-o",
        str(path),
        db="sqlite:///unused",
    )
    return path


def test_a_month_is_ingested_billed_finalised_and_read_back(
    database_url: str, month_file: Path, tmp_path: Path
) -> None:
    db = database_url
    run("ingest", str(month_file), "--rejects", str(tmp_path / "rejects.jsonl"), db=db)
    drafts = run_json("bill", "--period", "2026-10", "--at", AT, db=db)
    assert drafts["counts"]["draft"] == 12 and drafts["counts"]["finalized"] == 0
    assert drafts["from_unchanged_drafts"] == 0
    issued = run_json("bill", "--period", "2026-10", "--finalize", "--at", AT, db=db)
    assert issued["from_unchanged_drafts"] == 12  # nothing changed since the drafts
    numbers = [o["number"] for o in issued["organizations"]]
    assert numbers == [f"2026-{n:06d}" for n in range(1, 13)]
    again = run_json("bill", "--period", "2026-10", "--finalize", "--at", AT, db=db)
    assert again["counts"]["already_final"] == 12  # R13: nothing issued twice
    listed = run_json("invoices", "list", "--period", "2026-10", db=db)
    assert [i["number"] for i in listed] == sorted(numbers) or len(listed) == 12
    org = issued["organizations"][0]["organization_id"]
    shown = run("invoices", "show", org, "2026-10", "--json", db=db).stdout.encode()
    database = open_database(db)
    try:
        with database.unit_of_work(read_only=True) as uow:
            invoice = uow.session.scalars(select(Invoice).where(Invoice.organization_id == org))
            stored = invoice.one().document
    finally:
        database.close()
    assert shown == stored  # byte for byte what the store holds
    human = run("invoices", "show", org, "2026-10", db=db).stdout
    assert "2026-000001" in human and "amount due" in human
    pdf = tmp_path / "invoice.pdf"
    run("invoices", "pdf", org, "2026-10", "-o", str(pdf), db=db)
    assert pdf.read_bytes().startswith(b"%PDF")
    compared = run_json("compare", "--period", "2026-10", db=db)
    assert compared["policy"] == "10-minute-slices"
    assert len(compared["organizations"]) == 12
    assert all(float(o["change"]) <= 0 for o in compared["organizations"])  # R15


def test_credits_and_tasks_from_the_command_line(database_url: str, month_file: Path) -> None:
    db = database_url
    run("ingest", str(month_file), db=db)
    org = "org-000003"
    granted = run_json(
        "credits",
        "grant",
        org,
        "--amount",
        "30",
        "--kind",
        "prepaid",
        "--at",
        "2026-10-02T00:00:00Z",
        db=db,
    )
    assert granted["amount"] == "30.00"
    task = run_json(
        "tasks",
        "add",
        org,
        "--description",
        "Restore a backup",
        "--amount",
        "80.00",
        "--at",
        "2026-10-15T10:00:00Z",
        db=db,
    )
    assert task["status"] == "accepted"
    run("bill", "--period", "2026-10", "--finalize", "--at", AT, "--org", org, db=db)
    document = orjson.loads(run("invoices", "show", org, "2026-10", "--json", db=db).stdout)
    tasks = [ln for ln in document["lines"] if ln["kind"] == "task"]
    assert [(t["description"], t["amount"]) for t in tasks][-1] == ("Restore a backup", "80.00")
    statement = run_json("credits", "show", org, "--at", "2026-11-02T00:00:00Z", db=db)
    prepaid = [g for g in statement["grants"] if g["kind"] == "prepaid"][-1]
    assert prepaid["paid"][0]["invoice"] == document["number"]
    assert prepaid["applied"] == "30.00" == document["prepaid_credits_applied"]
    for grant in statement["grants"]:  # invariant 4
        total = sum(float(grant[k]) for k in ("applied", "expired", "remaining"))
        assert abs(total - float(grant["amount"])) < 1e-9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bill", "--period", "2026-13"], "no such month"),
        (["bill", "--period", "2026-10", "--org", "org-nobody"], "unknown organisation"),
        (["bill", "--period", "2099-01", "--finalize"], "is not over yet"),
        (
            ["credits", "grant", "org-nobody", "--amount", "5", "--kind", "prepaid"],
            "unknown organisation",
        ),
        (["credits", "grant", "org-000001", "--amount", "5.001", "--kind", "prepaid"], "decimals"),
        (["credits", "grant", "org-000001", "--amount", "5", "--kind", "gift"], "--kind"),
        (["credits", "show", "org-nobody"], "unknown organisation"),
        (["tasks", "add", "org-000001", "--description", "x"], "either --amount"),
        (["tasks", "add", "org-000001", "--description", "x", "--amount", "-4"], "negative"),
        (["invoices", "show", "org-000001", "1999-01"], "no invoice"),
        (["ingest", "/no/such/file.jsonl"], "no such file"),
        (["compare", "--period", "2026-10", "--policy", "hourly"], "unknown policy"),
    ],
)
def test_bad_input_gets_one_clear_line_and_exit_status_2(
    database_url: str, month_file: Path, args: list[str], message: str
) -> None:
    run("ingest", str(month_file), db=database_url)
    done = run(*args, db=database_url, check=2)
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(["--engine", "reference"], id="reference"),
        # Shards of 10: the kill lands between two shard transactions or inside one.
        pytest.param(["--engine", "columnar", "--shard-size", "10"], id="columnar"),
    ],
)
def test_R13_a_finalisation_killed_midway_and_run_again_ends_gapless(
    database_url: str, fresh_database_url: str, tmp_path: Path, engine: list[str]
) -> None:
    """SIGKILL while invoices are being issued; the rerun gives the invoices a run that was
    never interrupted gives, byte for byte, with no gap and no repeated number."""
    events = tmp_path / "month.jsonl"
    run(
        "generate",
        "--orgs",
        "80",
        "--month",
        "2026-10",
        "--no-late",
        "-o",
        str(events),
        db="sqlite:///unused",
    )
    for db in (database_url, fresh_database_url):
        run("ingest", str(events), db=db)
    env = {**os.environ, "BYSECOND_DATABASE_URL": database_url}
    billing = subprocess.Popen(
        [*BYSECOND, "bill", "--period", "2026-10", "--finalize", "--at", AT, "--json", *engine],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = open_database(database_url)
    try:
        deadline = time.monotonic() + 120
        issued = 0
        while issued < 10 and time.monotonic() < deadline and billing.poll() is None:
            with database.unit_of_work(read_only=True) as uow:
                issued = (
                    uow.session.scalar(
                        select(func.count())
                        .select_from(Invoice)
                        .where(Invoice.status == "finalized")
                    )
                    or 0
                )
            time.sleep(0.02)
        workers = psutil.Process(billing.pid).children(recursive=True)
        billing.send_signal(signal.SIGKILL)
        billing.wait()
        # The run's worker processes leave with it instead of lingering.
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"worker processes outlived the killed run: {alive}"
        assert 10 <= issued < 80, f"the kill came too late to test anything ({issued} issued)"
        run("bill", "--period", "2026-10", "--finalize", "--at", AT, *engine, db=database_url)
        run("bill", "--period", "2026-10", "--finalize", "--at", AT, db=fresh_database_url)
        with database.unit_of_work(read_only=True) as uow:
            rerun = {
                r.organization_id: (r.number, r.document)
                for r in uow.session.scalars(select(Invoice))
            }
    finally:
        database.close()
    clean_db = open_database(fresh_database_url)
    try:
        with clean_db.unit_of_work(read_only=True) as uow:
            clean = {
                r.organization_id: (r.number, r.document)
                for r in uow.session.scalars(select(Invoice))
            }
    finally:
        clean_db.close()
    numbers = sorted(number for number, _ in rerun.values())
    assert numbers == [f"2026-{n:06d}" for n in range(1, 81)]
    assert rerun == clean
