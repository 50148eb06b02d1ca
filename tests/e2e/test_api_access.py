"""Who may do what: operator keys everything, an organisation key its own organisation only.

Another organisation's resource answers 404 exactly as a missing one does (invariant 6),
and a request without a valid key answers 401 with a Bearer challenge.
"""

from __future__ import annotations

from typing import Any

import pytest

from bysecond.core.invoice import invoice_id
from bysecond.services.keys import list_keys, revoke_key

from .api_client import NOW, started, stopped
from .conftest import Api

OTHER_INVOICE = invoice_id("org-other", "2026-09")
# Every organisation-scoped operation, with a body it would accept.
ORG_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/organizations/{org}", None),
    ("PATCH", "/v1/organizations/{org}", {"name": "Acme SAS"}),
    ("GET", "/v1/organizations/{org}/usage", None),
    ("GET", "/v1/organizations/{org}/estimate", None),
    ("GET", "/v1/organizations/{org}/credits", None),
    ("POST", "/v1/organizations/{org}/credits", {"amount": "10.00", "kind": "prepaid"}),
    ("POST", "/v1/organizations/{org}/tasks", {"description": "Restore", "amount": "5.00"}),
    ("POST", "/v1/organizations/{org}/authorizations", {"flavor": "M"}),
    ("GET", "/v1/organizations/{org}/invoices", None),
    ("GET", "/v1/organizations/{org}/invoices/{invoice_id}", None),
    ("GET", "/v1/organizations/{org}/invoices/{invoice_id}.html", None),
    ("GET", "/v1/organizations/{org}/invoices/{invoice_id}.pdf", None),
    ("GET", "/v1/organizations/{org}/invoices/{invoice_id}.facturx.pdf", None),
]
OTHER_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/events", None),
    ("GET", "/v1/catalog", None),
    ("POST", "/v1/billing-runs", {"period": "2026-09"}),
]


def _path(template: str, org: str) -> str:
    return template.format(org=org, invoice_id=OTHER_INVOICE)


@pytest.fixture
def other_has_an_invoice(api: Api) -> None:
    """org-other, in France, used an instance in September, and its invoice was issued."""
    profile = api.operator.patch("/v1/organizations/org-other", json={"country": "FR"})
    assert profile.status_code == 200, profile.text
    answer = api.operator.send_events(
        [
            started(1, "2026-09-10T00:00:00Z", org="org-other"),
            stopped(2, "2026-09-10T10:00:00Z", org="org-other"),
        ]
    )
    assert answer.status_code == 202, answer.text
    run = api.operator.post("/v1/billing-runs", json={"period": "2026-09", "finalize": True})
    assert run.json()["counts"]["finalized"] == 1, run.text


def test_the_list_of_organisation_endpoints_is_every_one_of_the_document(api: Api) -> None:
    document = api.anonymous.get("/v1/openapi.json").json()
    scoped = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if "{org}" in path
    }
    assert scoped == {(method, path) for method, path, _ in ORG_ENDPOINTS}


@pytest.mark.parametrize(("method", "template", "body"), ORG_ENDPOINTS)
def test_another_organisations_resource_answers_404_exactly_as_a_missing_one(
    api: Api, other_has_an_invoice: None, method: str, template: str, body: dict[str, Any] | None
) -> None:
    for org in ("org-other", "org-ghost"):  # another organisation's, then nobody's
        path = _path(template, org)
        answer = api.acme.request(method, path, json=body)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json() == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": f"no organization {org!r}",
            "instance": path,
        }
    # The operator does see org-other's resource: the 404 above was the key's scope.
    seen = api.operator.request(method, _path(template, "org-other"), json=body)
    assert seen.status_code in (200, 201), seen.text


@pytest.mark.parametrize(("method", "template", "body"), ORG_ENDPOINTS + OTHER_ENDPOINTS)
def test_no_key_answers_401_with_a_bearer_challenge(
    api: Api, method: str, template: str, body: dict[str, Any] | None
) -> None:
    answer = api.anonymous.request(method, _path(template, "org-acme"), json=body)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 401


def test_an_unknown_or_revoked_key_answers_401(api: Api) -> None:
    for secret in ("bys_not-a-key", "not even the format"):
        answer = api.anonymous.get("/v1/catalog", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 401
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert api.acme.get("/v1/organizations/org-acme").status_code == 200
    key_id = _key_id(api, "org-acme")
    with api.database.unit_of_work() as uow:
        revoke_key(uow.session, key_id, NOW)
        uow.commit()
    answer = api.acme.get("/v1/organizations/org-acme")
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the API key is unknown or revoked"


def _key_id(api: Api, organization_id: str) -> str:
    with api.database.unit_of_work(read_only=True) as uow:
        (key,) = list_keys(uow.session, organization_id)
    return key.id


def test_an_organisation_key_reads_its_own_organisation(api: Api) -> None:
    for path in (
        "/v1/organizations/org-acme",
        "/v1/organizations/org-acme/usage",
        "/v1/organizations/org-acme/estimate",
        "/v1/organizations/org-acme/credits",
        "/v1/organizations/org-acme/invoices",
        "/v1/catalog",
    ):
        assert api.acme.get(path).status_code == 200, path
    decision = api.acme.post("/v1/organizations/org-acme/authorizations", json={"flavor": "XS"})
    assert decision.status_code == 200


def test_an_organisation_key_changes_its_profile_and_nothing_else(api: Api) -> None:
    changed = api.acme.patch("/v1/organizations/org-acme", json={"name": "Acme SAS"})
    assert changed.status_code == 200 and changed.json()["name"] == "Acme SAS"
    refused = [
        api.acme.patch("/v1/organizations/org-acme", json={"postpaid": True}),
        api.acme.post(
            "/v1/organizations/org-acme/credits", json={"amount": "100.00", "kind": "prepaid"}
        ),
        api.acme.post(
            "/v1/organizations/org-acme/tasks", json={"description": "x", "amount": "1.00"}
        ),
        api.acme.send_events([started(1, "2026-10-01T00:00:00Z")]),
        api.acme.post("/v1/billing-runs", json={"period": "2026-09"}),
    ]
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert all(a.headers["content-type"] == "application/problem+json" for a in refused)
    profile = api.operator.get("/v1/organizations/org-acme").json()
    assert profile["postpaid"] is False
    credits = api.operator.get("/v1/organizations/org-acme/credits").json()
    assert credits["grants"] == []
