"""`POST /v1/organizations/{org}/authorizations`: may it create this, paid by its credits?"""

from __future__ import annotations

from fastapi import APIRouter

from bysecond.core.money import currency, format_decimal
from bysecond.services.customers import organization
from bysecond.services.estimates import RequestError, authorization, requested

from ..deps import AppSettings, Db, Now, OrgScope
from ..problems import field_problem, responses
from ..schemas.authorizations import AuthorizationCreate, AuthorizationPublic

router = APIRouter(prefix="/organizations/{org}/authorizations", tags=["authorizations"])


@router.post(
    "",
    name="create_authorization",
    summary="Ask whether a resource may be created now",
    response_model=AuthorizationPublic,
    responses=responses(400, 401, 404, 422),
)
def create_authorization(
    org: OrgScope, body: AuthorizationCreate, db: Db, now: Now, settings: AppSettings
) -> AuthorizationPublic:
    """Allowed when the credits still cover the whole projected period with the request
    running from now (R10-R12); a postpaid organisation always is. Nothing is stored: the
    same question may be asked any number of times."""
    try:
        request = requested(
            price_key=body.price_key,
            flavor=body.flavor,
            addon=(body.addon.provider, body.addon.plan) if body.addon else None,
            duration_seconds=body.duration_seconds,
        )
    except RequestError as error:
        raise field_problem(error.field, error.message) from None
    with db.unit_of_work(read_only=True) as uow:
        decision = authorization(uow.session, settings.seller, org, now, request)
        code = organization(uow.session, org).currency
    cur = currency(code)
    return AuthorizationPublic(
        allowed=decision.allowed,
        balance=format_decimal(decision.balance, cur),
        projected_cost=format_decimal(decision.projected_cost, cur),
        reason=decision.reason,
        price_key=request.price_key,
        currency=code,
        as_of=now,
    )
