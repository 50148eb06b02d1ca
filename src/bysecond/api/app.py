"""The FastAPI application: `create_app(database, settings, clock=...)`.

Nothing is created at import time: the database, the settings and the clock are given
to the factory, kept on the application, and reached by routes through `deps`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from bysecond.settings import Settings
from bysecond.store.database import Database

from . import documentation, problems
from .deps import ApiState, Clock, clean_request_target, known_query_only
from .limits import BodyLimit
from .routes import (
    authorizations,
    billing_runs,
    catalog,
    credits,
    estimates,
    events,
    invoices,
    organizations,
    tasks,
    usage,
)

PREFIX: Final = "/v1"
OPENAPI_URL: Final = f"{PREFIX}/openapi.json"
ROUTERS: Final = (
    events.router,
    catalog.router,
    organizations.router,
    usage.router,
    estimates.router,
    authorizations.router,
    credits.router,
    tasks.router,
    invoices.router,
    billing_runs.router,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(database: Database, settings: Settings, clock: Clock = utc_now) -> FastAPI:
    """The HTTP API over `database`; `clock` gives the instant each request acts at."""
    app = build_app(settings)
    app.state.bysecond = ApiState(database, settings, clock)
    # The customer portal: HTML pages under /portal, outside the OpenAPI
    # document, over the same services and `deps`. Imported here: it imports `deps`.
    from bysecond.web import portal

    portal.install(app, settings)
    return app


def build_app(settings: Settings) -> FastAPI:
    """The routes, error handling and OpenAPI document, without a database yet."""
    app = FastAPI(
        title="bysecond",
        version=documentation.API_VERSION,
        summary="Usage billing by the second: events in, invoices out.",
        description=documentation.DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=_long_lived_heap,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    problems.install(app)
    guards = [Depends(clean_request_target), Depends(known_query_only)]
    v1 = APIRouter(prefix=PREFIX, dependencies=guards)
    for router in ROUTERS:
        v1.include_router(router)
    app.include_router(v1)
    documentation.install(app)
    return app


@asynccontextmanager
async def _long_lived_heap(app: FastAPI) -> AsyncIterator[None]:
    """Keep the collector off what the server loaded before its first request.

    Modules, routes, schemas and the ORM's mappers live as long as the process; a full
    collection walking them all (about 90,000 objects) paused one request in a hundred
    by 30-50 ms. Frozen, they are left out of every collection; a request's own
    objects are collected as before.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _operation_id(route: APIRoute) -> str:
    # The route's name (`ingest_events`, `read_invoice`): a generated client reads well.
    return route.name
