"""The benchmark harness (`python -m bench`) runs end to end at its tiny size XS.

One run of every measure, on SQLite and on PostgreSQL (skipped with a reason when the
server is unreachable, except with CI=true, like every PostgreSQL test), into a
temporary folder: the Markdown table and the JSON file must hold every measure with a
positive figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.harness import results as r
from bench.harness.results import NO_DATABASE

from .conftest import ADMIN_URL, _admin

ROOT = Path(__file__).resolve().parents[2]
# Measures that read no database appear once per size, under target "-".
WITHOUT_DATABASE = {r.FLOOR, r.PDF_MEDIAN, r.PDF_AGGREGATE, r.PDF_PAGES}


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once for both databases, as the harness caches it between runs."""
    return tmp_path_factory.mktemp("bench-data")


@pytest.mark.slow
@pytest.mark.parametrize(
    "target", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_harness_measures_everything_at_xs(
    target: str, data_folder: Path, tmp_path: Path
) -> None:
    if target == "postgresql":
        _admin().close()  # skips with the reason, or fails under CI=true
    output = tmp_path / "results"
    command = [
        sys.executable, "-m", "bench",
        "--sizes", "XS", "--repeat", "1", "--targets", target,
        "--postgresql", ADMIN_URL,
        "--data", str(data_folder), "--output", str(output),
        "--estimate-requests", "40", "--estimate-warmup", "5", "--pdf-invoices", "5",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    rows = json.loads((output / "latest.json").read_text())["results"]
    table = (output / "latest.md").read_text()
    for measure in r.ORDER:
        where = NO_DATABASE if measure in WITHOUT_DATABASE else target
        row = _row(rows, measure.name, where)
        assert row["runs"] >= 1 and len(row["values"]) == row["runs"], row
        assert all(value > 0 for value in row["values"]), row
        assert row["median"] > 0 and row["min"] > 0 and row["max"] > 0, row
        assert f"| XS | {where} | {measure.name} |" in table, measure.name
    # The checks behind the figures were recorded (the run stops when one fails).
    checks = json.loads((output / "latest.json").read_text())["checks"]
    assert {c["measure"] for c in checks} >= {"bulk ingest", "billing run", "HTTP batch ingest"}
    assert not list((data_folder / "runs").glob("*.sqlite3")), "run stores are deleted"


def _row(rows: list[dict[str, Any]], measure: str, target: str) -> dict[str, Any]:
    found = [row for row in rows if row["measure"] == measure and row["target_db"] == target]
    assert len(found) == 1, f"{measure} on {target}: {found}"
    return found[0]
