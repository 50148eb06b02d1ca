"""Estimate latency: GET /v1/organizations/{org}/estimate against a store of the whole size.

The API runs in its own process (bench.harness.estimate_server: one uvicorn worker, the
clock inside the month so the estimate covers a period with usage); requests go one at
a time from here over one kept-alive connection, each to an organisation drawn in turn
from a shuffled list, with an operator key. A short warm-up is left out of the figures.
"""

from __future__ import annotations

import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.http_ingest_bench import free_port, operator_key, wait_until_up

from .console import BenchError
from .stores import Store

CLOCK = "2026-10-20T12:00:00Z"
ROOT = Path(__file__).resolve().parents[2]


def estimate_latency(
    store: Store, requests: int, warmup: int, seed: int = 8
) -> tuple[float, float, dict[str, object]]:
    """(p50 ms, p99 ms, the facts checked)."""
    organizations = store.organizations()
    random.Random(seed).shuffle(organizations)
    key = operator_key(store.url)
    headers = {"Authorization": f"Bearer {key}"}
    spent: list[float] = []
    with _server(store.url) as base, httpx.Client(base_url=base, headers=headers) as client:
        for index in range(warmup + requests):
            org = organizations[index % len(organizations)]
            began = time.perf_counter()
            answer = client.get(f"/v1/organizations/{org}/estimate")
            elapsed = time.perf_counter() - began
            if answer.status_code != 200:
                raise BenchError(f"estimate of {org}: {answer.status_code} {answer.text[:300]}")
            if index == 0 and not answer.json()["so_far"]["lines"]:
                raise BenchError(f"estimate of {org} at {CLOCK} has no line: no usage seen")
            if index >= warmup:
                spent.append(elapsed * 1000)
    p99 = statistics.quantiles(spent, n=100, method="inclusive")[98]
    facts = {
        "requests": len(spent),
        "warm-up": warmup,
        "organisations": min(len(organizations), warmup + requests),
        "clock": CLOCK,
    }
    return statistics.median(spent), p99, facts


@contextmanager
def _server(url: str) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "bench.harness.estimate_server",
        "--db", url, "--port", str(port), "--at", CLOCK,
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=ROOT, stderr=errors)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process)
            yield base
        except BenchError as error:
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-1500:]
            raise BenchError(f"{error}; the estimate server said: {said}") from None
        finally:
            process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    if not wait_until_up(base, process):
        raise BenchError("the API did not start")
