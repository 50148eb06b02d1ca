"""The batch path's bulk writes (batch/write.py) change drafts only (R13).

Everything else of the bulk writes is held to the reference engine, row for row, by
test_batch_billing.py and test_draft_reuse.py; this is the guard for a draft issued by
another run between the shard's read and its write.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bysecond.batch.run import rate_shard
from bysecond.batch.write import _Pending
from bysecond.services.billing import plan_record, record_invoice
from bysecond.services.contexts import billing_context
from bysecond.services.invoice_record import InvoiceRecord
from bysecond.settings import Settings
from bysecond.store.database import open_database
from bysecond.store.schema import Invoice

from .cli_runner import run
from .test_batch_billing import start, stop, write

ISSUED_AT = datetime(2026, 11, 2, tzinfo=UTC)


def test_R13_a_draft_issued_meanwhile_is_never_written_over(
    database_url: str, tmp_path: Path
) -> None:
    _drafted(database_url, tmp_path, "org-w1")
    database = open_database(database_url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            context = billing_context(uow.session, Settings.from_environment().seller, ISSUED_AT)
        # The shard is read while the invoice is a draft: taken as it stands, its rest
        # left in the store ...
        (record,) = rate_shard(database, context, "2026-10", ["org-w1"]).invoices.values()
        assert record.from_draft and record.rest is None
        draft = _invoice(database_url)
        # ... or as if computed afresh (the same document, written whole) ...
        computed = replace(InvoiceRecord.of_draft(draft.head, draft.body.rest), from_draft=False)
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
        # Neither issuing it (hashed in the store, or with its rest written) nor writing
        # it again as a draft does.
        for written, issue in ((record, True), (computed, True), (computed, False)):
            plan = plan_record(context, True, written, issue=issue, take_number=lambda: "2026-9")
            assert plan.head is not None and (plan.rest is None) == written.from_draft
            with database.unit_of_work() as uow, pytest.raises(RuntimeError, match="changed"):
                pending = _Pending()
                pending.add(context, written, plan, stored=True)
                pending.send(uow.session)
            again = _invoice(database_url)
            assert (again.number, again.document) == (issued.number, issued.document)
    finally:
        database.close()


def _drafted(url: str, tmp_path: Path, org: str) -> None:
    """An hour of one instance in October, billed as a draft."""
    month = [
        start(org, "2026-10-02T10:00:00Z", "i-1"),
        stop(org, "2026-10-02T11:00:00Z", "i-1"),
    ]
    run("ingest", str(write(tmp_path / "month.jsonl", month)), db=url)
    run("bill", "--period", "2026-10", "--at", "2026-11-02T00:00:00Z", db=url)


def _invoice(url: str) -> Invoice:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            return uow.session.scalars(select(Invoice)).one()
    finally:
        database.close()


def test_R13_a_draft_issued_as_it_stands_is_hashed_where_its_rest_is(
    database_url: str, tmp_path: Path
) -> None:
    """A stored draft's record without its rest (read by a worker, left in the store)
    is issued through the session as through the bulk writes: the head alone is written
    and the store hashes the whole document (store/invoice_hash.py)."""
    _drafted(database_url, tmp_path, "org-w2")
    draft = _invoice(database_url)
    record = InvoiceRecord.of_draft(draft.head, draft.body.rest).rest_left_stored()
    database = open_database(database_url)
    try:
        with database.unit_of_work() as uow:
            context = billing_context(uow.session, Settings.from_environment().seller, ISSUED_AT)
            stored = uow.session.get(Invoice, draft.id)
            result = record_invoice(uow.session, context, stored, record, issue=True)
            uow.commit()
    finally:
        database.close()
    issued = _invoice(database_url)
    assert (result.outcome, issued.status) == ("finalized", "finalized")
    assert issued.body.rest == draft.body.rest and issued.head != draft.head
    assert issued.content_hash == hashlib.sha256(issued.document).hexdigest()
