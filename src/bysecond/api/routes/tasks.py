"""`POST /v1/organizations/{org}/tasks`: bill a custom task (R2), payable by credits (R10)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from bysecond.services.billed_tasks import bill_task
from bysecond.services.idempotency import Answer, IdempotencyMismatch, once
from bysecond.services.tasks import TaskError

from ..deps import Db, Idempotency, Now, OperatorOrgScope
from ..problems import field_problem, idempotency_problem, responses
from ..responses import answer, respond
from ..schemas.tasks import TaskCreate, TaskPublic

_TASK = "#/components/schemas/TaskPublic"
router = APIRouter(prefix="/organizations/{org}/tasks", tags=["tasks"])


@router.post(
    "",
    name="create_task",
    summary="Bill a custom task",
    status_code=201,
    response_model=TaskPublic,
    responses={
        200: {
            "description": "This task was already billed: nothing changed (R3).",
            "content": {"application/json": {"schema": {"$ref": _TASK}}},
        },
        **responses(400, 401, 403, 404, 422),
    },
)
def create_task(
    org: OperatorOrgScope, body: TaskCreate, db: Db, now: Now, scope: Idempotency
) -> Response:
    """Operator keys only. The task is stored as a `task.performed` event and billed on
    the invoice of the period of `at`."""
    fallback = scope.derived_id("task-") if scope else None

    def bill() -> Answer:
        task = bill_task(db, org, body.order(), now, fallback_id=fallback)
        return answer(TaskPublic.of(task), 200 if task.status == "duplicate" else 201)

    try:
        return respond(once(db, scope, bill))
    except IdempotencyMismatch as error:
        raise idempotency_problem(str(error)) from None
    except TaskError as error:
        field, _, message = str(error).partition(": ")
        raise field_problem(_body_field(field), message or str(error)) from None


def _body_field(event_field: str) -> str:
    """The body field behind the task event's field that ingestion refused."""
    if event_field.startswith("data."):
        return event_field.removeprefix("data.")
    return {"time": "at", "id": "task_id"}.get(event_field, event_field)
