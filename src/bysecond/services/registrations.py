"""Organisations, applications and add-ons that events name, registered on the fly.

CONTRACT.md: usage is never refused because its organisation or application is new.
A run of ingestion sends the database only what it has not registered already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from bysecond.store.registry import register_addons, register_applications, register_organizations

Key = tuple[str, str]  # (organization_id, application or add-on id)


@dataclass
class Registrations:
    """Organisations; applications with their name; add-ons with provider and name."""

    organizations: set[str] = field(default_factory=set)
    applications: dict[Key, str | None] = field(default_factory=dict)
    addons: dict[Key, tuple[str | None, str | None]] = field(default_factory=dict)

    def add_application(self, key: Key, name: str | None) -> None:
        self.applications[key] = self.applications.get(key) or name

    def add_addon(self, key: Key, provider: str | None, name: str | None) -> None:
        known_provider, known_name = self.addons.get(key, (None, None))
        self.addons[key] = (known_provider or provider, known_name or name)

    def write(self, connection: Connection, now: datetime) -> list[str]:
        """Register everything; returns the organisations that are new to the store."""
        # Organisations first: applications and add-ons refer to them.
        added = register_organizations(connection, self.organizations, now)
        register_applications(connection, self.applications)
        register_addons(connection, self.addons)
        return added


class Registered:
    """What a run has registered in committed chunks, so as to send only what is new."""

    def __init__(self) -> None:
        self._known = Registrations()

    def news(self, wanted: Registrations) -> Registrations:
        known = self._known
        news = Registrations(wanted.organizations - known.organizations)
        for key, name in wanted.applications.items():
            if key not in known.applications or (name and not known.applications[key]):
                news.applications[key] = name
        for key, (provider, name) in wanted.addons.items():
            had_provider, had_name = known.addons.get(key, (None, None))
            if (
                key not in known.addons
                or (provider and not had_provider)
                or (name and not had_name)
            ):
                news.addons[key] = (provider, name)
        return news

    def remember(self, committed: Registrations) -> None:
        self._known.organizations |= committed.organizations
        for key, name in committed.applications.items():
            self._known.add_application(key, name)
        for key, (provider, name) in committed.addons.items():
            self._known.add_addon(key, provider, name)
