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
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

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


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _authenticated(request: Request, session: Session, credentials: Credentials) -> Principal:
    """The principal of the request's key, looked up once per request; 401 without one."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if credentials is None:
        raise Problem(
            401,
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise Problem(
            401,
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    request.state.principal = principal
    return principal


def _look_up_key(request: Request, db: Database, credentials: Credentials) -> Principal:
    with db.unit_of_work(read_only=True) as uow:
        return _authenticated(request, uow.session, credentials)


async def _current_key(request: Request, db: Db, credentials: Credentials) -> Principal:
    # A key an organisation's scope has already looked up (same request) is not looked
    # up again; otherwise the lookup goes to the thread pool, as database work does.
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    return await run_in_threadpool(_look_up_key, request, db, credentials)


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


# A plain query, not an ORM object: every organisation-scoped request asks it.
_KNOWN: Final = select(Organization.__table__.c.id).where(
    Organization.__table__.c.id == bindparam("org")
)


def _organization_scope(request: Request, org: OrgPath, db: Db, credentials: Credentials) -> str:
    """The organisation of the path, if this key may see it; else 404, as for a missing one.

    The key and the organisation are looked up in one transaction: every
    organisation-scoped request asks both."""
    with db.unit_of_work(read_only=True) as uow:
        key = _authenticated(request, uow.session, credentials)
        if key.may_see(org) and uow.connection.execute(_KNOWN, {"org": org}).first():
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
