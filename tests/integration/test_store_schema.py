"""The schema the migrations build, the exact column types, the seeded catalog."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, select, text

from bysecond.core.catalog import default_catalog
from bysecond.store.database import open_database
from bysecond.store.prices import load_catalog
from bysecond.store.schema import Base, CreditGrant, Invoice, Organization, StoredPrice


def test_migrations_build_exactly_the_schema_the_models_declare(database_url: str) -> None:
    database = open_database(database_url)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    database.close()
    assert differences == []


def _migrations(connection: Connection | None = None) -> Config:
    """Alembic's configuration as `store.database` builds it, on `connection`."""
    from bysecond.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def test_the_code_s_schema_revision_is_the_migrations_head() -> None:
    from alembic.script import ScriptDirectory

    from bysecond.store.database import SCHEMA_REVISION

    assert ScriptDirectory.from_config(_migrations()).get_heads() == [SCHEMA_REVISION]


def test_a_store_at_the_code_s_revision_opens_without_loading_alembic(
    fresh_database_url: str,
) -> None:
    """Every command and every worker process opens the store: a store already migrated
    is checked by its revision alone, and a store at an earlier one is still migrated."""
    open_database(fresh_database_url).close()
    probe = (
        "import sys; from bysecond.store.database import open_database;"
        f"open_database({fresh_database_url!r}).close();"
        "print(sorted({'alembic', 'psycopg'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    expected = "['psycopg']" if fresh_database_url.startswith("postgresql") else "[]"
    assert loaded == [expected]

    from bysecond.store.database import SCHEMA_REVISION, schema_revision

    database = open_database(fresh_database_url)
    with database.engine.begin() as connection:
        command.downgrade(_migrations(connection), "0004")
        assert "invoice_bodies" not in inspect(connection).get_table_names()
    database.close()
    reopened = open_database(fresh_database_url)  # behind: migrated as before
    with reopened.engine.connect() as connection:
        assert schema_revision(connection) == SCHEMA_REVISION
        assert "invoice_bodies" in inspect(connection).get_table_names()
    reopened.close()


def test_migrations_go_down_to_nothing_and_up_again(fresh_database_url: str) -> None:
    database = open_database(fresh_database_url)
    with database.engine.begin() as connection:
        command.downgrade(_migrations(connection), "base")
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    database.close()
    reopened = open_database(fresh_database_url)
    with reopened.engine.connect() as connection:
        assert "events" in inspect(connection).get_table_names()
    reopened.close()


# Documents as a store before migration 0005 held them, whole: an issued one and a draft
# in the engine's canonical form, and bytes in no particular form.
_WHOLE = {
    "inv-1": b'{"id":"inv-1","number":"2026-000001","status":"finalized",'
    b'"issued_at":"2026-11-01T06:00:00Z","lines":[{"amount":"1.00"}],"total":"1.20"}',
    "inv-2": b'{"id":"inv-2","number":null,"status":"draft","issued_at":null,"lines":[]}',
    "inv-3": b'{"written": "by hand"}',
}


def test_migration_0005_keeps_every_document_byte_for_byte_both_ways(
    fresh_database_url: str,
) -> None:
    from sqlalchemy import column, table

    from bysecond.store.immutability import ImmutableRecordError
    from bysecond.store.types import Instant

    at = datetime(2026, 11, 1, 6, tzinfo=UTC)
    whole = table(
        "invoices",
        *(column(name) for name in ("id", "organization_id", "period", "status", "number")),
        column("document"),
        column("content_hash"),
        column("issued_at", Instant()),
    )
    database = open_database(fresh_database_url)

    def migrate(step: str, revision: str) -> None:
        with database.engine.begin() as connection:
            getattr(command, step)(_migrations(connection), revision)

    def documents() -> dict[str, bytes]:
        with database.engine.connect() as connection:
            if "head" in {c["name"] for c in inspect(connection).get_columns("invoices")}:
                rows = connection.execute(
                    text(
                        "SELECT i.id, i.head, b.rest FROM invoices i"
                        " JOIN invoice_bodies b ON b.invoice_id = i.id"
                    )
                )
                return {i: bytes(head) + bytes(rest) for i, head, rest in rows}
            rows = connection.execute(text("SELECT id, document FROM invoices"))
            return {i: bytes(document) for i, document in rows}

    try:
        migrate("downgrade", "0004")
        with database.engine.begin() as connection:
            connection.execute(insert(Organization), [{"id": "org-a", "created_at": at}])
            connection.execute(
                insert(whole),
                [
                    {
                        "id": invoice_id,
                        "organization_id": "org-a",
                        "period": f"2026-{10 + n:02d}",
                        "status": "finalized" if n == 0 else "draft",
                        "number": "2026-000001" if n == 0 else None,
                        "document": document,
                        "content_hash": "0" * 64 if n == 0 else None,
                        "issued_at": at if n == 0 else None,
                    }
                    for n, (invoice_id, document) in enumerate(_WHOLE.items())
                ],
            )
        migrate("upgrade", "head")
        assert documents() == _WHOLE
        with database.engine.connect() as connection:
            heads = dict(connection.execute(text("SELECT id, length(head) FROM invoices")).all())
        assert heads["inv-1"] > 0 and heads["inv-2"] > 0 and heads["inv-3"] == 0
        with database.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
            frozen = "UPDATE invoice_bodies SET rest = rest WHERE invoice_id = 'inv-1'"
            uow.session.execute(text(frozen))
        migrate("downgrade", "0004")
        assert documents() == _WHOLE
        migrate("upgrade", "head")
        assert documents() == _WHOLE
    finally:
        database.close()


# Documents as a store before migration 0006 held them: each period's bounds only in
# the document (Paris, so that they are not midnight UTC), or no period at all.
_PERIODS = {
    "inv-1": b'{"id":"inv-1","number":"2026-000001","status":"finalized",'
    b'"issued_at":"2026-10-01T06:00:00Z","period":{"key":"2026-09",'
    b'"start":"2026-08-31T22:00:00Z","end":"2026-09-30T22:00:00Z"},"lines":[]}',
    "inv-2": b'{"id":"inv-2","number":null,"status":"draft","issued_at":null,"period":'
    b'{"key":"2026-10","start":"2026-09-30T22:00:00Z","end":"2026-10-31T23:00:00Z"}}',
    "inv-3": b'{"written": "by hand"}',
}


def test_migration_0006_copies_each_documents_period_bounds_and_freezes_them(
    fresh_database_url: str,
) -> None:
    from bysecond.core.invoice import stored_parts
    from bysecond.services.billing import organizations_with_late_usage
    from bysecond.store.immutability import ImmutableRecordError

    at = datetime(2026, 10, 1, 6, tzinfo=UTC)
    database = open_database(fresh_database_url)

    def migrate(step: str, revision: str) -> None:
        with database.engine.begin() as connection:
            getattr(command, step)(_migrations(connection), revision)

    try:
        migrate("downgrade", "0005")
        with database.engine.begin() as connection:
            connection.execute(insert(Organization), [{"id": "org-a", "created_at": at}])
            for n, (invoice_id, document) in enumerate(_PERIODS.items()):
                head, rest = stored_parts(document)
                issued = n != 1
                connection.execute(
                    text(
                        "INSERT INTO invoices (id, organization_id, period, status, number,"
                        " head, content_hash, issued_at) VALUES (:id, 'org-a', :period,"
                        " :status, :number, :head, :hash, :issued_at)"
                    ),
                    {
                        "id": invoice_id,
                        "period": ["2026-09", "2026-10", "2026-08"][n],
                        "status": "finalized" if issued else "draft",
                        "number": f"2026-00000{n + 1}" if issued else None,
                        "head": head,
                        "hash": "0" * 64 if issued else None,
                        "issued_at": (
                            None
                            if not issued
                            else at
                            if fresh_database_url.startswith("postgresql")
                            else int(at.timestamp() * 1_000_000)
                        ),
                    },
                )
                connection.execute(
                    text("INSERT INTO invoice_bodies (invoice_id, rest) VALUES (:id, :rest)"),
                    {"id": invoice_id, "rest": rest},
                )
        migrate("upgrade", "head")
        with database.unit_of_work() as uow:
            bounds = {
                row.id: (row.period_start, row.period_end)
                for row in uow.session.scalars(select(Invoice))
            }
            # A final without bounds: its late usage cannot be ruled out (R14).
            late = organizations_with_late_usage(uow.connection, ["org-a"], "2026-11")
        assert bounds == {
            "inv-1": (datetime(2026, 8, 31, 22, tzinfo=UTC), datetime(2026, 9, 30, 22, tzinfo=UTC)),
            "inv-2": (
                datetime(2026, 9, 30, 22, tzinfo=UTC),
                datetime(2026, 10, 31, 23, tzinfo=UTC),
            ),
            "inv-3": (None, None),
        }
        assert late == {"org-a"}
        with database.unit_of_work() as uow, pytest.raises(ImmutableRecordError):
            frozen = "UPDATE invoices SET period_end = period_start WHERE id = 'inv-1'"
            uow.session.execute(text(frozen))
        with database.unit_of_work() as uow:  # a draft's bounds are its own to change
            uow.session.execute(text("UPDATE invoices SET period_end = NULL WHERE id = 'inv-2'"))
            uow.commit()
        migrate("downgrade", "0005")
        with database.engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("invoices")}
        assert not {"period_start", "period_end"} & columns
        migrate("upgrade", "head")
    finally:
        database.close()


@pytest.mark.postgres
def test_invoice_documents_are_compressed_with_lz4_on_postgresql(postgresql_url: str) -> None:
    """Migrations 0004 and 0005: the bulk of each document (its rest, after the fields
    issuing sets) is compressed with LZ4, several times cheaper for the server than pglz
    (PostgreSQL 14+ with LZ4)."""
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
                    " WHERE attrelid = 'invoice_bodies'::regclass AND attname = 'rest'"
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
