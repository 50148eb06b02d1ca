"""`GET|POST /v1/organizations/{org}/credits`: grants, balance, ledger; new grants (R10)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import Response

from bysecond.services.credit_accounts import GrantError, credit_account, give_grant
from bysecond.services.idempotency import Answer, IdempotencyMismatch, once_in_transaction

from ..deps import AppSettings, Db, Idempotency, Now, OperatorOrgScope, OrgScope
from ..problems import Problem, field_problem, idempotency_problem, responses
from ..responses import answer, respond
from ..schemas.credits import CreditsPublic, GrantCreate, GrantPublic

router = APIRouter(prefix="/organizations/{org}/credits", tags=["credits"])


@router.get(
    "",
    name="read_credits",
    summary="Read grants, balance and ledger",
    response_model=CreditsPublic,
    responses=responses(401, 404, 422),
)
def read_credits(org: OrgScope, db: Db, now: Now, settings: AppSettings) -> CreditsPublic:
    """The balance is live: what remains after issued invoices, minus what the current
    period's draft so far takes (R10)."""
    with db.unit_of_work(read_only=True) as uow:
        return CreditsPublic.of(credit_account(uow.session, settings.seller, org, now))


@router.post(
    "",
    name="grant_credits",
    summary="Grant credit",
    status_code=201,
    response_model=GrantPublic,
    responses=responses(400, 401, 403, 404, 409, 422),
)
def grant_credits(
    org: OperatorOrgScope, body: GrantCreate, db: Db, now: Now, scope: Idempotency
) -> Response:
    """Operator keys only. The grant pays any line of this and later invoices (R10)."""

    def grant(session: Session) -> Answer:
        row = give_grant(
            session,
            org,
            amount=body.amount,
            kind=body.kind,
            now=now,
            expires_at=body.expires_at,
            priority=body.priority,
            reason=body.reason,
            grant_id=body.grant_id,
        )
        return answer(GrantPublic.of(row), 201)

    try:
        return respond(once_in_transaction(db, scope, grant))
    except IdempotencyMismatch as error:
        raise idempotency_problem(str(error)) from None
    except GrantError as error:
        if error.conflict:
            raise Problem(409, error.message) from None
        raise field_problem(error.field, error.message) from None
