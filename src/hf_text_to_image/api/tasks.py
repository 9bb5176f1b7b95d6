"""The engine-facing endpoints: liveness, task intake and task status."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, Response

from ..engine.models import ServiceTask, TaskStatusAnswer
from ..errors import ServiceBusyError, UntrustedEngineError
from ..tasks.store import TaskStoreUnavailableError
from .answers import (
    VALIDATION_ANSWER,
    ComputeAnswer,
    StatusAnswer,
    error_answers,
    json_answer,
)
from .deps import MetricsDep, StoreDep, TrustDep

router = APIRouter(tags=["Engine"])


async def trusted_task(
    service_task: ServiceTask, trust: TrustDep, metrics: MetricsDep
) -> ServiceTask:
    """The task, if every URL in it is on a trusted engine origin; 403 before any contact."""
    if fields := trust.untrusted_fields(service_task):
        metrics.tasks_rejected.labels("untrusted").inc()
        raise UntrustedEngineError(
            f"The task's {', '.join(fields)} is not on the origin of an engine this service "
            "serves (ENGINE_URLS, TRUSTED_ENGINE_ORIGINS; TRUSTED_S3_ORIGINS for s3_host)."
        )
    if not trust.callback_is_the_tasks_own(service_task):
        metrics.tasks_rejected.labels("untrusted").inc()
        raise UntrustedEngineError(
            "The task's callback_url must be the engine's /tasks/{id} of this very task."
        )
    return service_task


TrustedTaskDep = Annotated[ServiceTask, Depends(trusted_task)]


@router.get(
    "/status",
    summary="Whether the service takes work",
    responses={
        200: json_answer(
            StatusAnswer,
            "The service takes work.",
            {"status": "available", "tasks": 3, "max_tasks": 50},
        ),
        503: json_answer(
            StatusAnswer,
            "The service is shutting down, or its task store (Redis) is away.",
            {"status": "unavailable"},
        ),
    },
)
async def status(store: StoreDep) -> JSONResponse:
    if not store.accepting:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        counts = await store.counts()
    except TaskStoreUnavailableError as error:
        return JSONResponse({"status": "unavailable", "detail": error.message}, status_code=503)
    return JSONResponse(
        {"status": "available", "tasks": counts.active, "max_tasks": counts.max_tasks}
    )


@router.post(
    "/compute",
    summary="Accept a task from a core engine",
    responses={
        200: json_answer(
            ComputeAnswer, "The task is queued.", {"id": "0f8e1c2a", "status": "accepted"}
        ),
        **error_answers(
            {
                403: (
                    "A URL of the task is not on a trusted engine origin.",
                    "The task's callback_url is not on the origin of an engine this service "
                    "serves (ENGINE_URLS, TRUSTED_ENGINE_ORIGINS; TRUSTED_S3_ORIGINS for s3_host).",
                ),
                503: (
                    "MAX_TASKS reached, shutting down, or the task store (Redis) is away.",
                    "The service holds as many tasks as it allows (MAX_TASKS); try again later.",
                ),
            }
        ),
        **VALIDATION_ANSWER,
    },
)
async def compute(
    service_task: TrustedTaskDep, store: StoreDep, metrics: MetricsDep
) -> dict[str, str]:
    """Queue the task and answer at once; its result goes to `callback_url`."""
    try:
        accepted = await store.submit(service_task)
    except TaskStoreUnavailableError:
        metrics.tasks_rejected.labels("store_unreachable").inc()
        raise
    except ServiceBusyError:
        reason = "full" if store.accepting else "shutting_down"
        metrics.tasks_rejected.labels(reason).inc()
        raise
    if accepted:
        metrics.tasks_accepted.inc()
    return {"id": service_task.task.id, "status": "accepted"}


@router.get(
    "/tasks/{task_id}/status",
    response_model=TaskStatusAnswer,
    summary="The status of a task this service holds",
    responses={
        200: json_answer(TaskStatusAnswer, "The task's status.", {"status": "processing"}),
        **error_answers(
            {
                404: (
                    "No such task, or its retention period has ended.",
                    "Task 0f8e1c2a is not held by the service: it is unknown or its "
                    "retention period ended.",
                ),
                503: (
                    "The task store (Redis) is away, and this replica does not run the task.",
                    "The service's task store (Redis) cannot be reached; submit again shortly.",
                ),
            }
        ),
        **VALIDATION_ANSWER,
    },
)
async def task_status(task_id: str, store: StoreDep) -> TaskStatusAnswer:
    status = await store.status_of(task_id)
    if status is None:
        holder = "the service" if store.shared else "this replica"
        raise HTTPException(
            404,
            detail=f"Task {task_id} is not held by {holder}: it is unknown or its retention "
            "period ended.",
        )
    return TaskStatusAnswer(status=status)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics in Prometheus' text format.",
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": 'process_requests_total{provider="hf-inference",status="200"} 3.0\n',
                }
            },
        }
    },
)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
