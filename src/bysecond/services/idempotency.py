"""Requests made once: a retried request with the same Idempotency-Key gets the first answer.

The key is scoped per API key. The answer stored is the status and the exact body bytes
of the first successful answer; the same key with another request is refused. An
answer that failed is not stored, so a corrected request may use the key again.

Two ways to do the work once:
- `once_in_transaction`: the effect and the stored answer commit together (credits), so
  a crash leaves neither; of two concurrent requests one commits, the other replays it.
- `once`: for work that commits on its own (ingestion, billing runs). Such work must be
  idempotent itself, as ingestion is by (source, id) (R3) and billing runs are (R13).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bysecond.store.database import Database
from bysecond.store.schema import IdempotencyKey

MAX_KEY_LENGTH: Final = 255


class IdempotencyMismatch(ValueError):
    """The key was used for another request."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False  # True when it is the stored answer of an earlier request


@dataclass(frozen=True, slots=True)
class Scope:
    """One request under an Idempotency-Key."""

    api_key_id: str
    key: str
    request_hash: str
    now: datetime

    def derived_id(self, prefix: str) -> str:
        """An identifier for what the request creates, the same on every retry."""
        seed = f"{self.api_key_id}\x00{self.key}".encode()
        return prefix + hashlib.sha256(seed).hexdigest()[:20]


def request_hash(method: str, target: str, body: bytes) -> str:
    """The fingerprint of a request: method, path with query, and body. A JSON body is
    taken in canonical form, so key order and spacing do not make another request."""
    try:
        content = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        content = body
    digest = hashlib.sha256(f"{method.upper()} {target}\n".encode())
    digest.update(content)
    return digest.hexdigest()


def stored_answer(session: Session, scope: Scope) -> Answer | None:
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.api_key_id == scope.api_key_id, IdempotencyKey.key == scope.key
        )
    )
    if row is None or row.status_code is None or row.response_body is None:
        return None
    if row.request_hash != scope.request_hash:
        raise IdempotencyMismatch(
            f"Idempotency-Key {scope.key!r} was already used for another request;"
            " use a new key for a new request"
        )
    return Answer(row.status_code, bytes(row.response_body), replayed=True)


def remember(session: Session, scope: Scope, answer: Answer) -> None:
    session.add(
        IdempotencyKey(
            api_key_id=scope.api_key_id,
            key=scope.key,
            request_hash=scope.request_hash,
            status_code=answer.status,
            response_body=answer.body,
            created_at=scope.now,
        )
    )
    session.flush()


def once_in_transaction(
    database: Database, scope: Scope | None, work: Callable[[Session], Answer]
) -> Answer:
    """Run `work` in a transaction that also stores its answer under `scope`."""
    if scope is None:
        with database.unit_of_work() as uow:
            answer = work(uow.session)
            uow.commit()
        return answer
    for attempt in (1, 2):
        try:
            with database.unit_of_work() as uow:
                found = stored_answer(uow.session, scope)
                if found is not None:
                    return found
                answer = work(uow.session)
                remember(uow.session, scope, answer)
                uow.commit()
                return answer
        except IntegrityError:
            # A concurrent request with the same key committed first; the next attempt
            # replays its answer. Both attempts failing is a real integrity error.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def once(database: Database, scope: Scope | None, work: Callable[[], Answer]) -> Answer:
    """Run `work`, which commits on its own and is idempotent, unless already answered."""
    if scope is None:
        return work()
    with database.unit_of_work(read_only=True) as uow:
        found = stored_answer(uow.session, scope)
    if found is not None:
        return found
    answer = work()
    try:
        with database.unit_of_work() as uow:
            remember(uow.session, scope, answer)
            uow.commit()
    except IntegrityError:
        # A concurrent request with the same key stored its answer first: answer as it did.
        with database.unit_of_work(read_only=True) as uow:
            found = stored_answer(uow.session, scope)
        if found is None:
            raise
        return found
    return answer
