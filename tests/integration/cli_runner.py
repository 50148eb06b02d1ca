"""Running the real `bysecond` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson

BYSECOND = [sys.executable, "-m", "bysecond"]


def run(
    *args: str,
    db: str,
    check: int | None = 0,
    settings: dict[str, str] | None = None,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """`settings`: more environment variables, e.g. BYSECOND_WELCOME_CREDIT."""
    env = {**os.environ, "BYSECOND_DATABASE_URL": db, "COLUMNS": "200", **(settings or {})}
    done = subprocess.run(
        [*BYSECOND, *args], env=env, capture_output=True, text=True, timeout=300, **kwargs
    )
    if check is not None:
        assert done.returncode == check, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        # A crash exits 1 too, which is also what some outcomes answer.
        assert "Traceback (most recent call last)" not in done.stderr, done.stderr
    return done


def run_json(*args: str, db: str) -> Any:
    return orjson.loads(run(*args, "--json", db=db).stdout)
