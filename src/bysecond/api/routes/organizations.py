"""`GET|PATCH /v1/organizations/{org}`: the profile."""

from __future__ import annotations

from fastapi import APIRouter

from bysecond.services.profiles import NotAllowed, ProfileError, read_profile, update_profile

from ..deps import CurrentKey, Db, OrgScope
from ..problems import FieldError, Problem, fields_problem, responses
from ..schemas.organizations import OrganizationPublic, OrganizationUpdate

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get(
    "/{org}",
    name="read_organization",
    summary="Read an organisation's profile",
    response_model=OrganizationPublic,
    responses=responses(401, 404, 422),
)
def read_organization(org: OrgScope, db: Db) -> OrganizationPublic:
    with db.unit_of_work(read_only=True) as uow:
        return OrganizationPublic.of(read_profile(uow.session, org))


@router.patch(
    "/{org}",
    name="update_organization",
    summary="Complete or change an organisation's profile",
    response_model=OrganizationPublic,
    responses=responses(400, 401, 403, 404, 422),
)
def update_organization(
    org: OrgScope, changes: OrganizationUpdate, key: CurrentKey, db: Db
) -> OrganizationPublic:
    """The organisation's own key may change its profile; `postpaid` is the operator's."""
    try:
        with db.unit_of_work() as uow:
            profile = update_profile(
                uow.session, org, changes.model_dump(exclude_unset=True), operator=key.is_operator
            )
            uow.commit()
    except NotAllowed as error:
        raise Problem(403, str(error)) from None
    except ProfileError as error:
        raise fields_problem(
            [FieldError(field=f, location="body", message=m) for f, m in error.errors]
        ) from None
    return OrganizationPublic.of(profile)
