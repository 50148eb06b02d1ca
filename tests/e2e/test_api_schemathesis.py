"""Schemathesis over the whole OpenAPI document: no 5xx, every answer as documented.

Cases are generated from the document for every operation and sent with an operator
key to the application over a database holding an organisation with usage, credits and
an issued invoice; most generated organisation ids are replaced by that organisation's,
so that the answers past the 404 are exercised too.

Every check of Schemathesis runs but `positive_data_acceptance`: a schema-valid request
may still be refused by a billing rule no JSON Schema states (an event from the future,
a grant with more decimals than its currency has, a period not over), always with a
documented 4xx problem, which the other checks verify. Bounded: a few dozen cases per
operation, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bysecond.api import create_app
from bysecond.core.invoice import invoice_id
from bysecond.settings import Settings
from bysecond.store.database import Database

from .api_client import ApiClient, TestClient, clock, keys, started, stopped

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

ORG = "org-acme"
INVOICE = invoice_id(ORG, "2026-09")
EXAMPLES = 10  # per operation, generation mode and kind of ids


@pytest.fixture
def seeded(database: Database) -> tuple[Any, str]:
    """The application, and an operator key, over org-acme's September and October."""
    operator, _, _ = keys(database)
    app = create_app(database, Settings(), clock=clock)
    with TestClient(app) as client:
        api = ApiClient(client, operator)
        api.patch(f"/v1/organizations/{ORG}", json={"country": "FR", "name": "Acme SAS"})
        api.send_events(
            [
                started(1, "2026-09-10T00:00:00Z"),
                stopped(2, "2026-09-10T10:00:00Z"),
                started(3, "2026-10-01T00:00:00Z", instance="i-2"),
            ]
        )
        api.post(f"/v1/organizations/{ORG}/credits", json={"amount": "5.00", "kind": "prepaid"})
        run = api.post("/v1/billing-runs", json={"period": "2026-09", "finalize": True})
        assert run.json()["counts"]["finalized"] == 1, run.text
    return app, operator


def test_every_operation_answers_as_documented(seeded: tuple[Any, str]) -> None:
    app, operator = seeded
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {operator}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16
    for operation in operations:
        # Generated ids mostly name nobody (404); fixed ones reach the seeded data.
        known = (
            {"org": ORG, "invoice_id": INVOICE}
            if "{invoice_id}" in operation.path
            else ({"org": ORG} if "{org}" in operation.path else None)
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(mode)]
            if known:
                strategies.append(operation.as_strategy(mode, path_parameters=known))
            for strategy in strategies:
                _answers_as_documented(strategy, auth)


def _answers_as_documented(strategy: Any, auth: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

    check()
