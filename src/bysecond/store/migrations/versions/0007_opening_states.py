"""Each organisation's opening state at the start of its billed periods.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Written by hand. A run still going when a period starts is billed from that start, and
an add-on's plan and provider, an application's name, come from whichever earlier
events set them: billing a period replayed every event of the organisation since its
first. `opening_states` keeps what that replay leaves at an instant (core.metering's
`Opening`), with the count of the organisation's events before it, so that the next
period reads its own events only. A row is a cache of the events, read only while the
count still holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bysecond.store.types import Instant

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opening_states",
        sa.Column("organization_id", sa.String(length=128), nullable=False),
        sa.Column("at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("events_before", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_opening_states_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "at", name=op.f("pk_opening_states")),
    )


def downgrade() -> None:
    op.drop_table("opening_states")
