"""The customer portal (issue 7): server-rendered pages over the same services as the API.

`install(app, settings)` mounts it under `/portal`, with its bundled static files.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from bysecond.settings import Settings

from . import account, organization
from .access import PortalConfig, PortalError, SignInRequired
from .pages import page
from .session import portal_secret

PREFIX = "/portal"


def install(app: FastAPI, settings: Settings, *, secure_cookie: bool = False) -> None:
    app.state.portal = PortalConfig(portal_secret(settings.portal_secret), secure_cookie)
    for router in (account.router, organization.router):
        app.include_router(router, prefix=PREFIX, include_in_schema=False)
    static = files("bysecond.web").joinpath("static/portal")
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(static)), name="portal_static")
    app.add_exception_handler(PortalError, _portal_error)
    app.add_exception_handler(SignInRequired, _sign_in_first)

    @app.get(PREFIX, include_in_schema=False)
    def portal_root() -> Response:
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)


async def _portal_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PortalError)
    return page("error.html", error.status_code, message=error.message, session=None)


async def _sign_in_first(request: Request, error: Exception) -> Response:
    return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
