"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil

from .stores import postgresql_version

ROOT = Path(__file__).resolve().parents[2]


def describe(postgresql_url: str | None) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": _cpu_model(),
        "os": _os_name(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql_version(postgresql_url) if postgresql_url else None,
        "duckdb": duckdb.__version__,
        "bysecond commit": _commit(),
        "single-core speed": single_core_speed(),
        "load average at start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def _commit() -> str:
    """The commit measured, marked when the working tree had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head} (with uncommitted changes)" if dirty else head or "?"


def single_core_speed(seconds: float = 5.0) -> float:
    """Typical two-page invoices rendered as PDF per second on one core (median).

    The same work on every machine, measured before anything else: runs made on
    machines of one kind but not one speed are told apart by it (bench/RESULTS.md).
    It is `bench/render_bench.py --seconds N`'s figure.
    """
    sys.path.insert(0, str(ROOT))  # the sample invoice lives in tests/
    from tests.documents_fixtures import typical_invoice

    from bysecond.render import render_pdf

    from .pdf_rendering import one_core

    document = typical_invoice()
    spent: list[float] = []
    with one_core():
        render_pdf(document)  # warm-up: fonts loaded, modules imported
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            render_pdf(document)
            spent.append(time.perf_counter() - start)
    return round(1 / statistics.median(spent), 1)
