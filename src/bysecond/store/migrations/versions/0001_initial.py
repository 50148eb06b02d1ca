"""The initial schema: organisations, events, prices, credits, invoices, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written by hand. Besides the tables of `store/schema.py`, it creates the triggers that
make finalised invoices (R13) and credit ledger entries immutable on both SQLite and
PostgreSQL, whatever client connects.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bysecond.store.types import ExactDecimal, Instant

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

INVOICE_MESSAGE = "bysecond: immutable: a finalized invoice never changes (R13)"
LEDGER_MESSAGE = "bysecond: immutable: credit ledger entries are append-only"

# An UPDATE a finalised invoice refuses: any change but its status, and any status
# change other than draft -> finalized -> paid. Shared by both dialects' triggers.
FORBIDDEN_INVOICE_UPDATE = """
    (NEW.status IS DISTINCT FROM OLD.status
     AND NOT ((OLD.status = 'draft' AND NEW.status = 'finalized')
              OR (OLD.status = 'finalized' AND NEW.status = 'paid')))
    OR (OLD.status <> 'draft' AND (
        NEW.id IS DISTINCT FROM OLD.id
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR NEW.period IS DISTINCT FROM OLD.period
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.document IS DISTINCT FROM OLD.document
        OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
        OR NEW.issued_at IS DISTINCT FROM OLD.issued_at))
"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER invoices_frozen_update BEFORE UPDATE ON invoices
    WHEN {FORBIDDEN_INVOICE_UPDATE.replace("IS DISTINCT FROM", "IS NOT")}
    BEGIN SELECT RAISE(ABORT, '{INVOICE_MESSAGE}'); END""",
    f"""CREATE TRIGGER invoices_frozen_delete BEFORE DELETE ON invoices
    WHEN OLD.status <> 'draft'
    BEGIN SELECT RAISE(ABORT, '{INVOICE_MESSAGE}'); END""",
    f"""CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
    BEGIN SELECT RAISE(ABORT, '{LEDGER_MESSAGE}'); END""",
    f"""CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
    BEGIN SELECT RAISE(ABORT, '{LEDGER_MESSAGE}'); END""",
)

POSTGRESQL_TRIGGERS = (
    f"""CREATE FUNCTION bysecond_refuse_invoice_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
                RAISE EXCEPTION '{INVOICE_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN OLD;
        END IF;
        IF {FORBIDDEN_INVOICE_UPDATE} THEN
            RAISE EXCEPTION '{INVOICE_MESSAGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER invoices_frozen BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION bysecond_refuse_invoice_change()""",
    f"""CREATE FUNCTION bysecond_refuse_ledger_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{LEDGER_MESSAGE}' USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION bysecond_refuse_ledger_change()""",
)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("address", sa.Text()),
        sa.Column("country", sa.String(2)),
        sa.Column("vat_number", sa.String(32)),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("policy", sa.String(64), nullable=False, server_default="per-second"),
        sa.Column("vat_rate", ExactDecimal(), nullable=False, server_default="0.20"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
        sa.Column("postpaid", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
    )
    op.create_table(
        "applications",
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text()),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_applications_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_applications"),
    )
    op.create_table(
        "addons",
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64)),
        sa.Column("name", sa.Text()),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_addons_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_addons"),
    )
    op.create_table(
        "events",
        sa.Column("seq", BigId, sa.Identity(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", Instant(), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("payload_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("received_at", Instant(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        # organization_id has no foreign key: see StoredEvent in store/schema.py.
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("source", "id", name="uq_events_source_id"),  # R3
    )
    # Billing reads every event of one organisation before an instant: one range scan.
    op.create_index("ix_events_organization_id_time", "events", ["organization_id", "time"])
    op.create_table(
        "anomalies",
        sa.Column("seq", BigId, sa.Identity(), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("time", Instant(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_anomalies_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_anomalies"),
    )
    op.create_index("ix_anomalies_organization_id_time", "anomalies", ["organization_id", "time"])
    op.create_table(
        "prices",
        sa.Column("seq", BigId, sa.Identity(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("effective_from", Instant(), nullable=False),
        sa.Column("effective_to", Instant()),
        sa.PrimaryKeyConstraint("seq", name="pk_prices"),
        sa.UniqueConstraint(
            "key", "currency", "effective_from", name="uq_prices_key_currency_effective_from"
        ),
    )
    op.create_table(
        "credit_grants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("granted_at", Instant(), nullable=False),
        sa.Column("expires_at", Instant()),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reason", sa.Text()),
        sa.CheckConstraint(
            "kind IN ('promotional', 'prepaid')", name=op.f("ck_credit_grants_kind")
        ),
        # R10: prepaid credit never expires.
        sa.CheckConstraint(
            "kind = 'promotional' OR expires_at IS NULL",
            name=op.f("ck_credit_grants_prepaid_never_expires"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_credit_grants_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credit_grants"),
    )
    op.create_index("ix_credit_grants_organization_id", "credit_grants", ["organization_id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("number", sa.String(16)),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("issued_at", Instant()),
        sa.CheckConstraint(
            "status IN ('draft', 'finalized', 'paid')", name=op.f("ck_invoices_status")
        ),
        sa.CheckConstraint(
            "(status = 'draft' AND number IS NULL) OR (status <> 'draft' AND number IS NOT NULL"
            " AND content_hash IS NOT NULL AND issued_at IS NOT NULL)",
            name=op.f("ck_invoices_numbered_when_issued"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_invoices_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("organization_id", "period", name="uq_invoices_organization_id_period"),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    op.create_table(
        "invoice_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_invoice_sequences"),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", BigId, sa.Identity(), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("invoice_id", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("at", Instant(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('granted', 'applied', 'expired', 'returned')",
            name=op.f("ck_credit_ledger_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["credit_grants.id"], name="fk_credit_ledger_grant_id_credit_grants"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_credit_ledger_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name="fk_credit_ledger_invoice_id_invoices"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credit_ledger"),
    )
    op.create_index(
        "ix_credit_ledger_organization_id_at", "credit_ledger", ["organization_id", "at"]
    )
    op.create_index("ix_credit_ledger_grant_id", "credit_ledger", ["grant_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("organization_id", sa.String(128)),  # none: an operator key
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("revoked_at", Instant()),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_api_keys_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer()),  # none while the request is in progress
        sa.Column("response_body", sa.LargeBinary()),
        sa.Column("created_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_idempotency_keys_api_key_id_api_keys"
        ),
        sa.PrimaryKeyConstraint("api_key_id", "key", name="pk_idempotency_keys"),
    )
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER credit_ledger_append_only ON credit_ledger")
        op.execute("DROP TRIGGER invoices_frozen ON invoices")
        op.execute("DROP FUNCTION bysecond_refuse_ledger_change()")
        op.execute("DROP FUNCTION bysecond_refuse_invoice_change()")
    for table in (
        "idempotency_keys",
        "api_keys",
        "credit_ledger",
        "invoice_sequences",
        "invoices",
        "credit_grants",
        "prices",
        "anomalies",
        "events",
        "addons",
        "applications",
        "organizations",
    ):
        op.drop_table(table)  # SQLite drops a table's triggers with it
