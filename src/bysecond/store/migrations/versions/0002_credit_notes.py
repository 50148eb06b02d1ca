"""Credit notes (R13): corrections of issued invoices, immutable once written.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Written by hand. Creates the `credit_notes` table of `store/schema.py` and the triggers
that refuse any UPDATE or DELETE of a credit note on SQLite and PostgreSQL, whatever
client connects: like a finalised invoice, an issued credit note never changes; a
mistake in one is corrected by another document, never by editing it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bysecond.store.types import Instant

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as store.immutability.CREDIT_NOTE_MESSAGE: its "bysecond: immutable:"
# prefix is what turns a trigger's error into an ImmutableRecordError.
CREDIT_NOTE_MESSAGE = "bysecond: immutable: a credit note never changes (R13)"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER credit_notes_no_update BEFORE UPDATE ON credit_notes
    BEGIN SELECT RAISE(ABORT, '{CREDIT_NOTE_MESSAGE}'); END""",
    f"""CREATE TRIGGER credit_notes_no_delete BEFORE DELETE ON credit_notes
    BEGIN SELECT RAISE(ABORT, '{CREDIT_NOTE_MESSAGE}'); END""",
)

POSTGRESQL_TRIGGERS = (
    f"""CREATE FUNCTION bysecond_refuse_credit_note_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{CREDIT_NOTE_MESSAGE}' USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE TRIGGER credit_notes_frozen BEFORE UPDATE OR DELETE ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION bysecond_refuse_credit_note_change()""",
)


def upgrade() -> None:
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("invoice_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", Instant(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_credit_notes_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name="fk_credit_notes_invoice_id_invoices"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credit_notes"),
        # Numbers come from the invoices' sequence (store.invoices.next_invoice_number).
        sa.UniqueConstraint("number", name="uq_credit_notes_number"),
    )
    op.create_index("ix_credit_notes_organization_id", "credit_notes", ["organization_id"])
    # What an invoice has already been credited is read at every new credit note.
    op.create_index("ix_credit_notes_invoice_id", "credit_notes", ["invoice_id"])
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER credit_notes_frozen ON credit_notes")
        op.execute("DROP FUNCTION bysecond_refuse_credit_note_change()")
    op.drop_table("credit_notes")  # SQLite drops a table's triggers with it
