"""What each invoice was computed from: a hash of its inputs, beside the document.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Written by hand. The batch billing path writes `invoices.inputs_hash` with every
document it computes (batch/inputs.py): the organisation's settings, its credit
balances, the catalog, the seller, how many of its events lie before the period's end,
and the billing code itself. A draft whose inputs hash the same at finalisation is
issued as it stands (R13, R16: the same inputs give the same document). Rows written
before this revision have none and are computed again, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: SQLite adds it in place, and the invoices' triggers stay as they
    # are (they guard the document's own columns, which this one is not).
    op.add_column("invoices", sa.Column("inputs_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) and PostgreSQL both drop a column in place; the triggers stay.
    op.drop_column("invoices", "inputs_hash")
