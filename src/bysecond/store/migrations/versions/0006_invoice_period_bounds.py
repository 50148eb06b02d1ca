"""Each invoice's period bounds as columns, frozen once it is issued.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Written by hand. Late usage (R14) is usage of a finalised period received after its
invoice was issued: the period's bounds, in the time zone it was billed in, are what it
is looked for against. They were only in each document (10-100 KB of JSON), so a billing
run could not tell which organisations have late usage without reading every earlier
invoice; it sent every organisation with one to the slow path, one at a time. Now
`invoices.period_start` and `period_end` hold them, copied from each stored document
(a document without a readable period leaves them empty: its organisation is treated as
having late usage), and an issued invoice's are as frozen as the rest of it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from bysecond.store.types import Instant

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BOUNDS = ("period_start", "period_end")


def _revision_0005() -> Any:
    """0005's module (Alembic loads revisions by path, not as a package's modules)."""
    spec = importlib.util.spec_from_file_location(
        "bysecond_revision_0005", Path(__file__).with_name("0005_invoice_bodies.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The triggers of 0005, which guard the head, made to guard the bounds as well.
_0005 = _revision_0005()


# Constant statements and tables; nothing from outside reaches them.
_INVOICES = sa.table(
    "invoices",
    sa.column("id", sa.String()),
    sa.column("head", sa.LargeBinary()),
    sa.column("period_start", Instant()),
    sa.column("period_end", Instant()),
)
_BODIES = sa.table(
    "invoice_bodies", sa.column("invoice_id", sa.String()), sa.column("rest", sa.LargeBinary())
)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _BOUNDS:
        op.add_column("invoices", sa.Column(name, Instant(), nullable=True))
    _copy_bounds(bind)  # before the trigger guards them: issued invoices take theirs too
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER invoices_frozen_update")
        op.execute(_0005._sqlite_invoice_trigger("head", _BOUNDS))
    else:
        op.execute(_0005._postgresql_invoice_function("head", _BOUNDS))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops no column a trigger names: the trigger goes, then comes back as 0005's.
        op.execute("DROP TRIGGER invoices_frozen_update")
        for name in _BOUNDS:
            op.drop_column("invoices", name)
        op.execute(_0005._sqlite_invoice_trigger("head"))
        return
    op.execute(_0005._postgresql_invoice_function("head"))
    for name in _BOUNDS:
        op.drop_column("invoices", name)


def _copy_bounds(bind: sa.Connection) -> None:
    """Each stored document's period bounds into its row; none where it has none."""
    joined = sa.select(_INVOICES.c.id, _INVOICES.c.head, _BODIES.c.rest).join(
        _BODIES, _BODIES.c.invoice_id == _INVOICES.c.id
    )
    for batch in _0005._batches(bind):  # the invoice ids, 500 at a time
        rows = bind.execute(joined.where(_INVOICES.c.id.in_(batch))).all()
        found = [
            {"invoice": invoice_id, "start": bounds[0], "end": bounds[1]}
            for invoice_id, head, rest in rows
            if (bounds := _period_bounds(bytes(head) + bytes(rest))) is not None
        ]
        if found:
            bind.execute(
                _INVOICES.update()
                .where(_INVOICES.c.id == sa.bindparam("invoice"))
                .values(period_start=sa.bindparam("start"), period_end=sa.bindparam("end")),
                found,
            )


def _period_bounds(document: bytes) -> tuple[datetime, datetime] | None:
    try:
        period: Any = orjson.loads(document)["period"]
        start = datetime.fromisoformat(period["start"])
        end = datetime.fromisoformat(period["end"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if start.utcoffset() is None or end.utcoffset() is None or not start < end:
        return None
    return start, end
