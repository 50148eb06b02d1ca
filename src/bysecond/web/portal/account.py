"""Signing in with a key, signing out, and the operator's pages."""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from bysecond.api.deps import AppSettings, Db, Now
from bysecond.services.keys import authenticate

from .access import Config, CsrfChecked, Form, MaybeSignedIn, Operator, PortalConfig
from .operator_view import last_billing_run, organization_rows
from .pages import page
from .session import COOKIE, LIFETIME, encode, new_session

router = APIRouter()
# Login CSRF: the sign-in form, posted before any session exists, carries a token that
# must match a cookie set with the form (double submit).
SIGN_IN_COOKIE: Final = "bysecond_portal_signin"


@router.get("/sign-in", name="portal_sign_in_form")
def sign_in_form(request: Request, session: MaybeSignedIn, config: Config) -> Response:
    if session is not None:
        return RedirectResponse(_home(session.organization_id), status_code=303)
    return _sign_in_page(request, config, error=None)


@router.post("/sign-in", name="portal_sign_in")
def sign_in(request: Request, form: Form, db: Db, now: Now, config: Config) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
        return _sign_in_page(request, config, "This form has expired. Please try again.", 403)
    with db.unit_of_work(read_only=True) as uow:
        principal = authenticate(uow.session, form.get("key", "").strip())
    if principal is None:
        return _sign_in_page(request, config, "This key is unknown or has been revoked.", 401)
    session = new_session(principal.key_id, principal.organization_id, now)
    response = RedirectResponse(_home(principal.organization_id), status_code=303)
    response.set_cookie(
        COOKIE,
        encode(session, config.secret),
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request, config),
        path="/portal",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/portal")
    return response


@router.post("/sign-out", name="portal_sign_out")
def sign_out(_: CsrfChecked) -> Response:
    response = RedirectResponse("/portal/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/portal")
    return response


@router.get("/operator", name="portal_operator")
def operator_page(session: Operator, db: Db, now: Now, settings: AppSettings) -> Response:
    with db.unit_of_work(read_only=True) as uow:
        rows = organization_rows(uow.session, settings.seller, now)
        run = last_billing_run(uow.session, now)
    return page("operator.html", session=session, org=None, nav=None, rows=rows, run=run, now=now)


def _home(organization_id: str | None) -> str:
    return "/portal/operator" if organization_id is None else f"/portal/orgs/{organization_id}"


def _secure(request: Request, config: PortalConfig) -> bool:
    # Secure cookies over HTTPS (or when configured); plain http://localhost still works.
    return config.secure_cookie or request.url.scheme == "https"


def _sign_in_page(
    request: Request, config: PortalConfig, error: str | None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = page("sign_in.html", status_code, error=error, csrf=token, session=None)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, config),
        path="/portal",
    )
    return response
