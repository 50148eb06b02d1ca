"""Organisations, applications and add-ons, registered on the fly from their events.

CONTRACT.md: usage is never refused because its organisation or application is new;
they are registered with defaults and their profile is completed later. What an event
names fills a blank, never overwrites what is known.

Rows are written in sorted key order so that concurrent ingesters lock them in one
order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Final, TypeVar

from sqlalchemy import Connection, and_, func, or_, select, tuple_
from sqlalchemy.dialects import sqlite

from .schema import Addon, Application, Organization

# Bound parameters per query stay far below SQLite's limit (32,766).
_SLICE: Final = 5_000
T = TypeVar("T")


# PostgreSQL takes a whole chunk's registrations as arrays in one statement, instead of
# one statement per row.
_PG_ORGANIZATIONS: Final = (
    "INSERT INTO organizations (id, created_at)"
    " SELECT id, %s FROM unnest(%s::text[]) AS new (id) ORDER BY id"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)
_PG_APPLICATIONS: Final = (
    "INSERT INTO applications (organization_id, id, name)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) ORDER BY 1, 2"
    " ON CONFLICT (organization_id, id) DO UPDATE SET name = excluded.name"
    " WHERE applications.name IS NULL AND excluded.name IS NOT NULL"
)
_PG_ADDONS: Final = (
    "INSERT INTO addons (organization_id, id, provider, name)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) ORDER BY 1, 2"
    " ON CONFLICT (organization_id, id) DO UPDATE"
    " SET provider = coalesce(addons.provider, excluded.provider),"
    " name = coalesce(addons.name, excluded.name)"
    " WHERE (addons.provider IS NULL AND excluded.provider IS NOT NULL)"
    " OR (addons.name IS NULL AND excluded.name IS NOT NULL)"
)


def register_organizations(connection: Connection, ids: Iterable[str], now: datetime) -> list[str]:
    """Add the organisations not registered yet, with the default profile; returns the
    ones this call added (new customers, who get the welcome credit)."""
    new = sorted(set(ids))
    if not new:
        return []
    if connection.dialect.name == "postgresql":
        added = connection.exec_driver_sql(_PG_ORGANIZATIONS, (now, new))
        return sorted(row[0] for row in added)
    rows = [{"id": org, "created_at": now} for org in new]
    statement = sqlite.insert(Organization).on_conflict_do_nothing().returning(Organization.id)
    return sorted(connection.execute(statement, rows).scalars())


def register_applications(
    connection: Connection, applications: dict[tuple[str, str], str | None]
) -> None:
    """`applications`: (organization_id, application_id) -> name, if the event gave one."""
    if not applications:
        return
    ordered = sorted(applications.items())
    if connection.dialect.name == "postgresql":
        columns = (
            [org for (org, _), _ in ordered],
            [app for (_, app), _ in ordered],
            [name for _, name in ordered],
        )
        connection.exec_driver_sql(_PG_APPLICATIONS, columns)
        return
    table = Application.__table__.c
    statement = sqlite.insert(Application)
    statement = statement.on_conflict_do_update(
        index_elements=["organization_id", "id"],
        set_={"name": statement.excluded.name},
        where=and_(table.name.is_(None), statement.excluded.name.is_not(None)),
    )
    rows = [{"organization_id": org, "id": app, "name": name} for (org, app), name in ordered]
    connection.execute(statement, rows)


def register_addons(
    connection: Connection, addons: dict[tuple[str, str], tuple[str | None, str | None]]
) -> None:
    """`addons`: (organization_id, addon_id) -> (provider, name), each possibly unknown."""
    if not addons:
        return
    ordered = sorted(addons.items(), key=lambda item: item[0])
    if connection.dialect.name == "postgresql":
        columns = (
            [org for (org, _), _ in ordered],
            [addon for (_, addon), _ in ordered],
            [provider for _, (provider, _) in ordered],
            [name for _, (_, name) in ordered],
        )
        connection.exec_driver_sql(_PG_ADDONS, columns)
        return
    table = Addon.__table__.c
    statement = sqlite.insert(Addon)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["organization_id", "id"],
        set_={
            "provider": func.coalesce(table.provider, excluded.provider),
            "name": func.coalesce(table.name, excluded.name),
        },
        where=or_(
            and_(table.provider.is_(None), excluded.provider.is_not(None)),
            and_(table.name.is_(None), excluded.name.is_not(None)),
        ),
    )
    rows = [
        {"organization_id": org, "id": addon, "provider": provider, "name": name}
        for (org, addon), (provider, name) in ordered
    ]
    connection.execute(statement, rows)


def currencies_other_than(connection: Connection, currency: str) -> dict[str, str]:
    """The organisations billed in another currency than `currency`, with theirs."""
    query = select(Organization.id, Organization.currency).where(Organization.currency != currency)
    return {org: code for org, code in connection.execute(query)}


def addon_providers(
    connection: Connection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The known provider of each (organization_id, addon_id) among `keys`."""
    found: dict[tuple[str, str], str] = {}
    for part in _slices(sorted(keys)):
        query = select(Addon.organization_id, Addon.id, Addon.provider).where(
            tuple_(Addon.organization_id, Addon.id).in_(part), Addon.provider.is_not(None)
        )
        for org, addon, provider in connection.execute(query):
            if provider is not None:
                found[(org, addon)] = provider
    return found


def _slices(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _SLICE):
        yield items[start : start + _SLICE]
