"""Alembic environment: migrations run on the connection `store.database.migrate` passes.

There is no alembic.ini: `migrate()` builds the configuration in code, so the package
carries everything it needs and nothing reads files from the working directory.
"""

from __future__ import annotations

from alembic import context

from bysecond.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bysecond.store.database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
