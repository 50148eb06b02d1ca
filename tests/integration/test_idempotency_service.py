"""Requests under an Idempotency-Key take effect once, even when they race."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bysecond.services.credits import grant_credit
from bysecond.services.idempotency import (
    Answer,
    IdempotencyMismatch,
    Scope,
    once,
    once_in_transaction,
    request_hash,
)
from bysecond.services.keys import issue_key
from bysecond.store.database import Database
from bysecond.store.schema import CreditGrant

NOW = datetime(2026, 10, 11, tzinfo=UTC)


@pytest.fixture
def key_id(database: Database) -> str:
    with database.unit_of_work() as uow:
        issued = issue_key(
            uow.session, organization_id="org-acme", name=None, now=NOW, register=True
        )
        uow.commit()
    return issued.key.id


def _grants(database: Database) -> int:
    with database.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CreditGrant)) or 0)


def test_two_racing_requests_with_one_key_grant_once_and_answer_alike(
    database: Database, key_id: str
) -> None:
    scope = Scope(key_id, "race-1", request_hash("POST", "/credits", b"{}"), NOW)
    counter = iter(range(100))
    lock = threading.Lock()

    def grant(session: Session) -> Answer:
        with lock:
            number = next(counter)
        grant_credit(
            session, "org-acme", "10.00", "prepaid", granted_at=NOW, grant_id=f"g-{number}"
        )
        time.sleep(0.2)  # both requests are inside their transactions at once
        return Answer(201, f"grant g-{number}".encode())

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: once_in_transaction(database, scope, grant), range(2)))
    assert _grants(database) == 1
    assert answers[0].body == answers[1].body
    assert sorted(a.replayed for a in answers) == [False, True]


def test_work_that_commits_on_its_own_is_answered_once_then_replayed(
    database: Database, key_id: str
) -> None:
    scope = Scope(key_id, "run-1", request_hash("POST", "/billing-runs", b'{"a": 1}'), NOW)
    calls: list[int] = []

    def work() -> Answer:
        calls.append(1)
        return Answer(200, b"report")

    first = once(database, scope, work)
    again = once(database, scope, work)
    assert (first.body, again.body, len(calls)) == (b"report", b"report", 1)
    assert again.replayed and not first.replayed
    other = Scope(key_id, "run-1", request_hash("POST", "/billing-runs", b'{"a": 2}'), NOW)
    with pytest.raises(IdempotencyMismatch):
        once(database, other, work)


def test_a_failed_request_leaves_its_key_free(database: Database, key_id: str) -> None:
    scope = Scope(key_id, "try-1", request_hash("POST", "/credits", b"{}"), NOW)

    def failing(session: Session) -> Answer:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        once_in_transaction(database, scope, failing)
    answer = once_in_transaction(database, scope, lambda session: Answer(201, b"done"))
    assert answer == Answer(201, b"done")


def test_the_fingerprint_ignores_json_spacing_and_key_order_only() -> None:
    same = request_hash("POST", "/x", b'{"a": 1, "b": 2}')
    assert request_hash("post", "/x", b'{"b":2,"a":1}') == same
    assert request_hash("POST", "/x", b'{"a": 1, "b": 3}') != same
    assert request_hash("POST", "/y", b'{"a": 1, "b": 2}') != same
    assert request_hash("POST", "/x", b"not json") != request_hash("POST", "/x", b"not  json")
