"""Invoice documents kept in two parts: the head issuing rewrites, the rest it never does.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Written by hand. An invoice document is 10-100 KB of JSON, but issuing it (R13) changes
only its first few hundred bytes: the number, the status and the date of issue. Stored
whole in `invoices.document`, every issued invoice was written again whole, and SQLite
rewrites a row whose size changes (PostgreSQL writes a new version of the value): at
50,000 invoices, finalisation spent most of its time rewriting 1.5 GB that had not
changed. Now `invoices.head` holds the bytes up to the last field issuing sets and
`invoice_bodies.rest` the bytes after it; the document is their concatenation, byte for
byte, so content hashes and every stored document stay as they were.

The rest of a finalised invoice is as frozen as its head: triggers on both databases
refuse to change or delete it (store/immutability.py gives the same refusal earlier).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bysecond.core.invoice import stored_parts

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVOICE_MESSAGE = "bysecond: immutable: a finalized invoice never changes (R13)"
_BATCH = 500  # invoices moved per statement: documents are up to about 100 KB each


def _forbidden_invoice_update(document_column: str, frozen: Sequence[str] = ()) -> str:
    """The UPDATE a finalised invoice refuses (as in 0001), its document in `document_column`
    and `frozen` naming columns added later that it never changes either (0006)."""
    later = "".join(f"\n        OR NEW.{name} IS DISTINCT FROM OLD.{name}" for name in frozen)
    return f"""
    (NEW.status IS DISTINCT FROM OLD.status
     AND NOT ((OLD.status = 'draft' AND NEW.status = 'finalized')
              OR (OLD.status = 'finalized' AND NEW.status = 'paid')))
    OR (OLD.status <> 'draft' AND (
        NEW.id IS DISTINCT FROM OLD.id
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR NEW.period IS DISTINCT FROM OLD.period
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.{document_column} IS DISTINCT FROM OLD.{document_column}
        OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
        OR NEW.issued_at IS DISTINCT FROM OLD.issued_at{later}))
"""


def _sqlite_invoice_trigger(document_column: str, frozen: Sequence[str] = ()) -> str:
    condition = _forbidden_invoice_update(document_column, frozen).replace(
        "IS DISTINCT FROM", "IS NOT"
    )
    return f"""CREATE TRIGGER invoices_frozen_update BEFORE UPDATE ON invoices
    WHEN {condition}
    BEGIN SELECT RAISE(ABORT, '{INVOICE_MESSAGE}'); END"""


def _postgresql_invoice_function(document_column: str, frozen: Sequence[str] = ()) -> str:
    return f"""CREATE OR REPLACE FUNCTION bysecond_refuse_invoice_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
                RAISE EXCEPTION '{INVOICE_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN OLD;
        END IF;
        IF {_forbidden_invoice_update(document_column, frozen)} THEN
            RAISE EXCEPTION '{INVOICE_MESSAGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$"""


# The rest of an issued invoice: never changed, never deleted (a draft's may be, and goes
# with its draft). A deleted draft's rest is removed by the cascade after the draft
# itself, when no invoice row is left to ask.
_ISSUED = "EXISTS (SELECT 1 FROM invoices WHERE id = OLD.invoice_id AND status <> 'draft')"

SQLITE_BODY_TRIGGERS = (
    f"""CREATE TRIGGER invoice_bodies_frozen_update BEFORE UPDATE ON invoice_bodies
    WHEN {_ISSUED} OR NEW.invoice_id IS NOT OLD.invoice_id
    BEGIN SELECT RAISE(ABORT, '{INVOICE_MESSAGE}'); END""",
    f"""CREATE TRIGGER invoice_bodies_frozen_delete BEFORE DELETE ON invoice_bodies
    WHEN {_ISSUED}
    BEGIN SELECT RAISE(ABORT, '{INVOICE_MESSAGE}'); END""",
)

POSTGRESQL_BODY_TRIGGERS = (
    f"""CREATE FUNCTION bysecond_refuse_invoice_body_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF {_ISSUED}
           OR (TG_OP = 'UPDATE' AND NEW.invoice_id IS DISTINCT FROM OLD.invoice_id) THEN
            RAISE EXCEPTION '{INVOICE_MESSAGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER invoice_bodies_frozen BEFORE UPDATE OR DELETE ON invoice_bodies
    FOR EACH ROW EXECUTE FUNCTION bysecond_refuse_invoice_body_change()""",
)

# Constant statements; nothing from outside reaches them.
_HAS_LZ4 = sa.text(
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)
_INVOICES = sa.table(
    "invoices",
    sa.column("id", sa.String()),
    sa.column("document", sa.LargeBinary()),
    sa.column("head", sa.LargeBinary()),
)
_BODIES = sa.table(
    "invoice_bodies", sa.column("invoice_id", sa.String()), sa.column("rest", sa.LargeBinary())
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "invoice_bodies",
        sa.Column("invoice_id", sa.String(64), nullable=False),
        sa.Column("rest", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name="fk_invoice_bodies_invoice_id_invoices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", name="pk_invoice_bodies"),
    )
    # The empty default lets SQLite add a NOT NULL column in place; every row is given
    # its head below. The triggers in force compare `document`, not `head`, so issued
    # invoices take their head too.
    op.add_column(
        "invoices",
        sa.Column("head", sa.LargeBinary(), nullable=False, server_default=sa.text("''")),
    )
    _split_documents(bind)
    if sqlite:
        # SQLite drops no column a trigger names: the trigger goes, then comes back
        # guarding the head.
        op.execute("DROP TRIGGER invoices_frozen_update")
        op.drop_column("invoices", "document")
        op.execute(_sqlite_invoice_trigger("head"))
        for trigger in SQLITE_BODY_TRIGGERS:
            op.execute(trigger)
        return
    op.execute(_postgresql_invoice_function("head"))
    op.drop_column("invoices", "document")
    op.alter_column("invoices", "head", server_default=None)
    for trigger in POSTGRESQL_BODY_TRIGGERS:
        op.execute(trigger)
    if bind.execute(_HAS_LZ4).scalar():  # as 0004 did for the whole document
        op.execute("ALTER TABLE invoice_bodies ALTER COLUMN rest SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column(
        "invoices",
        sa.Column("document", sa.LargeBinary(), nullable=False, server_default=sa.text("''")),
    )
    _join_documents(bind)
    if sqlite:
        op.execute("DROP TRIGGER invoices_frozen_update")
        op.drop_table("invoice_bodies")  # and its triggers
        op.drop_column("invoices", "head")
        op.execute(_sqlite_invoice_trigger("document"))
        return
    op.execute(_postgresql_invoice_function("document"))
    op.execute("DROP TRIGGER invoice_bodies_frozen ON invoice_bodies")
    op.execute("DROP FUNCTION bysecond_refuse_invoice_body_change()")
    op.drop_table("invoice_bodies")
    op.drop_column("invoices", "head")
    op.alter_column("invoices", "document", server_default=None)
    if bind.execute(_HAS_LZ4).scalar():
        op.execute("ALTER TABLE invoices ALTER COLUMN document SET COMPRESSION lz4")


def _batches(bind: sa.Connection) -> list[list[str]]:
    ids = list(bind.execute(sa.select(_INVOICES.c.id).order_by(_INVOICES.c.id)).scalars())
    return [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]


def _split_documents(bind: sa.Connection) -> None:
    """Each stored document cut in two where issuing's fields end; no byte changes."""
    for batch in _batches(bind):
        rows = bind.execute(
            sa.select(_INVOICES.c.id, _INVOICES.c.document).where(_INVOICES.c.id.in_(batch))
        ).all()
        heads, bodies = [], []
        for invoice_id, document in rows:
            head, rest = stored_parts(bytes(document))
            heads.append({"invoice": invoice_id, "new_head": head})
            bodies.append({"invoice_id": invoice_id, "rest": rest})
        bind.execute(
            _INVOICES.update()
            .where(_INVOICES.c.id == sa.bindparam("invoice"))
            .values(head=sa.bindparam("new_head")),
            heads,
        )
        bind.execute(_BODIES.insert(), bodies)


def _join_documents(bind: sa.Connection) -> None:
    joined = sa.select(_INVOICES.c.id, _INVOICES.c.head, _BODIES.c.rest).join(
        _BODIES, _BODIES.c.invoice_id == _INVOICES.c.id
    )
    for batch in _batches(bind):
        rows = bind.execute(joined.where(_INVOICES.c.id.in_(batch))).all()
        bind.execute(
            _INVOICES.update()
            .where(_INVOICES.c.id == sa.bindparam("invoice"))
            .values(document=sa.bindparam("whole")),
            [
                {"invoice": invoice_id, "whole": bytes(head) + bytes(rest)}
                for invoice_id, head, rest in rows
            ],
        )
