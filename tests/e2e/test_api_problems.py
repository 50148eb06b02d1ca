"""Every error is application/problem+json (RFC 9457), FastAPI's own ones included."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bysecond.api import create_app
from bysecond.settings import Settings
from bysecond.store.database import Database

from .api_client import ApiClient, TestClient, keys, new_api
from .conftest import Api

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


def _is_problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert set(body) >= PROBLEM_MEMBERS and body["status"] == status
    return body


def test_a_validation_error_names_each_field_in_detail_and_in_errors(api: Api) -> None:
    answer = api.operator.post(
        "/v1/organizations/org-acme/credits",
        json={"amount": "ten", "kind": "prepaid", "priority": "first"},
    )
    problem = _is_problem(answer, 422)
    assert problem["type"] == "urn:bysecond:problem:validation-error"
    fields = {(e["field"], e["location"]) for e in problem["errors"]}
    assert fields == {("amount", "body"), ("priority", "body")}
    assert "amount:" in str(problem["detail"]) and "priority:" in str(problem["detail"])
    query = _is_problem(api.acme.get("/v1/organizations/org-acme/invoices?limit=0"), 422)
    assert query["errors"] == [
        {"field": "limit", "location": "query", "message": query["errors"][0]["message"]}
    ]
    header = api.operator.post(
        "/v1/organizations/org-acme/credits",
        json={"amount": "1.00", "kind": "prepaid"},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert _is_problem(header, 422)["errors"][0]["field"] == "Idempotency-Key"


def test_a_json_body_that_does_not_parse_answers_400(api: Api) -> None:
    answer = api.operator.post(
        "/v1/billing-runs", content=b'{"period": ', headers={"Content-Type": "application/json"}
    )
    assert "malformed JSON" in str(_is_problem(answer, 400)["detail"])


def test_unknown_paths_and_methods_answer_problems(api: Api) -> None:
    assert _is_problem(api.operator.get("/v1/nothing-here"), 404)["instance"] == "/v1/nothing-here"
    not_allowed = api.operator.request("DELETE", "/v1/catalog")
    _is_problem(not_allowed, 405)
    assert not_allowed.headers["allow"] == "GET"


def test_an_unexpected_error_answers_500_without_internals(database: Database) -> None:
    def broken_clock() -> datetime:
        raise RuntimeError("the clock fell off the wall")

    operator, _, _ = keys(database)
    app = create_app(database, Settings(), clock=broken_clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = ApiClient(client, operator).get("/v1/catalog")
    problem = _is_problem(answer, 500)
    assert "clock" not in str(problem["detail"])


def test_the_limit_applies_to_every_body(database: Database) -> None:
    with new_api(database, Settings(max_body_bytes=1024)) as (operator, *_):
        answer = operator.patch("/v1/organizations/org-acme", json={"name": "x" * 2000})
    _is_problem(answer, 413)
