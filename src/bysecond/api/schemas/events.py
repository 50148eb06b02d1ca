"""Usage events in, and the answer per event (CONTRACT.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bysecond.core.events import ID_PATTERN

from ..problems import ProblemDetails

EventType = Literal[
    "instance.started",
    "instance.stopped",
    "addon.provisioned",
    "addon.plan_changed",
    "addon.deleted",
    "task.performed",
    "usage.reported",
]


class CloudEvent(BaseModel):
    """A CloudEvent 1.0 in JSON: `subject` is the organisation, `data` depends on `type`.

    Documentation only: events are validated by the ingestion service, which answers per
    event with the field at fault.
    """

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, examples=["e-1842"])
    source: str = Field(min_length=1, examples=["//platform/orchestrator"])
    type: EventType
    time: AwareDatetime = Field(description="RFC 3339 with an offset.")
    subject: str = Field(
        pattern=ID_PATTERN.pattern, description="The organisation's id.", examples=["org-acme"]
    )
    datacontenttype: Literal["application/json"] | None = None
    data: dict[str, Any] = Field(
        examples=[
            {"instance_id": "i-77", "application_id": "app-shop", "flavor": "M", "role": "run"}
        ]
    )


class EventOutcome(BaseModel):
    index: int = Field(description="The event's place in the request, from 0.")
    status: Literal["accepted", "duplicate", "rejected"]
    source: str | None
    id: str | None
    field: str | None = Field(default=None, description="Rejected: the field at fault.")
    message: str | None = Field(default=None, description="Rejected: why.")


class IngestCounts(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    unpriced: int = Field(description="Accepted usage without a price: kept, reported (R4).")


class IngestAnswer(IngestCounts):
    """202: every event stored (or already stored); 207: some rejected."""

    events: list[EventOutcome]


class EventsRejected(ProblemDetails):
    """422: every event was rejected; each one with its reason."""

    accepted: int
    duplicates: int
    rejected: int
    unpriced: int
    events: list[EventOutcome]
