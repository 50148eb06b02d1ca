"""Answers written as bytes once: what an Idempotency-Key replays is exactly what was sent."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel
from starlette.responses import Response

from bysecond.services.idempotency import Answer

JSON: Final = "application/json"
REPLAYED: Final = "Idempotent-Replayed"


def answer(model: BaseModel, status: int = 200) -> Answer:
    return Answer(status, model.model_dump_json().encode())


def respond(result: Answer) -> Response:
    headers = {REPLAYED: "true"} if result.replayed else None
    return Response(result.body, result.status, headers, media_type=JSON)
