"""A test client bound to one key, and an application with the keys the tests use."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from bysecond.api import create_app
from bysecond.services.keys import issue_key
from bysecond.settings import Settings
from bysecond.store.database import Database

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its test client; httpx is what the project depends on.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 10, 11, tzinfo=UTC)  # 10 days of October gone, 21 to go
SOURCE = "//platform/orchestrator"
BATCH = "application/cloudevents-batch+json"


def clock() -> datetime:
    return NOW


class ApiClient:
    """Requests made with one key (or none)."""

    def __init__(self, client: TestClient, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs["headers"] = self.headers(kwargs.get("headers"))
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def send_events(self, events: list[dict[str, Any]]) -> Any:
        return self.post(
            "/v1/events", content=orjson.dumps(events), headers={"Content-Type": BATCH}
        )


def keys(database: Database) -> tuple[str, str, str]:
    """An operator key and keys of org-acme and org-other (registered here)."""
    with database.unit_of_work() as uow:
        made = [
            issue_key(uow.session, organization_id=org, name=None, now=NOW, register=True).secret
            for org in (None, "org-acme", "org-other")
        ]
        uow.commit()
    return made[0], made[1], made[2]


@contextmanager
def new_api(
    database: Database, settings: Settings | None = None
) -> Iterator[tuple[ApiClient, ApiClient, ApiClient, ApiClient]]:
    operator, acme, other = keys(database)
    app = create_app(database, settings or Settings(), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield (
            ApiClient(client, operator),
            ApiClient(client, acme),
            ApiClient(client, other),
            ApiClient(client, None),
        )


def event(number: int, kind: str, time: str, org: str = "org-acme", **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"e-{number}",
        "source": SOURCE,
        "type": kind,
        "time": time,
        "subject": org,
        "datacontenttype": "application/json",
        "data": data,
    }


def started(
    number: int, time: str, instance: str = "i-1", flavor: str = "M", org: str = "org-acme"
) -> dict[str, Any]:
    return event(
        number,
        "instance.started",
        time,
        org,
        instance_id=instance,
        application_id="app-shop",
        flavor=flavor,
        role="run",
    )


def stopped(number: int, time: str, instance: str = "i-1", org: str = "org-acme") -> dict[str, Any]:
    return event(number, "instance.stopped", time, org, instance_id=instance)
