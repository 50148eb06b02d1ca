"""The OpenAPI document, generated from the routes and completed with what FastAPI does
not see: the problem details, the events route's raw body, a default error answer."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from .problems import PROBLEM_JSON, ProblemDetails
from .schemas.events import CloudEvent, EventsRejected
from .schemas.invoices import InvoiceDocument

API_VERSION: Final = "1.0.0"
DESCRIPTION: Final = """\
Authentication: `Authorization: Bearer <key>`. An operator key may do everything; an
organisation key reads its own organisation and changes nothing but its profile. Another
organisation's resource answers 404, exactly as a missing one does.

Amounts are decimal strings, never JSON numbers; instants are RFC 3339. Every error is
`application/problem+json` (RFC 9457). A POST that creates something takes an
`Idempotency-Key` header: a retry with the same key and body gets the first answer again.

Problem types beyond `about:blank`: `urn:bysecond:problem:validation-error` (each field
in `errors`), `urn:bysecond:problem:events-rejected` (every event of a request refused,
each with its reason), `urn:bysecond:problem:idempotency-key-reused`,
`urn:bysecond:problem:period-not-over`, `urn:bysecond:problem:not-an-e-invoice`.
"""


def install(app: FastAPI) -> None:
    def generate() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = generate  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in REFERENCED:
        _add_component(components, model)
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("default", _DEFAULT)
    return schema


_DEFAULT: Final = {
    "description": "Any other error, as problem details (RFC 9457).",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
}


# Models that answers and request bodies refer to by hand (problem details, the events
# route's raw body), which FastAPI does not collect from type hints.
REFERENCED: Final[tuple[type[BaseModel], ...]] = (
    ProblemDetails,
    CloudEvent,
    EventsRejected,
    InvoiceDocument,
)


def _add_component(components: dict[str, Any], model: type[BaseModel]) -> None:
    found = model.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    for name, definition in found.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, found)
