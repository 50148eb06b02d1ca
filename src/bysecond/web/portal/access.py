"""Who is signed in, what they may open, and CSRF checks, as `Annotated` dependencies.

An organisation's session that names another organisation gets the very page a missing
organisation gets (404), as the API does (invariant 6).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Path, Request
from sqlalchemy import select

from bysecond.api.deps import Db, Now
from bysecond.store.schema import ApiKey, Organization

from .session import COOKIE, PortalSession, decode


class PortalError(Exception):
    """A page the portal answers with its own HTML: not found, or sign in first."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


@dataclass(frozen=True)
class PortalConfig:
    secret: bytes
    secure_cookie: bool  # Secure flag: off for http://localhost, on behind TLS


def portal_config(request: Request) -> PortalConfig:
    config: PortalConfig = request.app.state.portal
    return config


Config = Annotated[PortalConfig, Depends(portal_config)]


def current_session(request: Request, config: Config, db: Db, now: Now) -> PortalSession | None:
    session = decode(request.cookies.get(COOKIE), config.secret, now)
    if session is None:
        return None
    with db.unit_of_work(read_only=True) as uow:
        key = uow.session.execute(
            select(ApiKey.organization_id).where(
                ApiKey.id == session.key_id, ApiKey.revoked_at.is_(None)
            )
        ).first()
    # A revoked key, or a cookie naming an organisation its key is not bound to: no session.
    if key is None or key.organization_id != session.organization_id:
        return None
    return session


MaybeSignedIn = Annotated[PortalSession | None, Depends(current_session)]


def signed_in(session: MaybeSignedIn) -> PortalSession:
    if session is None:
        raise SignInRequired
    return session


SignedIn = Annotated[PortalSession, Depends(signed_in)]


def operator(session: SignedIn) -> PortalSession:
    if not session.is_operator:
        raise PortalError(404, "There is no such page.")
    return session


Operator = Annotated[PortalSession, Depends(operator)]


def organization_scope(org: Annotated[str, Path(max_length=128)], session: SignedIn, db: Db) -> str:
    """The organisation of the path, if this session may open it; else 404, as for none."""
    if session.is_operator or session.organization_id == org:
        with db.unit_of_work(read_only=True) as uow:
            if uow.session.get(Organization, org) is not None:
                return org
    raise PortalError(404, "There is no such organisation.")


PortalOrg = Annotated[str, Depends(organization_scope)]


async def form_fields(request: Request) -> dict[str, str]:
    """A url-encoded form's fields, the first value of each (no multipart needed)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


Form = Annotated[dict[str, str], Depends(form_fields)]


def require_csrf(form: Form, session: SignedIn) -> PortalSession:
    """A signed-in POST must carry the session's CSRF token (SameSite=Lax is not enough
    for every browser)."""
    if not hmac.compare_digest(form.get("csrf", ""), session.csrf):
        raise PortalError(403, "This form has expired. Reload the page and try again.")
    return session


CsrfChecked = Annotated[PortalSession, Depends(require_csrf)]
