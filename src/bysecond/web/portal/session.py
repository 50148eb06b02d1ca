"""The portal's session: a signed cookie naming the key that signed in.

The cookie holds no secret, only the key's id, the organisation it is bound to (none for
an operator), a CSRF token and an expiry, signed with HMAC-SHA256. Each request checks
that the key is still there and not revoked, so revoking a key ends its sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import orjson

COOKIE: Final = "bysecond_portal"
LIFETIME: Final = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class PortalSession:
    key_id: str
    organization_id: str | None  # None: an operator
    csrf: str
    expires: datetime

    @property
    def is_operator(self) -> bool:
        return self.organization_id is None


def portal_secret(configured: str) -> bytes:
    """The signing secret: BYSECOND_PORTAL_SECRET, or a random one for this process only.

    Settings refuse a short secret; an unset one still lets a single process serve the
    portal, its sessions ending when it stops (a warning says so).
    """
    if configured:
        return configured.encode()
    logging.getLogger(__name__).warning(
        "BYSECOND_PORTAL_SECRET is not set: portal sessions are signed with a random secret"
        " and end when this process stops"
    )
    return secrets.token_bytes(32)


def new_session(key_id: str, organization_id: str | None, now: datetime) -> PortalSession:
    return PortalSession(key_id, organization_id, secrets.token_urlsafe(24), now + LIFETIME)


def encode(session: PortalSession, secret: bytes) -> str:
    payload = orjson.dumps(
        {
            "k": session.key_id,
            "o": session.organization_id,
            "c": session.csrf,
            "e": int(session.expires.timestamp()),
        }
    )
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_signature(body, secret)}"


def decode(cookie: str | None, secret: bytes, now: datetime) -> PortalSession | None:
    """The session in a cookie this process signed and that has not expired, else None."""
    if not cookie or "." not in cookie:
        return None
    body, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(body, secret)):
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        expires = datetime.fromtimestamp(int(value["e"]), now.tzinfo)
        made = PortalSession(str(value["k"]), value["o"], str(value["c"]), expires)
    except (ValueError, KeyError, TypeError):
        return None
    return made if expires > now else None


def _signature(body: str, secret: bytes) -> str:
    digest = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
