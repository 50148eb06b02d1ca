"""Worked examples through HTTP: estimate, authorisations, credits, tasks, billing runs,
invoices. The API's clock is 2026-10-11 00:00 UTC: 10 days of October gone, 21 to go."""

from __future__ import annotations

from typing import Any

import orjson

from bysecond.services.invoices import stored_document
from bysecond.services.keys import issue_key
from bysecond.store.events import count_events

from .api_client import NOW, event, started, stopped
from .conftest import Api

ACME = "/v1/organizations/org-acme"


def test_the_estimate_bills_so_far_and_projects_running_resources_to_period_end(
    api: Api,
) -> None:
    answer = api.operator.send_events(
        [
            started(1, "2026-10-01T00:00:00Z"),  # runs all month: 240 h so far, 744 h projected
            started(2, "2026-10-05T00:00:00Z", instance="i-2"),
            stopped(3, "2026-10-06T00:00:00Z", instance="i-2"),  # 24 h, ended
        ]
    )
    assert answer.status_code == 202
    estimate = api.acme.get(f"{ACME}/estimate")
    assert estimate.status_code == 200, estimate.text
    body = estimate.json()
    assert body["as_of"] == "2026-10-11T00:00:00Z"
    assert body["period"]["key"] == "2026-10"
    so_far = body["so_far"]
    assert so_far["status"] == "draft" and so_far["number"] is None
    assert so_far["subtotal"] == "26.40"  # (240 h + 24 h) x 0.10 EUR/h
    assert so_far["total"] == "31.68"  # + 20 % VAT (R11)
    assert body["projected"] == {
        "subtotal": "76.80",  # (744 h + 24 h) x 0.10
        "promotional_credits_applied": "0.00",
        "taxable_amount": "76.80",
        "vat_amount": "15.36",
        "total": "92.16",
        "prepaid_credits_applied": "0.00",
        "amount_due": "92.16",
    }
    # The draft embedded is the invoice document itself, not a re-encoding of it.
    raw = estimate.content
    assert b'"so_far":{"id":"inv_' in raw


def test_an_addon_is_allowed_while_the_credits_cover_the_projected_period(api: Api) -> None:
    grant = api.operator.post(f"{ACME}/credits", json={"amount": "20.00", "kind": "promotional"})
    assert grant.status_code == 201, grant.text
    ask = {"addon": {"provider": "postgresql", "plan": "s"}}
    decision = api.acme.post(f"{ACME}/authorizations", json=ask)
    assert decision.status_code == 200, decision.text
    # 21 days of a 10 EUR/month plan: 10 x 504 / 720 = 7.00, paid by the credit before VAT.
    assert decision.json() == {
        "allowed": True,
        "balance": "20.00",
        "projected_cost": "0.00",
        "reason": "credits cover the projected cost to period end",
        "price_key": "addon.postgresql.s",
        "currency": "EUR",
        "as_of": "2026-10-11T00:00:00Z",
    }
    bigger = api.acme.post(f"{ACME}/authorizations", json={"price_key": "addon.postgresql.m"})
    # 21 days of the 30 EUR plan: 21.00; the credit pays 20.00; 1.00 + 20 % VAT = 1.20.
    assert bigger.json()["allowed"] is False
    assert bigger.json()["projected_cost"] == "1.20"
    assert "1.20 EUR" in bigger.json()["reason"]
    short = api.acme.post(f"{ACME}/authorizations", json={"flavor": "S", "duration_seconds": 3600})
    assert short.json()["allowed"] is True


def test_a_postpaid_organisation_is_always_allowed(api: Api) -> None:
    ask = {"flavor": "3XL"}
    assert api.acme.post(f"{ACME}/authorizations", json=ask).json()["allowed"] is False
    assert api.operator.patch(ACME, json={"postpaid": True}).status_code == 200
    decision = api.acme.post(f"{ACME}/authorizations", json=ask).json()
    assert decision["allowed"] is True and "postpaid" in decision["reason"]


def test_an_authorisation_asks_for_exactly_one_thing(api: Api) -> None:
    for body in ({}, {"flavor": "M", "price_key": "instance.M"}, {"price_key": "task.x"}):
        answer = api.acme.post(f"{ACME}/authorizations", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] in ("body", "price_key")


def test_a_retried_grant_with_the_same_idempotency_key_grants_once(api: Api) -> None:
    body = {"amount": "50.00", "kind": "prepaid", "reason": "bank transfer 1234"}
    headers = {"Idempotency-Key": "transfer-1234"}
    first = api.operator.post(f"{ACME}/credits", json=body, headers=headers)
    retried = api.operator.post(f"{ACME}/credits", json=body, headers=headers)
    assert (first.status_code, retried.status_code) == (201, 201)
    assert retried.content == first.content  # the stored answer, byte for byte
    assert retried.headers["idempotent-replayed"] == "true"
    credits = api.operator.get(f"{ACME}/credits").json()
    assert len(credits["grants"]) == 1
    assert credits["balance"] == "50.00"
    assert [entry["kind"] for entry in credits["ledger"]] == ["granted"]
    other_body = api.operator.post(
        f"{ACME}/credits", json={**body, "amount": "60.00"}, headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "urn:bysecond:problem:idempotency-key-reused"
    # Idempotency keys are scoped per API key: another operator's is another request.
    with api.database.unit_of_work() as uow:
        colleague = issue_key(uow.session, organization_id=None, name="colleague", now=NOW)
        uow.commit()
    theirs = api.anonymous.post(
        f"{ACME}/credits",
        json={**body, "reason": "bank transfer 5678"},
        headers={**headers, "Authorization": f"Bearer {colleague.secret}"},
    )
    assert theirs.status_code == 201, theirs.text
    assert api.operator.get(f"{ACME}/credits").json()["balance"] == "100.00"


def test_a_grant_names_the_field_it_refuses(api: Api) -> None:
    cases = [
        ({"amount": "10.001", "kind": "prepaid"}, "amount"),
        ({"amount": 10, "kind": "prepaid"}, "amount"),  # a JSON number is never money
        (
            {"amount": "10.00", "kind": "prepaid", "expires_at": "2027-01-01T00:00:00Z"},
            "expires_at",
        ),
        (
            {"amount": "10.00", "kind": "promotional", "expires_at": "2026-10-01T00:00:00Z"},
            "expires_at",
        ),
        ({"amount": "10.00", "kind": "gift"}, "kind"),
    ]
    for body, field in cases:
        answer = api.operator.post(f"{ACME}/credits", json=body)
        assert answer.status_code == 422, (body, answer.text)
        problem = answer.json()
        assert problem["errors"][0]["field"] == field, problem
        assert field in problem["detail"]


def test_a_task_is_billed_once_and_paid_by_credits(api: Api) -> None:
    headers = {"Idempotency-Key": "ticket-77"}
    body = {"description": "Database migration", "amount": "80.00", "at": "2026-10-10T12:00:00Z"}
    first = api.operator.post(f"{ACME}/tasks", json=body, headers=headers)
    again = api.operator.post(f"{ACME}/tasks", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.content == first.content
    task = first.json()
    assert task["status"] == "accepted" and task["amount"] == "80.00"
    same_id = api.operator.post(f"{ACME}/tasks", json={**body, "task_id": task["task_id"]})
    assert same_id.status_code == 200 and same_id.json()["status"] == "duplicate"
    with api.database.unit_of_work(read_only=True) as uow:
        assert count_events(uow.connection) == 1
    api.operator.post(f"{ACME}/credits", json={"amount": "100.00", "kind": "prepaid"})
    estimate = api.acme.get(f"{ACME}/estimate").json()
    assert estimate["so_far"]["subtotal"] == "80.00"
    # R10, R11: the prepaid grant settles the total, VAT included: 96.00.
    assert estimate["so_far"]["prepaid_credits_applied"] == "96.00"
    assert estimate["projected"]["amount_due"] == "0.00"
    assert api.acme.get(f"{ACME}/credits").json()["balance"] == "4.00"


def test_a_task_refused_by_ingestion_names_the_body_field(api: Api) -> None:
    future = api.operator.post(
        f"{ACME}/tasks",
        json={"description": "x", "amount": "1.00", "at": "2026-11-01T00:00:00Z"},
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "at"
    neither = api.operator.post(f"{ACME}/tasks", json={"description": "x"})
    assert neither.status_code == 422


def test_usage_lists_pieces_with_their_seconds_and_anomalies(api: Api) -> None:
    api.operator.send_events(
        [
            started(1, "2026-10-02T00:00:00Z"),
            stopped(2, "2026-10-02T00:12:42Z"),  # R6: 762 s
            stopped(3, "2026-10-03T00:00:00Z", instance="i-ghost"),  # R4: an anomaly
            started(4, "2026-10-04T00:00:00.5Z", instance="i-2", flavor="XS"),
        ]
    )
    usage = api.acme.get(f"{ACME}/usage").json()
    assert (usage["start"], usage["end"]) == ("2026-10-01T00:00:00Z", "2026-10-11T00:00:00Z")
    first, second = usage["pieces"]
    assert (first["elapsed_seconds"], first["billed_seconds"], first["open"]) == ("762", 762, False)
    assert second["elapsed_seconds"] == "604799.5" and second["billed_seconds"] == 604800
    assert second["open"] is True
    assert [a["kind"] for a in usage["anomalies"]] == ["stop_without_start"]
    window = api.acme.get(
        f"{ACME}/usage", params={"from": "2026-10-02T00:00:00Z", "to": "2026-10-02T00:10:00Z"}
    ).json()
    assert [p["billed_seconds"] for p in window["pieces"]] == [600]
    naive = api.acme.get(f"{ACME}/usage", params={"from": "2026-10-02T00:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
    backwards = api.acme.get(
        f"{ACME}/usage", params={"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"


def _month_of_usage(number: int, month: int) -> list[dict[str, Any]]:
    return [
        started(number, f"2026-{month:02d}-10T00:00:00Z", instance=f"i-{month}"),
        stopped(number + 1, f"2026-{month:02d}-10T10:00:00Z", instance=f"i-{month}"),
    ]


def test_pagination_walks_every_invoice_once(api: Api) -> None:
    events = [e for month in range(2, 10) for e in _month_of_usage(month * 10, month)]
    assert api.operator.send_events(events).status_code == 202
    issued = []
    for month in range(2, 10):
        run = api.operator.post("/v1/billing-runs", json={"period": f"2026-{month:02d}"})
        assert run.status_code == 200, run.text
        issued.append(run.json()["organizations"][0])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.acme.get(f"{ACME}/invoices", params=params).json()
        seen += [invoice["period"] for invoice in page["invoices"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"2026-{m:02d}" for m in range(9, 1, -1)]  # newest first, each once
    assert all(r["outcome"] == "draft" for r in issued)
    bad = api.acme.get(f"{ACME}/invoices", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


def test_a_billing_run_issues_invoices_read_by_id_or_number_as_stored(api: Api) -> None:
    api.operator.patch(ACME, json={"country": "FR", "name": "Acme SAS"})
    api.operator.send_events(_month_of_usage(10, 9))
    too_early = api.operator.post("/v1/billing-runs", json={"period": "2026-10", "finalize": True})
    assert too_early.status_code == 409
    body = {"period": "2026-09", "finalize": True}
    headers = {"Idempotency-Key": "run-2026-09"}
    run = api.operator.post("/v1/billing-runs", json=body, headers=headers)
    assert run.status_code == 200, run.text
    report = run.json()
    assert report["counts"]["finalized"] == 1
    (acme,) = [r for r in report["organizations"] if r["organization_id"] == "org-acme"]
    assert acme["subtotal"] == "1.00" and acme["number"] == "2026-000001"
    replay = api.operator.post("/v1/billing-runs", json=body, headers=headers)
    assert replay.content == run.content
    again = api.operator.post("/v1/billing-runs", json=body).json()
    assert again["counts"]["already_final"] == 1  # R13: nothing new is issued
    assert again["counts"]["finalized"] == 0
    with api.database.unit_of_work(read_only=True) as uow:
        stored = stored_document(uow.session, "org-acme", "2026-09")
    by_number = api.acme.get(f"{ACME}/invoices/2026-000001")
    invoice_id = orjson.loads(stored)["id"]
    by_id = api.acme.get(f"{ACME}/invoices/{invoice_id}")
    assert by_number.content == stored == by_id.content  # byte for byte (R13)
    assert by_number.headers["content-type"] == "application/json"
    html = api.acme.get(f"{ACME}/invoices/2026-000001.html")
    negotiated = api.acme.get(f"{ACME}/invoices/2026-000001", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.text == negotiated.text and "2026-000001" in html.text
    pdf = api.acme.get(f"{ACME}/invoices/{invoice_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    missing = api.acme.get(f"{ACME}/invoices/2026-999999")
    assert missing.status_code == 404


def test_a_draft_has_no_factur_x_form(api: Api) -> None:
    api.operator.send_events(_month_of_usage(10, 9))
    api.operator.post("/v1/billing-runs", json={"period": "2026-09"})
    (summary,) = api.acme.get(f"{ACME}/invoices").json()["invoices"]
    answer = api.acme.get(f"{ACME}/invoices/{summary['id']}.facturx.pdf")
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:bysecond:problem:not-an-e-invoice"


def test_the_profile_is_validated_field_by_field(api: Api) -> None:
    good = api.acme.patch(
        ACME,
        json={
            "country": "de",
            "vat_number": "DE136695976",
            "time_zone": "Europe/Berlin",
            "policy": "10-minute-slices",
            "locale": "de-DE",
        },
    )
    assert good.status_code == 200, good.text
    assert good.json()["country"] == "DE" and good.json()["time_zone"] == "Europe/Berlin"
    bad = api.acme.patch(
        ACME,
        json={
            "country": "XX",
            "vat_number": "FR00000000000",
            "time_zone": "Mars/Olympus",
            "policy": "by-the-hour",
            "locale": "zz-ZZ-x",
        },
    )
    assert bad.status_code == 422
    fields = sorted(error["field"] for error in bad.json()["errors"])
    assert fields == ["country", "locale", "policy", "time_zone", "vat_number"]
    wrong_vat = api.acme.patch(ACME, json={"vat_number": "DE000000000"})
    assert [e["field"] for e in wrong_vat.json()["errors"]] == ["vat_number"]
    unknown = api.acme.patch(ACME, json={"currency": "USD"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "currency"
    reset = api.acme.patch(ACME, json={"time_zone": None, "country": None})
    assert (reset.json()["time_zone"], reset.json()["country"]) == ("UTC", None)


def test_the_catalog_shows_prices_in_force_with_their_history(api: Api) -> None:
    catalog = api.acme.get("/v1/catalog").json()
    prices = {(p["key"], p["currency"]): p for p in catalog["prices"]}
    flavor_m = prices[("instance.M", "EUR")]
    assert flavor_m["in_force"]["amount"] == "0.10" and flavor_m["in_force"]["unit"] == "hour"
    assert flavor_m["versions"] == [flavor_m["in_force"]]
    assert prices[("addon.postgresql.s", "EUR")]["in_force"]["unit"] == "month"


def test_an_unknown_event_type_is_rejected_with_its_field(api: Api) -> None:
    answer = api.operator.send_events([event(1, "instance.exploded", "2026-10-03T12:00:00Z")])
    assert answer.status_code == 422
    assert answer.json()["events"][0]["field"] == "type"
