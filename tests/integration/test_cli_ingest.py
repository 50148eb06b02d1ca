"""`bysecond ingest` end to end, through the installed entry point and Typer's runner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from bysecond.cli import ingest as cli_ingest
from bysecond.cli.app import app
from bysecond.store.database import open_database
from bysecond.store.schema import StoredEvent
from tests.integration.ingest_builders import event, line, many

BYSECOND = str(Path(sys.executable).with_name("bysecond"))
# The builders' events are of October 2026; the real clock is later.
runner = CliRunner()


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def _stored_ids(url: str) -> list[str]:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            return list(uow.session.scalars(select(StoredEvent.id)))
    finally:
        database.close()


def test_cli_ingest_stores_a_file_and_prints_a_summary(database_url: str, tmp_path: Path) -> None:
    events = _write(tmp_path / "events.jsonl", [line(raw) for raw in many(20)])
    done = subprocess.run(
        [BYSECOND, "ingest", str(events), "--db", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "accepted 20   duplicate 0   rejected 0" in done.stdout
    assert len(_stored_ids(database_url)) == 20


def test_cli_ingest_reports_rejected_events_in_a_file_and_exits_1(
    database_url: str, tmp_path: Path
) -> None:
    events = _write(
        tmp_path / "events.jsonl",
        [
            line(event(1)),
            b"{broken\n",
            line(event(3, subject="not valid!")),
            line(event(1)),
        ],
    )
    rejects = tmp_path / "rejects.jsonl"
    result = runner.invoke(
        app, ["ingest", str(events), "--db", database_url, "--rejects", str(rejects), "--json"]
    )
    assert result.exit_code == 1
    summary = orjson.loads(result.stdout)
    assert {k: summary[k] for k in ("events", "accepted", "duplicates", "rejected")} == {
        "events": 4,
        "accepted": 1,
        "duplicates": 1,
        "rejected": 2,
    }
    assert summary["rejects_file"] == str(rejects)
    records = [orjson.loads(text) for text in rejects.read_bytes().splitlines()]
    assert [(r["file"], r["line"], r["index"], r["id"], r["field"]) for r in records] == [
        (str(events), 2, 1, None, "event"),
        (str(events), 3, 2, "e-3", "subject"),
    ]
    assert "malformed JSON" in records[0]["message"]


def test_cli_ingest_names_the_file_and_line_of_each_rejection_across_several_files(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write(tmp_path / "a.jsonl", [line(event(1)), line(event(2))])
    second = _write(tmp_path / "b.jsonl", [line(event(3)), b"nope\n"])
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--db", database_url, "ingest", str(first), str(second)])
    assert result.exit_code == 1
    [rejects] = tmp_path.glob("bysecond-rejects-*.jsonl")
    assert f"rejected events: {rejects.name}" in result.stdout
    [record] = [orjson.loads(text) for text in rejects.read_bytes().splitlines()]
    assert (record["file"], record["line"], record["index"]) == (str(second), 2, 3)


def test_cli_ingest_reads_standard_input_and_the_database_from_the_environment(
    database_url: str, tmp_path: Path
) -> None:
    payload = b"".join(line(raw) for raw in many(5))
    environment = os.environ | {"BYSECOND_DATABASE_URL": database_url}
    done = subprocess.run(
        [BYSECOND, "ingest", "-", "--json"],
        input=payload,
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["accepted"] == 5
    assert len(_stored_ids(database_url)) == 5


def test_cli_ingest_of_a_missing_file_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [BYSECOND, "ingest", str(tmp_path / "absent.jsonl"), "--db", f"{tmp_path}/x.sqlite3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'absent.jsonl'}: no such file\n"
    assert not (tmp_path / "x.sqlite3").exists()  # nothing was done


def test_cli_ingest_with_an_unreachable_database_is_one_line_without_traceback(
    tmp_path: Path,
) -> None:
    events = _write(tmp_path / "events.jsonl", [line(event(1))])
    done = subprocess.run(
        [BYSECOND, "ingest", str(events), "--db", "postgresql://nobody@127.0.0.1:1/none"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot open database")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_cli_ingest_that_loses_its_database_midway_says_so_in_one_line_and_exits_3(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _write(tmp_path / "events.jsonl", [line(raw) for raw in many(30)])
    real = cli_ingest.ingest_chunks

    def failing_after_one_chunk(*args: Any, **kwargs: Any) -> Iterator[Any]:
        # As the real generator does when a chunk fails: what it started is ended first.
        with closing(real(*args, **kwargs)) as reports:
            yield next(reports)
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(cli_ingest, "ingest_chunks", failing_after_one_chunk)
    result = runner.invoke(app, ["ingest", str(events), "--db", database_url, "--chunk-size", "10"])
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [
        "error: ingestion stopped after 10 events were answered: server closed the"
        " connection; run the same command again to finish"
    ]
    assert len(_stored_ids(database_url)) == 10


def test_cli_ingest_whose_journal_fails_midway_ends_its_writers_and_leaves_the_store_usable(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure on the reading side (here the journal's disk) while writing processes
    hold the next chunk's transaction open: they roll it back and end before the command
    does, so the store is neither locked nor left with a half-run (SQLite would answer
    "database is locked", PostgreSQL would block the next writer)."""
    events = _write(tmp_path / "events.jsonl", [line(raw) for raw in many(40)])

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_ingest, "_log_chunk", disk_full)
    result = runner.invoke(
        app,
        [
            "ingest",
            str(events),
            "--db",
            database_url,
            "--chunk-size",
            "10",
            "--workers",
            "2",
            "--journal",
            str(tmp_path / "journal.jsonl"),
        ],
    )
    assert result.exit_code == 3
    assert "ingestion stopped after 10 events were answered" in result.stderr
    assert len(_stored_ids(database_url)) == 10  # the one report taken, nothing more
    again = runner.invoke(app, ["ingest", str(events), "--db", database_url, "--json"])
    assert again.exit_code == 0, again.stderr
    assert len(_stored_ids(database_url)) == 40


def test_a_killed_ingest_loses_no_acknowledged_event_and_a_rerun_completes_it(
    database_url: str, tmp_path: Path
) -> None:
    count = 60_000
    events = _write(tmp_path / "events.jsonl", [line(raw) for raw in many(count)])
    journal = tmp_path / "journal.jsonl"
    command = [
        BYSECOND,
        "ingest",
        str(events),
        "--db",
        database_url,
        "--journal",
        str(journal),
        "--chunk-size",
        "2000",
    ]
    # Its own process group: the kill reaches the validating workers too.
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the ingestion ended before it was killed"

    acknowledged = [orjson.loads(text) for text in journal.read_bytes().splitlines()]
    last = acknowledged[-1]["last_index"]
    assert last < count - 1
    stored = set(_stored_ids(database_url))
    assert {f"e-{number}" for number in range(last + 1)} <= stored

    rerun = subprocess.run([*command, "--json"], capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = orjson.loads(rerun.stdout)
    assert summary["accepted"] == count - len(stored)
    assert summary["duplicates"] == len(stored)
    ids = _stored_ids(database_url)
    assert len(ids) == count
    assert set(ids) == {f"e-{number}" for number in range(count)}
