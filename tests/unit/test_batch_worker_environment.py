"""Billing workers are spawned with the allocator setting that keeps freed memory for
the next shard (batch/run.py: `_worker_environment`), and the caller's environment is
left as it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bysecond.batch.run import _WORKER_ENVIRONMENT, _worker_environment

NAME = "MIMALLOC_PURGE_DELAY"


def _seen_by_a_new_process() -> str:
    shown = f"import os; print(os.environ.get({NAME!r}, 'unset'))"
    return subprocess.run(
        [sys.executable, "-c", shown], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_processes_started_meanwhile_keep_freed_memory_and_the_setting_goes_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(NAME, raising=False)
    with _worker_environment():
        assert _seen_by_a_new_process() == _WORKER_ENVIRONMENT[NAME] == "-1"
    assert NAME not in os.environ
    assert _seen_by_a_new_process() == "unset"


def test_a_setting_made_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "250")
    with _worker_environment():
        assert _seen_by_a_new_process() == "250"
    assert os.environ[NAME] == "250"
