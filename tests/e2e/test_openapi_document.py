"""The OpenAPI document: served at /v1/openapi.json and kept current in docs/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

from bysecond.api.openapi import openapi_text

from .conftest import Api

KEPT = Path(__file__).parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m bysecond.api.openapi > docs/openapi.json"


def test_the_kept_document_is_the_one_the_code_generates() -> None:
    assert KEPT.exists(), f"docs/openapi.json is missing: run `{REGENERATE}`"
    assert KEPT.read_text(encoding="utf-8") == openapi_text(), (
        f"docs/openapi.json is out of date: run `{REGENERATE}` and commit it"
    )


def test_the_served_document_is_the_kept_one(api: Api) -> None:
    served = api.anonymous.get("/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(KEPT.read_text(encoding="utf-8"))


def test_every_operation_has_a_readable_id_and_answers_problems(api: Api) -> None:
    document = api.anonymous.get("/v1/openapi.json").json()
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and all(i.isidentifier() for i in ids)
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    assert "application/problem+json" in answer["content"], (status, operation)
    assert "HTTPValidationError" not in document["components"]["schemas"]
