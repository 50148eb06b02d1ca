"""Every error as `application/problem+json` (RFC 9457): type, title, status, detail, instance.

Plain HTTP errors have the type `about:blank` and the status phrase as title; errors a
client can act on in a specific way have a type of their own (`PROBLEM_TYPES`). Field
errors name each field in `detail` and in the `errors` list.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON: Final = "application/problem+json"
BLANK: Final = "about:blank"
PREFIX: Final = "urn:bysecond:problem:"
PROBLEM_TYPES: Final = {
    "validation": PREFIX + "validation-error",
    "idempotency": PREFIX + "idempotency-key-reused",
    "rejected": PREFIX + "events-rejected",
    "period": PREFIX + "period-not-over",
    "einvoice": PREFIX + "not-an-e-invoice",
}
log = logging.getLogger("bysecond.api")


class FieldError(BaseModel):
    field: str = Field(description="The field at fault, dotted: `amount`, `data.flavor`.")
    location: str = Field(description="Where it was: body, query, path or header.")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem; about:blank for plain HTTP.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed.")
    errors: list[FieldError] | None = Field(
        default=None, description="Each field at fault (validation problems)."
    )


class Problem(HTTPException):
    """An error answered as problem details. A FastAPI HTTPException, so that one raised
    while a request body is read reaches the handler unchanged."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = BLANK,  # RFC 9457's member name
        title: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers else None)
        self.type = type
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors)
        self.extra = dict(extra or {})


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    type: str = BLANK,
    title: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = [error.model_dump() for error in errors]
    body.update(extra or {})
    return Response(orjson.dumps(body), status, dict(headers or {}), media_type=PROBLEM_JSON)


def field_problem(field: str, message: str, location: str = "body", status: int = 422) -> Problem:
    """One field refused."""
    return Problem(
        status,
        f"{field}: {message}",
        type=PROBLEM_TYPES["validation"],
        title="Invalid request",
        errors=[FieldError(field=field, location=location, message=message)],
    )


def fields_problem(errors: Sequence[FieldError], status: int = 422) -> Problem:
    return Problem(
        status,
        "; ".join(f"{e.field}: {e.message}" for e in errors),
        type=PROBLEM_TYPES["validation"],
        title="Invalid request",
        errors=errors,
    )


def idempotency_problem(detail: str) -> Problem:
    """The same Idempotency-Key sent with another request."""
    return Problem(422, detail, type=PROBLEM_TYPES["idempotency"], title="Idempotency-Key reused")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)


async def _problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, Problem)
    return problem_response(
        error.status_code,
        str(error.detail),
        request.url.path,
        type=error.type,
        title=error.title,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


async def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(status).description
    if status == 404 and detail == "Not Found":
        detail = f"nothing at {request.url.path}"
    if status == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(status, detail, request.url.path, headers=error.headers)


async def _validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [_field_error(item) for item in error.errors()]
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        # A body that is not JSON at all is malformed (400), not a field error (422).
        detail = "; ".join(e.message for e in errors)
        return problem_response(400, detail, request.url.path)
    return problem_response(
        422,
        "; ".join(f"{e.field}: {e.message}" for e in errors) or "the request is not valid",
        request.url.path,
        type=PROBLEM_TYPES["validation"],
        title="Invalid request",
        errors=errors,
    )


async def _unexpected(request: Request, error: Exception) -> Response:
    # Never silent (STYLE.md): the cause goes to the log, the client gets no internals.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        500, "an unexpected error occurred; it has been logged", request.url.path
    )


def _field_error(item: Mapping[str, Any]) -> FieldError:
    location, *path = [str(part) for part in item.get("loc", ())] or ["body"]
    message = str(item.get("msg", "is not valid")).removeprefix("Value error, ")
    if item.get("type") == "json_invalid":
        message = f"malformed JSON: {item.get('ctx', {}).get('error', message)}"
    return FieldError(field=".".join(path) or location, location=location, message=message)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of the problems an operation may answer."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for status in statuses
    }


_DESCRIPTIONS: Final = {
    400: "Malformed request (for example a body that is not JSON).",
    401: "No key, or a key that is unknown or revoked.",
    403: "The key may not do this (an organisation key, for an operator's action).",
    404: "No such resource, or one of another organisation: the same answer.",
    409: "The resource is not in a state that allows this.",
    413: "The request body is larger than the server accepts.",
    415: "The body's media type is not one this operation takes.",
    422: "A field is not valid; each one is named.",
}
