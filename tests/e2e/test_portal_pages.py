"""The portal over HTTP, on SQLite and PostgreSQL: signing in, organisation isolation
(invariant 6: another organisation's page is a 404), CSRF, and the figures it shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf

from bysecond.services.keys import list_keys, revoke_key
from bysecond.settings import Settings, SettingsError
from bysecond.web.portal.daily import daily_costs
from bysecond.web.portal.session import portal_secret

from .api_client import NOW, ApiClient, new_api
from .conftest import Api
from .portal_seed import ACME, csrf_of, seed

SECRET = "portal-test-secret-0123456789-abcdefghij"
ORG_PAGES = ("", "/usage", "/credits", "/invoices")


@pytest.fixture
def portal(database) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    with new_api(database, Settings(portal_secret=SECRET)) as made:
        api = Api(*made, database=database)
        seed(api.operator)
        yield api


def sign_in(client: ApiClient) -> None:
    """Sign the test client's cookie jar in with this client's key."""
    http = client.client
    http.cookies.clear()
    form = http.get("/portal/sign-in")
    answer = http.post(
        "/portal/sign-in",
        data={"csrf": csrf_of(form.text), "key": client.secret},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def test_an_organisation_key_signs_in_to_its_overview(portal: Api) -> None:
    sign_in(portal.acme)
    cookie = portal.acme.client.cookies.jar
    (session,) = [c for c in cookie if c.name == "bysecond_portal"]
    assert session.has_nonstandard_attr("HttpOnly")
    page = portal.acme.client.get("/portal/orgs/org-acme")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    estimate = portal.acme.get(f"{ACME}/estimate").json()
    shown = re.search(r'id="so-far-total" data-amount="([^"]+)"', page.text)
    assert shown and Decimal(shown.group(1)) == Decimal(estimate["so_far"]["total"])
    projected = re.search(r'id="projected-total" data-amount="([^"]+)"', page.text)
    assert projected and projected.group(1) == estimate["projected"]["total"]


@pytest.mark.parametrize("suffix", ORG_PAGES)
def test_an_organisation_session_gets_404_on_another_organisations_pages(
    portal: Api, suffix: str
) -> None:
    sign_in(portal.acme)
    http = portal.acme.client
    assert http.get(f"/portal/orgs/org-acme{suffix}").status_code == 200
    theirs = http.get(f"/portal/orgs/org-other{suffix}")
    missing = http.get(f"/portal/orgs/org-nobody{suffix}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text  # nothing tells the two apart
    assert http.get("/portal/operator").status_code == 404


def test_another_organisations_invoice_and_its_pdf_are_404(portal: Api) -> None:
    (invoice,) = portal.acme.get(f"{ACME}/invoices").json()["invoices"]
    sign_in(portal.other)
    http = portal.other.client
    for suffix in ("", ".pdf", ".facturx.pdf", "/document"):
        assert (
            http.get(f"/portal/orgs/org-acme/invoices/{invoice['id']}{suffix}").status_code == 404
        )


def test_without_a_session_every_page_sends_to_sign_in(portal: Api) -> None:
    http = portal.anonymous.client
    http.cookies.clear()
    for path in ("/portal/orgs/org-acme", "/portal/operator", "/portal/orgs/org-acme/usage"):
        answer = http.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/portal/sign-in"


def test_a_forged_or_tampered_cookie_is_no_session(portal: Api) -> None:
    sign_in(portal.acme)
    http = portal.acme.client
    value = http.cookies["bysecond_portal"]
    body, signature = value.rsplit(".", 1)
    http.cookies.clear()
    http.cookies.set("bysecond_portal", body + "." + signature[::-1], path="/portal")
    assert http.get("/portal/orgs/org-acme", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(portal: Api) -> None:
    sign_in(portal.acme)
    http = portal.acme.client
    assert http.get("/portal/orgs/org-acme").status_code == 200
    with portal.database.unit_of_work() as uow:
        (key,) = list_keys(uow.session, "org-acme")
        revoke_key(uow.session, key.id, NOW)
        uow.commit()
    assert http.get("/portal/orgs/org-acme", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_http_only_same_site_lax_and_scoped_to_the_portal(
    portal: Api,
) -> None:
    http = portal.acme.client
    http.cookies.clear()
    form = http.get("/portal/sign-in")
    answer = http.post(
        "/portal/sign-in",
        data={"csrf": csrf_of(form.text), "key": portal.acme.secret},
        follow_redirects=False,
    )
    (session,) = [
        c for c in answer.headers.get_list("set-cookie") if c.startswith("bysecond_portal=")
    ]
    attributes = {part.strip().lower() for part in session.split(";")}
    assert {"httponly", "samesite=lax", "path=/portal"} <= attributes


def test_an_unset_portal_secret_is_replaced_by_a_random_one_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = portal_secret(""), portal_secret("")
    assert len(first) == 32 and first != second
    assert "BYSECOND_PORTAL_SECRET is not set" in caplog.text
    assert portal_secret(SECRET) == SECRET.encode()


def test_a_wrong_key_is_refused_and_sign_in_needs_its_form_token(portal: Api) -> None:
    http = portal.anonymous.client
    http.cookies.clear()
    form = http.get("/portal/sign-in")
    wrong = http.post("/portal/sign-in", data={"csrf": csrf_of(form.text), "key": "bys_nope"})
    assert wrong.status_code == 401 and "unknown or has been revoked" in wrong.text
    http.cookies.clear()
    forged = http.post(
        "/portal/sign-in", data={"csrf": "guess", "key": portal.acme.secret}, follow_redirects=False
    )
    assert forged.status_code == 403


def test_signing_out_needs_the_sessions_csrf_token(portal: Api) -> None:
    sign_in(portal.acme)
    http = portal.acme.client
    page = http.get("/portal/orgs/org-acme")
    refused = http.post("/portal/sign-out", data={"csrf": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403
    out = http.post("/portal/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert http.get("/portal/orgs/org-acme", follow_redirects=False).status_code == 303


def test_an_operator_opens_any_organisation_and_sees_the_last_billing_run(portal: Api) -> None:
    sign_in(portal.operator)
    http = portal.operator.client
    operator = http.get("/portal/operator")
    assert operator.status_code == 200
    assert "Period <strong>2026-09</strong>: 1 invoice finalised, 1 still draft" in operator.text
    assert "org-other</a>: drafted but not finalised" in operator.text
    assert 'href="/portal/orgs/org-other"' in operator.text
    assert http.get("/portal/orgs/org-other/usage").status_code == 200


def test_the_invoice_page_shows_the_json_totals_and_the_pdf_downloads(portal: Api) -> None:
    (listed,) = portal.acme.get(f"{ACME}/invoices").json()["invoices"]
    document = portal.acme.get(f"{ACME}/invoices/{listed['id']}").json()
    sign_in(portal.acme)
    http = portal.acme.client
    page = http.get(f"/portal/orgs/org-acme/invoices/{listed['id']}")
    shown = re.search(r'id="invoice-total" data-amount="([^"]+)"', page.text)
    assert shown and shown.group(1) == document["total"]
    saving = Decimal(document["comparison"]["subtotal"]) - Decimal(document["subtotal"])
    assert saving > 0 and f"€{saving} less than any started 10-minute slice" in page.text
    pdf = http.get(f"/portal/orgs/org-acme/invoices/{listed['id']}.pdf")
    assert pdf.content.startswith(b"%PDF")
    facturx = http.get(f"/portal/orgs/org-acme/invoices/{listed['id']}.facturx.pdf")
    assert facturx.content.startswith(b"%PDF")
    filename, _ = get_xml_from_pdf(facturx.content, check_xsd=False)
    assert filename == "factur-x.xml"  # the EN 16931 XML is attached
    embedded = http.get(f"/portal/orgs/org-acme/invoices/{listed['id']}/document")
    assert embedded.status_code == 200 and document["number"] in embedded.text


def test_usage_filters_by_resource_and_day_and_explains_anomalies(portal: Api) -> None:
    sign_in(portal.acme)
    http = portal.acme.client
    everything = http.get("/portal/orgs/org-acme/usage").text
    assert "app-shop" in everything and "app-api" in everything and "pg-1" in everything
    assert "reported stopped without having been started" in everything
    one = http.get("/portal/orgs/org-acme/usage", params={"resource": "app-api"}).text
    assert "<h2>app-api" in one and "<h2>app-shop" not in one
    day = http.get("/portal/orgs/org-acme/usage", params={"day": "2026-10-03"}).text
    assert "<h2>app-shop" in day and "<h2>app-api" not in day


def test_a_short_portal_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="BYSECOND_PORTAL_SECRET"):
        Settings.from_environment({"BYSECOND_PORTAL_SECRET": "changeme"})


def test_daily_costs_cut_a_run_at_each_midnight_and_round_each_day(portal: Api) -> None:
    with portal.database.unit_of_work(read_only=True) as uow:
        daily = daily_costs(uow.session, "org-acme", NOW)
    assert len(daily.days) == 31 and daily.days[0].isoformat() == "2026-10-01"
    (shop,) = [s for s in daily.series if s.resource_id == "app-shop"]
    # i-2, flavor M at 0.10/h: 15 h on Oct 2, 24 h on Oct 3, 9 h 30 min 0.5 s on Oct 4.
    zero = Decimal("0.00")
    assert shop.amounts[:5] == (zero, Decimal("1.50"), Decimal("2.40"), Decimal("0.95"), zero)
    assert all(amount == zero for amount in shop.amounts[10:])  # nothing after NOW
