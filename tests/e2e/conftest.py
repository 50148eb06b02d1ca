"""HTTP tests: the real application over a real database, SQLite and PostgreSQL.

The database fixtures are those of the integration tests (every test runs on both
stores; with CI=true PostgreSQL must be reachable). The clock is fixed: the API acts at
`NOW`, 10 days into October 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bysecond.store.database import Database
from tests.integration import conftest as stores

from .api_client import ApiClient, new_api

# The integration tests' fixtures: every test on SQLite and on PostgreSQL.
postgresql_server = stores.postgresql_server
postgresql_url = stores.postgresql_url
database_url = stores.database_url
database = stores.database


@dataclass
class Api:
    """The application and one key of each kind: operator, org-acme's, org-other's."""

    operator: ApiClient
    acme: ApiClient
    other: ApiClient
    anonymous: ApiClient
    database: Database


@pytest.fixture
def api(database: Database) -> Iterator[Api]:
    with new_api(database) as made:
        yield Api(*made, database=database)
