"""A small month for the portal tests: org-acme with an application, an add-on and a
credit, September billed and finalised; org-other with usage of its own. The clock of
`api_client` (NOW, 10 days into October 2026) is the portal's clock too."""

from __future__ import annotations

import re
from typing import Final

from .api_client import ApiClient, event, started, stopped

ACME: Final = "/v1/organizations/org-acme"
CSRF: Final = re.compile(r'name="csrf" value="([^"]+)"')


def seed(operator: ApiClient) -> None:
    events = [
        # September: 10 h of flavor M, a build, and a PostgreSQL add-on, to bill.
        started(1, "2026-09-03T08:00:00Z"),
        stopped(2, "2026-09-03T18:03:20Z"),  # 10-minute slices bill 18:10
        event(
            3,
            "addon.provisioned",
            "2026-09-05T00:00:00Z",
            addon_id="pg-1",
            provider="postgresql",
            plan="s",
            name="shop-db",
        ),
        # October: a run over three days, a short build, the add-on still there.
        started(4, "2026-10-02T09:00:00Z", instance="i-2"),
        stopped(5, "2026-10-04T09:30:00.5Z", instance="i-2"),
        {
            **started(6, "2026-10-06T10:00:00Z", instance="i-3", flavor="XS"),
            "data": {
                "instance_id": "i-3",
                "application_id": "app-api",
                "flavor": "XS",
                "role": "build",
            },
        },
        stopped(7, "2026-10-06T10:12:42Z", instance="i-3"),
        stopped(8, "2026-10-07T00:00:00Z", instance="i-404"),  # an anomaly (R4)
        started(9, "2026-09-30T20:00:00Z", instance="o-1", org="org-other"),
    ]
    profile = operator.patch(ACME, json={"name": "Acme SAS", "country": "FR"})
    assert profile.status_code == 200, profile.text  # Factur-X needs the buyer's country
    answer = operator.send_events(events)
    assert answer.status_code == 202, answer.text
    grant = operator.post(
        f"{ACME}/credits",
        json={"amount": "5.00", "kind": "promotional", "expires_at": "2026-12-31T00:00:00Z"},
    )
    assert grant.status_code in (200, 201), grant.text
    run = operator.post(
        "/v1/billing-runs",
        json={"period": "2026-09", "finalize": True, "organizations": ["org-acme"]},
    )
    assert run.status_code == 200, run.text
    assert run.json()["counts"]["finalized"] == 1, run.text
    # org-other's September is drafted only: the operator page reports it as not issued.
    draft = operator.post(
        "/v1/billing-runs", json={"period": "2026-09", "organizations": ["org-other"]}
    )
    assert draft.json()["counts"]["draft"] == 1, draft.text
    prepaid = operator.post(f"{ACME}/credits", json={"amount": "50.00", "kind": "prepaid"})
    assert prepaid.status_code in (200, 201), prepaid.text


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)
