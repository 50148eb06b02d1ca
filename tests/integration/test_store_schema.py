"""The schema the migrations build, the exact column types, the seeded catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from bysecond.core.catalog import default_catalog
from bysecond.store.database import open_database
from bysecond.store.prices import load_catalog
from bysecond.store.schema import Base, CreditGrant, Organization, StoredPrice


def test_migrations_build_exactly_the_schema_the_models_declare(database_url: str) -> None:
    database = open_database(database_url)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    database.close()
    assert differences == []


def test_migrations_go_down_to_nothing_and_up_again(fresh_database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from bysecond.store.database import MIGRATIONS

    database = open_database(fresh_database_url)
    with database.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    database.close()
    reopened = open_database(fresh_database_url)
    with reopened.engine.connect() as connection:
        assert "events" in inspect(connection).get_table_names()
    reopened.close()


@pytest.mark.postgres
def test_invoice_documents_are_compressed_with_lz4_on_postgresql(postgresql_url: str) -> None:
    """Migration 0004: documents written twice per organisation per run are compressed
    with LZ4, several times cheaper for the server than pglz (PostgreSQL 14+ with LZ4)."""
    database = open_database(postgresql_url)
    try:
        with database.engine.connect() as connection:
            lz4 = connection.execute(
                text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                    " WHERE name = 'default_toast_compression'"
                )
            ).scalar()
            method = connection.execute(
                text(
                    "SELECT attcompression FROM pg_attribute"
                    " WHERE attrelid = 'invoices'::regclass AND attname = 'document'"
                )
            ).scalar()
    finally:
        database.close()
    assert lz4, "this PostgreSQL has no LZ4: the migration leaves pglz"
    assert method == "l"


def test_R5_the_default_catalog_is_seeded_once_on_first_open(database_url: str) -> None:
    for _ in range(2):
        database = open_database(database_url)
        with database.unit_of_work(read_only=True) as uow:
            stored = uow.session.scalars(select(StoredPrice)).all()
            catalog = load_catalog(uow.connection)
        database.close()
        assert len(stored) == len(default_catalog().prices)
    assert catalog.prices == default_catalog().prices


def test_R7_amounts_are_stored_and_read_back_exactly(database_url: str) -> None:
    database = open_database(database_url)
    with database.unit_of_work() as uow:
        uow.session.add(Organization(id="org-acme", created_at=datetime.now(UTC)))
        uow.session.flush()
        uow.session.add(
            CreditGrant(
                id="g-1",
                organization_id="org-acme",
                kind="promotional",
                amount=Decimal("0.008333333333333333333"),
                currency="EUR",
                granted_at=datetime.now(UTC),
            )
        )
        uow.commit()
    with database.unit_of_work(read_only=True) as uow:
        grant = uow.session.get(CreditGrant, "g-1")
        organization = uow.session.get(Organization, "org-acme")
    database.close()
    assert grant is not None and organization is not None
    assert grant.amount == Decimal("0.008333333333333333333")
    assert organization.vat_rate == Decimal("0.20")  # R11's default rate
    assert (
        organization.time_zone,
        organization.policy,
        organization.currency,
        organization.locale,
        organization.postpaid,
    ) == ("UTC", "per-second", "EUR", "en", False)


def test_R7_a_float_amount_is_refused(database_url: str) -> None:
    database = open_database(database_url)
    with database.unit_of_work() as uow, pytest.raises(Exception, match="never float"):
        uow.connection.execute(
            insert(Organization),
            [
                {
                    "id": "org-float",
                    "vat_rate": 0.2,
                    "created_at": datetime.now(UTC),
                }
            ],
        )
    database.close()


def test_R1_instants_come_back_in_utc_to_the_microsecond(database_url: str) -> None:
    paris = timezone(timedelta(hours=2))
    written = datetime(2026, 10, 3, 14, 0, 0, 123456, tzinfo=paris)
    database = open_database(database_url)
    with database.unit_of_work() as uow:
        uow.session.add(Organization(id="org-acme", created_at=written))
        uow.commit()
    with database.unit_of_work(read_only=True) as uow:
        read = uow.session.get(Organization, "org-acme")
    database.close()
    assert read is not None
    assert read.created_at == written
    assert read.created_at.utcoffset() == timedelta(0)
    assert read.created_at.microsecond == 123456


def test_R1_a_naive_instant_is_refused(database_url: str) -> None:
    database = open_database(database_url)
    with database.unit_of_work() as uow, pytest.raises(Exception, match="no time zone"):
        uow.connection.execute(
            insert(Organization),
            [
                {
                    "id": "org-naive",
                    "created_at": datetime(2026, 10, 3, 12, 0),
                }
            ],
        )
    database.close()
