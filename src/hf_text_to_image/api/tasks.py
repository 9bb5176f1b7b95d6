"""The engine-facing endpoints: liveness, task intake and task status."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response

from ..engine.models import ServiceTask, TaskStatusAnswer
from ..errors import ServiceBusyError
from .deps import RuntimeDep

router = APIRouter(tags=["Engine"])


@router.get("/status", summary="Whether the service takes work")
async def status(runtime: RuntimeDep) -> JSONResponse:
    board = runtime.board
    if not board.accepting:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse(
        {"status": "available", "tasks": board.active_count, "max_tasks": board.max_tasks}
    )


@router.post(
    "/compute",
    summary="Accept a task from a core engine",
    responses={503: {"description": "MAX_TASKS reached, or shutting down; the engine retries."}},
)
async def compute(service_task: ServiceTask, runtime: RuntimeDep) -> dict[str, str]:
    """Queue the task and answer at once; its result goes to `callback_url`."""
    try:
        accepted = runtime.board.submit(service_task)
    except ServiceBusyError:
        reason = "full" if runtime.board.accepting else "shutting_down"
        runtime.metrics.tasks_rejected.labels(reason).inc()
        raise
    if accepted:
        runtime.metrics.tasks_accepted.inc()
    return {"id": service_task.task.id, "status": "accepted"}


@router.get(
    "/tasks/{task_id}/status",
    response_model=TaskStatusAnswer,
    summary="The status of a task this service holds",
    responses={404: {"description": "No such task here, or its retention period has ended."}},
)
async def task_status(task_id: str, runtime: RuntimeDep) -> TaskStatusAnswer:
    status = runtime.board.status_of(task_id)
    if status is None:
        raise HTTPException(404, detail=f"Task {task_id} is not known to this service.")
    return TaskStatusAnswer(status=status)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(
        runtime.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
