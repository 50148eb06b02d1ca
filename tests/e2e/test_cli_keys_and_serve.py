"""`bysecond keys` and `bysecond serve`, run as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bysecond.services.keys import key_hash
from bysecond.store.database import open_database
from bysecond.store.schema import ApiKey
from tests.integration.cli_runner import BYSECOND, run, run_json


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The command line's logic does not depend on the store; the keys service is
    exercised on both stores by the HTTP tests."""
    return f"sqlite:///{tmp_path / 'keys.sqlite3'}"


def test_a_key_is_printed_once_and_kept_only_as_its_hash(sqlite_url: str) -> None:
    database_url = sqlite_url
    made = run_json("keys", "create", "--operator", "--name", "billing team", db=database_url)
    assert made["operator"] is True and made["key"].startswith("bys_")
    database = open_database(database_url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            row = uow.session.get(ApiKey, made["id"])
            assert row is not None and row.key_hash == key_hash(made["key"])
            assert made["key"] not in (row.key_hash, row.name, row.id)
    finally:
        database.close()
    listed = run("keys", "list", db=database_url).stdout
    assert made["id"] in listed and made["key"] not in listed


def test_an_organisation_key_needs_a_known_organisation_or_register(sqlite_url: str) -> None:
    database_url = sqlite_url
    refused = run("keys", "create", "--org", "org-new", db=database_url, check=2)
    assert "unknown organisation 'org-new'" in refused.stderr
    made = run_json("keys", "create", "--org", "org-new", "--register", db=database_url)
    assert made["organization_id"] == "org-new"
    both = run("keys", "create", "--operator", "--org", "org-new", db=database_url, check=2)
    assert "either --operator or --org" in both.stderr
    revoked = run("keys", "revoke", made["id"], db=database_url)
    assert f"revoked {made['id']}" in revoked.stdout
    (listed,) = run_json("keys", "list", "--org", "org-new", db=database_url)
    assert listed["revoked_at"] is not None
    run("keys", "revoke", "key_nothing", db=database_url, check=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(database_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`bysecond serve` on a free port: its base URL and its process."""
    port = _free_port()
    env = {**os.environ, "BYSECOND_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [*BYSECOND, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"bysecond serve did not start:\n{output}")
                time.sleep(0.1)
        yield base, server
    finally:
        server.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        server.wait(timeout=30)


def test_serve_answers_over_http_with_the_keys_of_the_command_line(database_url: str) -> None:
    operator = run_json("keys", "create", "--operator", db=database_url)["key"]
    with serving(database_url) as (base, _):
        auth = {"Authorization": f"Bearer {operator}"}
        event = {
            "specversion": "1.0",
            "id": "e-1",
            "source": "//platform/orchestrator",
            "type": "instance.started",
            "time": "2026-10-03T12:00:00Z",
            "subject": "org-acme",
            "data": {"instance_id": "i-1", "application_id": "app", "flavor": "M", "role": "run"},
        }
        stored = httpx.post(f"{base}/v1/events", json=event, headers=auth)
        assert stored.status_code == 202, stored.text
        profile = httpx.get(f"{base}/v1/organizations/org-acme", headers=auth)
        assert profile.status_code == 200 and profile.json()["id"] == "org-acme"
        anonymous = httpx.get(f"{base}/v1/catalog")
        assert anonymous.status_code == 401
        document = httpx.get(f"{base}/v1/openapi.json").json()
        assert document["info"]["title"] == "bysecond"


@pytest.mark.skipif(
    not Path("/proc/self/maps").exists(), reason="reads the server's memory map in /proc"
)
def test_serve_runs_on_uvloop_and_httptools(sqlite_url: str) -> None:
    """The C event loop and HTTP parser that the estimate's latency relies on
    (bench/RESULTS.md): uvicorn takes them when they are installed, and bysecond
    depends on them."""
    with serving(sqlite_url) as (base, server):
        assert httpx.get(f"{base}/v1/openapi.json").status_code == 200
        mapped = Path(f"/proc/{server.pid}/maps").read_text()
    assert "/uvloop/loop." in mapped
    assert "/httptools/parser/parser." in mapped
