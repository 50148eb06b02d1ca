"""What routes depend on, as `Annotated` aliases: the database, the clock, the settings,
the key presented, and the organisation it may see.

Authorisation happens here, once: an organisation key that names another organisation
gets exactly the answer a missing organisation gets (404), so keys learn nothing about
organisations that are not theirs (invariant 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Header, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bysecond.services.idempotency import MAX_KEY_LENGTH, Scope, request_hash
from bysecond.services.keys import Principal, authenticate
from bysecond.settings import Settings
from bysecond.store.database import Database
from bysecond.store.schema import Organization

from .problems import FieldError, Problem, fields_problem

Clock = Callable[[], datetime]
# Dependencies that do no I/O are `async`: FastAPI runs them inline instead of sending
# each one to the thread pool, which the events route would pay on every request.
CHALLENGE: Final = 'Bearer realm="bysecond"'


@dataclass(frozen=True)
class ApiState:
    """What `create_app` was given; kept on the application, never global."""

    database: Database
    settings: Settings
    clock: Clock


async def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.bysecond
    return state


State = Annotated[ApiState, Depends(_state)]


async def _database(state: State) -> Database:
    return state.database


async def _settings(state: State) -> Settings:
    return state.settings


async def _now(state: State) -> datetime:
    # One reading per request: every dependency and the route see the same instant.
    return state.clock()


Db = Annotated[Database, Depends(_database)]
AppSettings = Annotated[Settings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key, `bys_...`: an operator key, or an organisation's key.",
)


def _current_key(
    db: Db, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Problem(
            401,
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    with db.unit_of_work(read_only=True) as uow:
        principal = authenticate(uow.session, credentials.credentials)
    if principal is None:
        raise Problem(
            401,
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    return principal


CurrentKey = Annotated[Principal, Depends(_current_key)]


async def _operator_key(key: CurrentKey) -> Principal:
    if not key.is_operator:
        raise Problem(403, "only an operator key may do this")
    return key


OperatorKey = Annotated[Principal, Depends(_operator_key)]

OrgPath = Annotated[
    str,
    Path(
        max_length=128,
        description="The organisation's id: the `subject` of its events.",
        examples=["org-acme"],
    ),
]


def _organization_scope(org: OrgPath, key: CurrentKey, db: Db) -> str:
    """The organisation of the path, if this key may see it; else 404, as for a missing one."""
    if key.may_see(org):
        with db.unit_of_work(read_only=True) as uow:
            if uow.session.get(Organization, org) is not None:
                return org
    raise Problem(404, f"no organization {org!r}")


OrgScope = Annotated[str, Depends(_organization_scope)]


async def _operator_organization_scope(org: OrgScope, key: CurrentKey) -> str:
    # 404 before 403: another organisation's key learns nothing from an operator action.
    await _operator_key(key)
    return org


OperatorOrgScope = Annotated[str, Depends(_operator_organization_scope)]


async def _idempotency(
    request: Request,
    key: CurrentKey,
    now: Now,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            pattern=r"^[\x20-\x7e]+$",  # printable ASCII, as a header value should be
            description="Makes a retried request take effect once: the same key and body"
            " get the first answer again; the same key with another body is refused (422).",
        ),
    ] = None,
) -> Scope | None:
    if idempotency_key is None:
        return None
    body = await request.body()  # read once by Starlette, and cached for the route
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Scope(key.key_id, idempotency_key, request_hash(request.method, target, body), now)


Idempotency = Annotated[Scope | None, Depends(_idempotency)]


async def clean_request_target(request: Request) -> None:
    """Refuse NUL in the path or the query: no identifier holds it, and PostgreSQL
    cannot even compare text with it."""
    query = request.query_params.multi_items()
    if "\x00" in request.url.path or any("\x00" in k + v for k, v in query):
        raise Problem(400, "the path or the query contains a NUL character")


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the operation does not take: `?form=` for `?from=` would
    otherwise be ignored, and the default window silently read instead."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise fields_problem(
            [
                FieldError(
                    field=name, location="query", message="is not a parameter of this operation"
                )
                for name in unknown
            ]
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
