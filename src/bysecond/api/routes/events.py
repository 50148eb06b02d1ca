"""`POST /v1/events`: one CloudEvent or a batch, answered per event (CONTRACT.md).

The hot path of the API: the body is checked once with orjson (malformed JSON is a 400),
then a batch is cut into each event's own JSON text with msgspec, without decoding it.
The ingestion service takes those texts exactly as it takes the lines of a file, through
its fast validating path; no Pydantic model is built per event, because the service
validates each one (R2, R3) and names the field at fault. The answer is sent only after
the batch's transaction has committed (invariant 2).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bysecond.services.ingest import ChunkReport, ingest_batch

from ..deps import OperatorKey, State
from ..problems import PROBLEM_JSON, PROBLEM_TYPES, Problem, problem_response, responses
from ..schemas.events import IngestAnswer

SINGLE: Final = "application/cloudevents+json"
BATCH: Final = "application/cloudevents-batch+json"
JSON: Final = "application/json"
MULTI_STATUS: Final = 207

_EVENT: Final = {"$ref": "#/components/schemas/CloudEvent"}
_BATCH: Final = {"type": "array", "items": _EVENT}
REQUEST_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "One CloudEvent (structured mode), or a batch: a JSON array of them.",
        "content": {
            SINGLE: {"schema": _EVENT},
            BATCH: {"schema": _BATCH},
            JSON: {"schema": {"oneOf": [_EVENT, _BATCH]}},
        },
    }
}
_ANSWER: Final = {"$ref": "#/components/schemas/IngestAnswer"}

router = APIRouter(prefix="/events", tags=["events"])


@router.post(
    "",
    name="ingest_events",
    summary="Store usage events",
    status_code=202,
    response_model=IngestAnswer,
    responses={
        202: {"description": "Every event was stored, or was already stored (duplicate)."},
        MULTI_STATUS: {
            "description": "Some events were rejected; the others are stored.",
            "content": {JSON: {"schema": _ANSWER}},
        },
        **responses(400, 401, 403, 413, 415),
        422: {
            "description": "Every event was rejected; each one with its reason.",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/EventsRejected"}}},
        },
    },
    openapi_extra=REQUEST_BODY,
)
async def ingest_events(request: Request, key: OperatorKey, state: State) -> Response:
    """Operator keys only. Events are identified by (source, id): sending one again is
    harmless (`duplicate`); another payload under a stored id is `rejected` (R3)."""
    items = _items(_media_type(request), await request.body())
    report = await run_in_threadpool(
        ingest_batch, state.database, items, clock=state.clock, welcome=state.settings.welcome
    )
    return _answer(report, request.url.path)


def _media_type(request: Request) -> str:
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type not in (SINGLE, BATCH, JSON):
        raise Problem(
            415,
            f"events are sent as {SINGLE} (one), {BATCH} (a JSON array) or {JSON},"
            f" not {declared or 'without a Content-Type'}",
        )
    return media_type


_SPLIT: Final = msgspec.json.Decoder(list[msgspec.Raw])


def _items(media_type: str, body: bytes) -> list[bytes]:
    if b"\\u0000" in body:
        # No event field may hold NUL, and PostgreSQL text cannot store it: refused here
        # rather than half-written.
        raise Problem(400, "events must not contain NUL characters (\\u0000)")
    try:
        decoded: Any = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Problem(400, f"malformed JSON: {error}") from None
    if isinstance(decoded, list):
        if media_type == SINGLE:
            raise Problem(400, f"a batch (a JSON array) is sent as {BATCH}")
        # Each item goes to the service as its own JSON text, as a line of a file would;
        # one that is not an object is rejected there with its index, as any invalid
        # event. orjson accepted the body, so msgspec's stricter-or-equal reader only
        # cuts it; should the two ever disagree, the decoded items are sent instead.
        try:
            return [bytes(item) for item in _SPLIT.decode(body)]
        except msgspec.DecodeError:
            return [orjson.dumps(item) for item in decoded]
    if media_type == BATCH:
        raise Problem(400, f"{BATCH} is a JSON array of events")
    return [body]


def _answer(report: ChunkReport, instance: str) -> Response:
    counts = {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "unpriced": report.unpriced,
    }
    events = [outcome.as_json() for outcome in report.outcomes()]
    stored = report.accepted + report.duplicates
    if report.rejected and not stored:
        return problem_response(
            422,
            f"all {report.rejected} event(s) were rejected; nothing was stored",
            instance,
            type=PROBLEM_TYPES["rejected"],
            title="Every event was rejected",
            extra={**counts, "events": events},
        )
    status = MULTI_STATUS if report.rejected else 202
    return Response(orjson.dumps({**counts, "events": events}), status, media_type=JSON)
