"""`GET /v1/organizations/{org}/usage?from=&to=`: pieces and anomalies (R2-R6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from bysecond.services.usage import WindowError, usage_report

from ..deps import Db, Now, OrgScope
from ..problems import field_problem, responses
from ..schemas.usage import UsagePublic

router = APIRouter(prefix="/organizations/{org}/usage", tags=["usage"])


@router.get(
    "",
    name="read_usage",
    summary="Read an organisation's usage in a window",
    response_model=UsagePublic,
    responses=responses(401, 404, 422),
)
def read_usage(
    org: OrgScope,
    db: Db,
    now: Now,
    start: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="RFC 3339. Default: the current period's start."),
    ] = None,
    end: Annotated[
        AwareDatetime | None,
        Query(alias="to", description="RFC 3339, excluded. Default: now."),
    ] = None,
) -> UsagePublic:
    try:
        with db.unit_of_work(read_only=True) as uow:
            report = usage_report(uow.session, org, now, start, end)
    except WindowError as error:
        raise field_problem(error.field, error.message, "query") from None
    return UsagePublic.of(report)
