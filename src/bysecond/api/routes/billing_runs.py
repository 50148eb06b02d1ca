"""`POST /v1/billing-runs`: bill a period (operator), as `bysecond bill` does (R13, R14)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from bysecond.core.period import PeriodError
from bysecond.services.billing_runs import PeriodNotOver, run_billing
from bysecond.services.customers import UnknownOrganization
from bysecond.services.idempotency import Answer, IdempotencyMismatch, once

from ..deps import AppSettings, Db, Idempotency, Now, OperatorKey
from ..problems import PROBLEM_TYPES, Problem, field_problem, idempotency_problem, responses
from ..responses import answer, respond
from ..schemas.billing_runs import BillingRunCreate, BillingRunPublic

router = APIRouter(prefix="/billing-runs", tags=["billing runs"])


@router.post(
    "",
    name="create_billing_run",
    summary="Bill a period",
    response_model=BillingRunPublic,
    responses=responses(400, 401, 403, 409, 422),
)
def create_billing_run(
    body: BillingRunCreate,
    key: OperatorKey,
    db: Db,
    now: Now,
    settings: AppSettings,
    scope: Idempotency,
) -> Response:
    """Operator keys only. Each organisation is billed in its own transaction; running
    the same period again issues nothing new. An invoice whose usage has no price is
    left a draft with the reason (`refused`)."""

    def run() -> Answer:
        report = run_billing(
            db,
            settings.seller,
            body.period,
            now,
            finalize=body.finalize,
            organizations=body.organizations,
        )
        return answer(BillingRunPublic.of(report))

    try:
        return respond(once(db, scope, run))
    except IdempotencyMismatch as error:
        raise idempotency_problem(str(error)) from None
    except PeriodError as error:
        raise field_problem("period", str(error)) from None
    except PeriodNotOver as error:
        raise Problem(
            409, str(error), type=PROBLEM_TYPES["period"], title="Period not over"
        ) from None
    except UnknownOrganization as error:
        raise field_problem("organizations", str(error)) from None
