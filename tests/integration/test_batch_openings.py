"""Opening states in the columnar run: a period billed from columns leaves the state its
events end in (core.metering.Opening), and the next period reads its own events from it,
not every event since the organisation's first, with the same invoices as the core's
replay of the whole history (R2, R4, R14, R16). A state whose count of earlier events
no longer holds is not read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select, update

from bysecond.batch import opening as batch_opening
from bysecond.batch.load import EventReader
from bysecond.batch.run import rate_shard
from bysecond.core.document import canonical_json
from bysecond.core.invoice import Seller
from bysecond.core.metering import opening_at
from bysecond.core.opening import micros, opening_from_json
from bysecond.services import billing, openings
from bysecond.services.billing import LATE_MARGIN, bill_period, late_periods
from bysecond.services.estimates import current_estimate
from bysecond.services.openings import openings_at
from bysecond.services.usage import usage_report
from bysecond.store.database import open_database
from bysecond.store.events import events_for
from bysecond.store.schema import OpeningState

from .test_batch_billing import event, invoices, start
from .test_batch_later_months import (
    OCTOBER_ISSUED,
    ORGANIZATIONS,
    SEPTEMBER_ISSUED,
    audit_task,
    context,
    numbered,
    october,
    received,
    september,
    two_months,
)

OCTOBER_START = datetime(2026, 10, 1, tzinfo=UTC)
PARIS_OCTOBER_START = datetime(2026, 9, 30, 22, tzinfo=UTC)  # org-on-d bills in Paris


@pytest.fixture
def stores(database_url: str, tmp_path: Any) -> Iterator[tuple[str, str]]:
    reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    two_months(database_url, "columnar")
    two_months(reference, "reference")
    yield database_url, reference


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], int | None]]:
    """Each shard read of this process: its organisations and its first instant."""
    made: list[tuple[list[str], int | None]] = []
    real = EventReader.read

    def read(self: EventReader, orgs: Any, before: int, since: int | None = None) -> Any:
        made.append((list(orgs), since))
        return real(self, orgs, before, since)

    monkeypatch.setattr(EventReader, "read", read)
    return made


def states(url: str) -> dict[str, OpeningState]:
    database = open_database(url)
    try:
        with database.unit_of_work(read_only=True) as uow:
            rows = uow.session.scalars(select(OpeningState)).all()
            for row in rows:
                uow.session.expunge(row)
            return {row.organization_id: row for row in rows}
    finally:
        database.close()


@pytest.mark.parametrize("engine", ["columnar", "reference"])
def test_a_billed_period_leaves_the_state_the_cores_replay_leaves(
    stores: tuple[str, str], engine: str
) -> None:
    columnar = stores[0] if engine == "columnar" else stores[1]
    stored = states(columnar)
    # September was issued from columns for everyone (no late usage yet): each state is
    # at the period's end, in the organisation's time zone (R1).
    assert {org: row.at for org, row in stored.items()} == {
        org: PARIS_OCTOBER_START if org == "org-on-d" else OCTOBER_START for org in ORGANIZATIONS
    }
    database = open_database(columnar)
    try:
        with database.unit_of_work(read_only=True) as uow:
            for org, row in stored.items():
                events = events_for(uow.connection, org, before=row.at)
                # October's events had come when this was read, not when it was made.
                made_from = [e for e in events if e.id.startswith("sep-")]
                assert opening_from_json(row.at, row.state) == opening_at(made_from, row.at)
                assert row.events_before == len(made_from)
    finally:
        database.close()
    a = opening_from_json(OCTOBER_START, stored["org-on-a"].state)
    assert list(a.runs) == ["a-2"]  # started on 29 September, stopped in October
    assert a.application_names == {"app-org-on-a": "Shop"}
    assert a.providers == {"a-pg": "postgresql"} and a.addon_names == {"a-pg": "Main database"}
    assert list(opening_from_json(OCTOBER_START, stored["org-on-c"].state).runs) == ["c-1"]


def test_a_later_month_reads_its_own_events_only_and_bills_as_the_core(
    stores: tuple[str, str], reads: list[tuple[list[str], int | None]]
) -> None:
    columnar, reference = stores
    database = open_database(columnar)
    try:
        rated = rate_shard(database, context(database, OCTOBER_ISSUED), "2026-10", ORGANIZATIONS)
    finally:
        database.close()
    # org-on-b and org-on-e have late September usage: the core bills them (R14).
    assert rated.reference == {"org-on-b", "org-on-e"}
    assert reads == [(["org-on-a", "org-on-c", "org-on-d"], micros(PARIS_OCTOBER_START))]
    # And October leaves its own states, made from September's and October's events, by
    # the columns and by the core alike.
    assert sorted(rated.openings) == ORGANIZATIONS
    # A shard whose states are all at one instant takes the read as it comes.
    reads.clear()
    database = open_database(columnar)
    try:
        utc = rate_shard(
            database, context(database, OCTOBER_ISSUED), "2026-10", ["org-on-a", "org-on-c"]
        )
    finally:
        database.close()
    assert reads == [(["org-on-a", "org-on-c"], micros(OCTOBER_START))]
    for org in ("org-on-a", "org-on-c"):
        assert utc.invoices[org].head == rated.invoices[org].head
        assert utc.invoices[org].rest == rated.invoices[org].rest
        assert utc.openings[org] == rated.openings[org]
    c = rated.openings["org-on-c"]
    assert c.at == datetime(2026, 11, 1, tzinfo=UTC)
    assert opening_from_json(c.at, c.state).runs["c-1"].start == datetime(2026, 9, 20, tzinfo=UTC)
    for url, engine in ((columnar, "columnar"), (reference, "reference")):
        database = open_database(url)
        try:
            bill_period(
                database, context(database, OCTOBER_ISSUED), "2026-10", issue=True, engine=engine
            )  # type: ignore[arg-type]
        finally:
            database.close()
    assert invoices(columnar) == invoices(reference)


@pytest.mark.parametrize("alone_at_most", [0.5, 0.0], ids=["read-alone", "shard-read-whole"])
def test_a_state_whose_earlier_events_changed_is_not_read(
    stores: tuple[str, str],
    reads: list[tuple[list[str], int | None]],
    monkeypatch: pytest.MonkeyPatch,
    alone_at_most: float,
) -> None:
    """An August run of org-on-c, received in November: before any issued period, so no
    late usage (R14), but still running in October. The count of org-on-c's events before
    its state's instant has moved: its whole history is read again, alone or with the
    shard's, and its October invoice bills the run as the core does."""
    monkeypatch.setattr(batch_opening, "_READ_ALONE_AT_MOST", alone_at_most)
    august = [start("org-on-c", "2026-08-20T00:00:00Z", "c-0", "XS")]
    for url in stores:
        database = open_database(url)
        try:
            received(database, numbered(august, "aug"), datetime(2026, 11, 1, 2, tzinfo=UTC))
            if url == stores[0]:
                with database.unit_of_work(read_only=True) as uow:
                    usable = openings_at(
                        uow.connection, {org: OCTOBER_START for org in ["org-on-a", "org-on-c"]}
                    )
                assert "org-on-c" not in usable and "org-on-a" in usable
            bill_period(
                database,
                context(database, OCTOBER_ISSUED),
                "2026-10",
                issue=False,
                engine="columnar" if url == stores[0] else "reference",
            )  # type: ignore[arg-type]
        finally:
            database.close()
    assert invoices(stores[0]) == invoices(stores[1])
    own = [(orgs, since) for orgs, since in reads if since is None]
    if alone_at_most:
        assert (["org-on-c"], None) in own
    else:
        assert own and "org-on-c" in own[0][0]
    october_c = invoices(stores[0])["org-on-c 2026-10"][3]
    assert b'"instance_id":"c-0"' in october_c


def test_a_state_of_another_version_is_not_read(stores: tuple[str, str]) -> None:
    columnar, _ = stores
    database = open_database(columnar)
    try:
        with database.unit_of_work() as uow:
            uow.connection.execute(
                update(OpeningState)
                .where(OpeningState.organization_id == "org-on-a")
                .values(version=OpeningState.version + 1)
            )
            uow.commit()
        with database.unit_of_work(read_only=True) as uow:
            found = openings_at(uow.connection, {"org-on-a": OCTOBER_START})
    finally:
        database.close()
    assert found == {}  # replayed from its first event instead


def test_an_organisation_without_earlier_events_starts_empty(stores: tuple[str, str]) -> None:
    columnar, _ = stores
    database = open_database(columnar)
    try:
        received(
            database,
            numbered(
                [
                    event(
                        "task.performed",
                        "org-new",
                        "2026-10-04T00:00:00Z",
                        task_id="t",
                        description="Setup",
                        amount="5.00",
                    )
                ],
                "new",
            ),
            datetime(2026, 10, 5, tzinfo=UTC),
        )
        with database.unit_of_work(read_only=True) as uow:
            found = openings_at(uow.connection, {"org-new": OCTOBER_START})
    finally:
        database.close()
    assert found["org-new"].events_before == 0
    assert found["org-new"].opening == opening_at([], OCTOBER_START)


def test_the_reference_engine_and_the_estimate_read_from_the_state_too(
    stores: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core bills a period from its state unless earlier periods have late usage:
    R14 rates them again from all their events. An estimate and a usage report read
    from the state, and give what all the events give."""
    _, reference = stores
    since: dict[str, datetime | None] = {}

    def spied(real: Any) -> Any:
        def read(connection: Any, org: str, *, before: datetime, **more: Any) -> Any:
            since[org] = more.get("since")
            return real(connection, org, before=before, **more)

        return read

    # Read from a state (services.openings) or, with late usage, whole (services.billing).
    for module in (billing, openings):
        monkeypatch.setattr(module, "events_for", spied(module.events_for))
    database = open_database(reference)
    try:
        bill_period(
            database, context(database, OCTOBER_ISSUED), "2026-10", issue=False, engine="reference"
        )
        assert since == {
            "org-on-a": OCTOBER_START,
            "org-on-b": None,  # late September usage (R14)
            "org-on-c": OCTOBER_START,
            "org-on-d": PARIS_OCTOBER_START,
            "org-on-e": None,
        }
        since.clear()
        now = datetime(2026, 10, 20, 12, tzinfo=UTC)
        with database.unit_of_work(read_only=True) as uow:
            opened = current_estimate(uow.session, Seller(), "org-on-a", now)
            used = usage_report(uow.session, "org-on-a", now)
        assert since == {"org-on-a": OCTOBER_START}
        with database.unit_of_work() as uow:  # without states: every event is replayed
            uow.connection.execute(delete(OpeningState))
            uow.commit()
        with database.unit_of_work(read_only=True) as uow:
            whole = current_estimate(uow.session, Seller(), "org-on-a", now)
            assert usage_report(uow.session, "org-on-a", now) == used
        assert since["org-on-a"] is None
        # The run and the add-on from September, the add-on on its new plan from 10 October.
        assert [piece.piece.resource_id for piece in used.pieces] == ["a-pg", "a-2", "a-3", "a-pg"]
        assert canonical_json(opened.so_far.document()) == canonical_json(whole.so_far.document())
        assert opened.projected == whole.projected
        assert opened.so_far.settlement.subtotal > 0
    finally:
        database.close()


@pytest.mark.parametrize("engine", ["columnar", "reference"])
def test_R14_a_period_looked_at_again_is_rated_from_all_its_events_even_with_a_state(
    database_url: str, engine: str
) -> None:
    """A task received less than LATE_MARGIN before September's issue: September's
    invoice has it, and so does the state at 1 October, which still holds; but R14 looks
    at September again in October. It must be rated again from all its events, not from
    the state: it then owes nothing more, and October carries no adjustment."""
    task = audit_task()
    database = open_database(database_url)
    try:
        received(database, numbered(september(), "sep"), datetime(2026, 10, 1, 0, 30, tzinfo=UTC))
        received(database, numbered([task], "margin"), SEPTEMBER_ISSUED - LATE_MARGIN / 2)
        bill_period(
            database, context(database, SEPTEMBER_ISSUED), "2026-09", issue=True, engine=engine
        )  # type: ignore[arg-type]
        received(database, numbered(october(), "oct"), datetime(2026, 11, 1, 1, tzinfo=UTC))
        with database.unit_of_work(read_only=True) as uow:
            assert late_periods(uow.connection, ["org-on-c"], "2026-10") == {
                ("org-on-c", "2026-09")
            }
            assert "org-on-c" in openings_at(uow.connection, {"org-on-c": OCTOBER_START})
        bill_period(
            database, context(database, OCTOBER_ISSUED), "2026-10", issue=False, engine=engine
        )  # type: ignore[arg-type]
    finally:
        database.close()
    september_c = orjson.loads(invoices(database_url)["org-on-c 2026-09"][3])
    assert any(line["resource_id"] == "c-t" for line in september_c["lines"])
    october_c = orjson.loads(invoices(database_url)["org-on-c 2026-10"][3])
    assert [line for line in october_c["lines"] if line["kind"] == "adjustment"] == []
