"""Storage: SQLAlchemy 2 tables, Alembic migrations, the unit of work, repositories.

- `database`: `open_database(url)` (migrates, seeds the default catalog), `Database`,
  `UnitOfWork`; SQLite in the user's data folder by default, PostgreSQL in production.
- `schema`: the tables; `types`: exact instants (R1) and amounts (R7) on both databases.
- `events`: bulk writes keyed by (source, id) (R3); `events_for` and
  `organizations_with_events` for billing.
- `registry`, `anomalies`, `prices`, `invoices`: organisations, applications and
  add-ons; anomaly records (R4); the catalog (R5); invoice numbers (R13).
- `immutability`: finalised invoices and ledger entries refuse UPDATE and DELETE.

Nothing here opens a connection at import time.
"""
