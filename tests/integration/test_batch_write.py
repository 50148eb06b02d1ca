"""The batch path's bulk writes (batch/write.py) change drafts only (R13).

Everything else of the bulk writes is held to the reference engine, row for row, by
test_batch_billing.py and test_draft_reuse.py; this is the guard for a draft issued by
another run between the shard's read and its write.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bysecond.batch.run import rate_shard
from bysecond.batch.write import _Pending
from bysecond.services.billing import plan_record
from bysecond.services.contexts import billing_context
from bysecond.settings import Settings
from bysecond.store.database import open_database
from bysecond.store.schema import Invoice

from .cli_runner import run
from .test_batch_billing import start, stop, write

ISSUED_AT = datetime(2026, 11, 2, tzinfo=UTC)


def test_R13_a_draft_issued_meanwhile_is_never_written_over(
    database_url: str, tmp_path: Path
) -> None:
    month = [
        start("org-w1", "2026-10-02T10:00:00Z", "i-1"),
        stop("org-w1", "2026-10-02T11:00:00Z", "i-1"),
    ]
    run("ingest", str(write(tmp_path / "month.jsonl", month)), db=database_url)
    run("bill", "--period", "2026-10", "--at", "2026-11-02T00:00:00Z", db=database_url)
    database = open_database(database_url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            context = billing_context(uow.session, Settings.from_environment().seller, ISSUED_AT)
        # The shard is read while the invoice is a draft ...
        (record,) = rate_shard(database, context, "2026-10", ["org-w1"]).invoices.values()
        # ... and issued by another run before this one writes.
        run(
            "bill",
            "--period",
            "2026-10",
            "--finalize",
            "--at",
            "2026-11-02T00:00:00Z",
            db=database_url,
        )
        issued = _invoice(database_url)
        assert issued.status == "finalized"
        # Neither issuing it nor writing it again as a draft (as computed afresh) does.
        computed = replace(record, from_draft=False)
        for issue in (True, False):
            plan = plan_record(context, True, computed, issue=issue, take_number=lambda: "2026-9")
            assert plan.head is not None and plan.rest is not None
            with database.unit_of_work() as uow, pytest.raises(RuntimeError, match="changed"):
                pending = _Pending()
                pending.add(context, computed, plan, stored=True)
                pending.send(uow.session)
            again = _invoice(database_url)
            assert (again.number, again.document) == (issued.number, issued.document)
    finally:
        database.close()


def _invoice(url: str) -> Invoice:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            return uow.session.scalars(select(Invoice)).one()
    finally:
        database.close()
