"""`POST /v1/events`: CloudEvents from a real client, answered per event (CONTRACT.md).

The client is the CloudEvents Python SDK (2.x): its `cloudevents.core` API writes one
event in structured mode; the 2.x SDK has no batch writer, so a batch is the JSON array
of its structured events, sent as application/cloudevents-batch+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
from cloudevents.core.bindings.http import to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1.conversion import to_structured as legacy_to_structured
from cloudevents.v1.http import CloudEvent as LegacyCloudEvent

from bysecond.settings import Settings
from bysecond.store.database import Database
from bysecond.store.events import count_events

from .api_client import BATCH, SOURCE, new_api, started, stopped
from .conftest import Api


def sdk_event(number: int, kind: str, at: datetime, **data: object) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": f"sdk-{number}",
            "source": SOURCE,
            "type": kind,
            "time": at,
            "subject": "org-acme",
            "datacontenttype": "application/json",
        },
        data=dict(data),
    )


def test_a_structured_event_of_the_sdk_is_stored(api: Api) -> None:
    event = sdk_event(
        1,
        "instance.started",
        datetime(2026, 10, 3, 12, tzinfo=UTC),
        instance_id="i-77",
        application_id="app-shop",
        flavor="M",
        role="run",
    )
    message = to_structured(event, JSONFormat())
    assert message.headers["content-type"] == "application/cloudevents+json"
    answer = api.operator.post("/v1/events", content=message.body, headers=message.headers)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "unpriced": 0,
        "events": [{"index": 0, "status": "accepted", "source": SOURCE, "id": "sdk-1"}],
    }
    assert _stored(api.database) == 1  # stored before the answer (invariant 2)


def test_a_batch_of_sdk_events_is_stored_and_sent_again_is_all_duplicates(api: Api) -> None:
    at = datetime(2026, 10, 3, 12, tzinfo=UTC)
    events = [
        sdk_event(1, "addon.provisioned", at, addon_id="pg-1", provider="postgresql", plan="s"),
        sdk_event(2, "addon.plan_changed", at.replace(hour=13), addon_id="pg-1", plan="m"),
        sdk_event(3, "task.performed", at, task_id="t-1", description="Restore", amount="80.00"),
    ]
    fmt = JSONFormat()
    body = b"[" + b",".join(fmt.write(event) for event in events) + b"]"
    headers = {"Content-Type": BATCH}
    first = api.operator.post("/v1/events", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert [e["status"] for e in first.json()["events"]] == ["accepted"] * 3
    again = api.operator.post("/v1/events", content=body, headers=headers)
    assert again.status_code == 202
    assert again.json()["duplicates"] == 3  # R3: the same events change nothing
    assert _stored(api.database) == 3


def test_a_batch_is_stored_as_canonical_documents_whatever_its_spacing_and_escapes(
    api: Api,
) -> None:
    # Each item of a batch is handed on as its own JSON text (R3): spacing, key order
    # and escapes do not change the stored document, so the same events sent alone,
    # written another way, are duplicates.
    first = started(1, "2026-10-03T12:00:00Z")
    first["data"]["application_name"] = "Caf\u00e9 \U0001f600"
    second = stopped(2, "2026-10-03T13:00:00Z")
    written = (
        b'[ \n  {"data": {"instance_id": "i-1", "flavor": "M", "role": "run",'
        b' "application_id": "app-shop", "application_name": "Caf\\u00e9 \\ud83d\\ude00"},'
        b' "subject": "org-acme", "type": "instance.started", "id": "e-1",'
        b' "source": "//platform/orchestrator", "specversion": "1.0",'
        b' "datacontenttype": "application/json",'
        b' "time": "2026-10-03T12:00:00Z"} ,\t' + orjson.dumps(second) + b" ]"
    )
    answer = api.operator.post("/v1/events", content=written, headers={"Content-Type": BATCH})
    assert answer.status_code == 202, answer.text
    assert [e["status"] for e in answer.json()["events"]] == ["accepted", "accepted"]
    for event in (first, second):
        again = api.operator.post(
            "/v1/events",
            content=orjson.dumps(event),
            headers={"Content-Type": "application/cloudevents+json"},
        )
        assert again.json()["events"][0]["status"] == "duplicate", again.text
    assert _stored(api.database) == 2


def test_the_legacy_sdk_api_is_accepted_too(api: Api) -> None:
    event = LegacyCloudEvent(
        {
            "id": "legacy-1",
            "source": SOURCE,
            "type": "instance.stopped",
            "time": "2026-10-03T13:00:00Z",
            "subject": "org-acme",
            "datacontenttype": "application/json",
        },
        {"instance_id": "i-77"},
    )
    headers, body = legacy_to_structured(event)
    answer = api.operator.post("/v1/events", content=body, headers=headers)
    assert answer.status_code == 202, answer.text


def test_a_batch_with_rejected_events_answers_207_and_stores_the_others(api: Api) -> None:
    bad = started(2, "2026-10-03T12:00:00Z", instance="i-2")
    del bad["data"]["flavor"]
    answer = api.operator.send_events([started(1, "2026-10-03T12:00:00Z"), bad, 42])
    assert answer.status_code == 207, answer.text
    outcomes = answer.json()["events"]
    assert outcomes[0]["status"] == "accepted"
    assert outcomes[1] == {
        "index": 1,
        "status": "rejected",
        "source": SOURCE,
        "id": "e-2",
        "field": "data.flavor",
        "message": "is required",
    }
    assert outcomes[2]["status"] == "rejected" and outcomes[2]["field"] == "event"
    assert _stored(api.database) == 1


def test_a_batch_of_rejected_events_answers_422_as_a_problem_with_each_reason(api: Api) -> None:
    future = started(1, "2026-10-12T00:00:00Z")  # a day after the API's clock
    conflicting = stopped(2, "2026-10-03T12:00:00Z")
    assert api.operator.send_events([conflicting]).status_code == 202
    conflicting["data"]["instance_id"] = "i-other"  # another payload under a stored id (R3)
    answer = api.operator.send_events([future, conflicting])
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:bysecond:problem:events-rejected"
    assert problem["rejected"] == 2 and problem["accepted"] == 0
    assert [e["field"] for e in problem["events"]] == ["time", "id"]
    assert "conflict" in problem["events"][1]["message"]


def test_an_empty_batch_stores_nothing_and_answers_202(api: Api) -> None:
    answer = api.operator.send_events([])
    assert answer.status_code == 202
    assert answer.json()["events"] == []


def test_a_body_that_is_not_json_answers_400(api: Api) -> None:
    for body in (b'{"specversion": "1.0",', b"", b"\xff\xfe"):
        answer = api.operator.post(
            "/v1/events", content=body, headers={"Content-Type": "application/cloudevents+json"}
        )
        assert answer.status_code == 400, body
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith("malformed JSON")


def test_the_shape_must_match_the_media_type(api: Api) -> None:
    single = started(1, "2026-10-03T12:00:00Z")
    as_batch = api.operator.post(
        "/v1/events", content=orjson.dumps(single), headers={"Content-Type": BATCH}
    )
    as_single = api.operator.post(
        "/v1/events",
        content=orjson.dumps([single]),
        headers={"Content-Type": "application/cloudevents+json"},
    )
    plain_json = api.operator.post("/v1/events", json=[single])
    text = api.operator.post("/v1/events", content=b"x", headers={"Content-Type": "text/plain"})
    assert (as_batch.status_code, as_single.status_code) == (400, 400)
    assert plain_json.status_code == 202
    assert text.status_code == 415


def test_a_body_over_the_limit_answers_413_before_it_is_read_or_stored(
    database: Database,
) -> None:
    limit = 4096
    events = [started(n, "2026-10-03T12:00:00Z", instance=f"i-{n}") for n in range(40)]
    body = orjson.dumps(events)
    assert len(body) > limit
    with new_api(database, Settings(max_body_bytes=limit)) as (operator, *_):
        declared = operator.post("/v1/events", content=body, headers={"Content-Type": BATCH})
        # Without Content-Length (chunked), the body is counted as it arrives.
        streamed = operator.post(
            "/v1/events", content=_chunks(body, 1000), headers={"Content-Type": BATCH}
        )
        small = operator.send_events(events[:2])
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == f"the request body is larger than {limit} bytes"
    assert "content-length" not in streamed.request.headers
    assert small.status_code == 202
    assert _stored(database) == 2


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _stored(database: Database) -> int:
    with database.unit_of_work(read_only=True) as uow:
        return count_events(uow.connection)
