"""`GET /v1/organizations/{org}/estimate`: the period so far and projected to its end."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from bysecond.core.document import canonical_json
from bysecond.core.period import rfc3339
from bysecond.services.estimates import current_estimate

from ..deps import AppSettings, Db, Now, OrgScope
from ..problems import responses
from ..schemas.estimates import EstimatePublic, PeriodOut, ProjectedTotals

router = APIRouter(prefix="/organizations/{org}/estimate", tags=["estimates"])


@router.get(
    "",
    name="read_estimate",
    summary="Estimate the current period",
    response_model=EstimatePublic,
    responses=responses(401, 404, 422),
)
def read_estimate(org: OrgScope, db: Db, now: Now, settings: AppSettings) -> Response:
    """`so_far` is the draft invoice document of the period up to now; `projected` the
    totals at period end, every running instance and add-on continued to it (R4)."""
    with db.unit_of_work(read_only=True) as uow:
        result = current_estimate(uow.session, settings.seller, org, now)
    so_far = result.so_far
    period = PeriodOut(
        key=so_far.period.key,
        start=so_far.period.start,
        end=so_far.period.end,
        time_zone=so_far.period.time_zone,
    )
    projected = ProjectedTotals.of(result.projected, so_far.customer.currency)
    payload = {
        "organization_id": org,
        "as_of": rfc3339(now),
        "currency": so_far.customer.currency,
        "period": period.model_dump(mode="json"),
        # The document's own canonical bytes, as billing would store them (R16).
        "so_far": orjson.Fragment(canonical_json(so_far.document())),
        "projected": projected.model_dump(mode="json"),
    }
    return Response(orjson.dumps(payload), media_type="application/json")
