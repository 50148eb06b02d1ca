"""API keys: issued once, stored as a hash, revoked for good.

A key without an organisation is an operator key: it may do everything. An organisation
key reads its own organisation and changes nothing but its profile (CONTRACT.md).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bysecond.core.events import ID_PATTERN
from bysecond.store.schema import ApiKey, Organization

from .customers import UnknownOrganization

KEY_PREFIX: Final = "bys_"
KEY_BYTES: Final = 32  # 256 random bits
NAME_LENGTH: Final = 200


class UnknownKey(LookupError):
    """A key id that names no key."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key {key_id!r}")
        self.key_id = key_id


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the key it presented and the organisation it is bound to."""

    key_id: str
    organization_id: str | None  # None: an operator key

    @property
    def is_operator(self) -> bool:
        return self.organization_id is None

    def may_see(self, organization_id: str) -> bool:
        """Invariant 6: one organisation never sees another's data."""
        return self.organization_id is None or self.organization_id == organization_id


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key as listed: everything but its secret, which is never stored."""

    id: str
    organization_id: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key, with the secret shown this once."""

    key: KeyView
    secret: str


def key_hash(secret: str) -> str:
    # SHA-256 without salt or stretching is enough here: a key carries 256 random bits,
    # so no dictionary or brute force reaches it, unlike a password. A fast, deterministic
    # hash also lets every request find its key by one lookup of a unique index.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(
    session: Session,
    *,
    organization_id: str | None,
    name: str | None,
    now: datetime,
    register: bool = False,
) -> IssuedKey:
    """A new operator key (no organisation) or organisation key, in the caller's transaction.

    The organisation must be known, unless `register`: then it is registered with the
    default profile, as its first event would do (CONTRACT.md).
    """
    if organization_id is not None and session.get(Organization, organization_id) is None:
        if not register:
            raise UnknownOrganization(organization_id)
        if not ID_PATTERN.match(organization_id):
            raise ValueError(f"{organization_id!r} is not a valid organisation id")
        session.add(Organization(id=organization_id, created_at=now))
        session.flush()
    label = (name or "").strip() or (organization_id or "operator")
    if len(label) > NAME_LENGTH:
        raise ValueError(f"a key name has at most {NAME_LENGTH} characters")
    secret = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    row = ApiKey(
        id="key_" + secrets.token_hex(8),
        key_hash=key_hash(secret),
        organization_id=organization_id,
        name=label,
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return IssuedKey(_view(row), secret)


def revoke_key(session: Session, key_id: str, now: datetime) -> KeyView:
    """Revoke a key from now on; revoking a revoked key keeps its first revocation."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise UnknownKey(key_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _view(row)


def list_keys(session: Session, organization_id: str | None = None) -> list[KeyView]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if organization_id is not None:
        query = query.where(ApiKey.organization_id == organization_id)
    return [_view(row) for row in session.scalars(query)]


_KEYS = ApiKey.__table__.c
# Plain columns through the connection, not the ORM: every request asks this.
_PRINCIPAL: Final = select(_KEYS.id, _KEYS.organization_id).where(
    _KEYS.key_hash == bindparam("key_hash"), _KEYS.revoked_at.is_(None)
)


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal of a presented key, or None when it is unknown or revoked."""
    if not secret.startswith(KEY_PREFIX):
        return None
    session.flush()  # as a query through the session would: pending changes first
    found = session.connection().execute(_PRINCIPAL, {"key_hash": key_hash(secret)}).first()
    return None if found is None else Principal(found.id, found.organization_id)


def _view(row: ApiKey) -> KeyView:
    return KeyView(row.id, row.organization_id, row.name, row.created_at, row.revoked_at)
