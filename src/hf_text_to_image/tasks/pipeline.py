"""One task from start to end: fetch inputs, generate, store the PNG, report once."""

import asyncio
import contextlib
import logging

from ..access import TokenGrant
from ..config import Settings
from ..engine.models import ServiceTask, TaskStatus, TaskUpdate
from ..engine.reporting import Reporter
from ..errors import InvalidInputError, ServiceError
from ..generation import image_seed
from ..huggingface.client import HuggingFaceClient
from ..inputs import prompt_byte_limit
from ..metrics import Metrics
from ..service import INPUT_FIELDS, generate_from_files
from ..storage.factory import StorageFactory
from ..supervision import spawn
from .board import TaskBoard

logger = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = "The service is shutting down and could not run this task; submit it again."
# Reports sent while shutting down get a short budget: the pod's grace period is running.
SHUTDOWN_REPORT_BUDGET = 10.0
INTERNAL_ERROR_MESSAGE = "The service failed unexpectedly on this task; submit it again."


def input_keys(service_task: ServiceTask) -> tuple[str, str]:
    """The keys of `json_description` and `input_text`, by position (never by extension)."""
    keys = service_task.task.data_in
    if len(keys) != len(INPUT_FIELDS):
        raise InvalidInputError(
            f"The task has {len(keys)} input file(s); this service takes exactly "
            f"{len(INPUT_FIELDS)}: {' and '.join(INPUT_FIELDS)}."
        )
    return keys[0], keys[1]


class TaskPipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        hf: HuggingFaceClient,
        storages: StorageFactory,
        board: TaskBoard,
        reporter: Reporter,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._hf = hf
        self._storages = storages
        self._board = board
        self._reporter = reporter

    async def run(self, service_task: ServiceTask) -> None:
        """Process the task and deliver its final report; never raises but CancelledError."""
        task_id = service_task.task.id
        try:
            update = await self._produce(service_task)
        except asyncio.CancelledError:
            shutdown_report = spawn(
                f"shutdown report of task {task_id}",
                self.finish(
                    service_task, error_update(SHUTDOWN_MESSAGE), budget=SHUTDOWN_REPORT_BUDGET
                ),
            )
            with contextlib.suppress(Exception):  # logged with the task's name by spawn
                await asyncio.shield(shutdown_report)
            raise
        except Exception:
            logger.exception("task %s: unexpected failure", task_id)
            update = error_update(INTERNAL_ERROR_MESSAGE)
        await self.finish(service_task, update)

    async def _produce(self, service_task: ServiceTask) -> TaskUpdate:
        task_id = service_task.task.id
        settings = self._settings
        try:
            description_key, prompt_key = input_keys(service_task)
            storage = await self._storages.for_task(service_task)
            self._board.set_status(task_id, TaskStatus.FETCHING)
            logger.info("task %s: fetching inputs", task_id)
            with self._metrics.phase("fetch"):
                # Never more than the parsers accept (UTF-8 takes at most 4 bytes a character).
                raw_description, raw_prompt = await asyncio.gather(
                    storage.get(description_key, max_bytes=settings.max_description_bytes),
                    storage.get(
                        prompt_key, max_bytes=prompt_byte_limit(settings.max_prompt_length)
                    ),
                )
            self._board.set_status(task_id, TaskStatus.PROCESSING)
            logger.info("task %s: generating", task_id)
            with self._metrics.phase("generate"):
                image = await generate_from_files(
                    raw_description,
                    raw_prompt,
                    self._hf,
                    self._settings,
                    TokenGrant.for_engine_task(self._settings.hf_token),
                )
            self._board.set_status(task_id, TaskStatus.SAVING)
            logger.info(
                "task %s: storing the %dx%d PNG made by %s with seed %s",
                task_id,
                image.png.width,
                image.png.height,
                image.provider,
                image_seed(image),
            )
            with self._metrics.phase("store"):
                key = await storage.put(
                    image.png.data, filename="result.png", content_type="image/png"
                )
        except ServiceError as error:
            logger.info("task %s: failed: %s", task_id, error.message)
            return error_update(error.message)
        return TaskUpdate(status=TaskStatus.FINISHED, data_out=[key])

    async def finish(
        self, service_task: ServiceTask, update: TaskUpdate, *, budget: float | None = None
    ) -> None:
        """Record the final status, send the one report, then free the task's place."""
        task_id = service_task.task.id
        final_status = update.status
        self._board.set_status(task_id, final_status)
        try:
            with self._metrics.phase("report"):
                delivered = await self._reporter.report(
                    task_id, service_task.callback_url, update, budget=budget
                )
            if not delivered:
                # The engine never heard the outcome: whoever polls the status sees an error.
                final_status = TaskStatus.ERROR
                self._board.set_status(task_id, final_status)
        finally:
            self._board.release(task_id)
            self._metrics.tasks_finished.labels(final_status.value).inc()


def error_update(message: str) -> TaskUpdate:
    return TaskUpdate(status=TaskStatus.ERROR, data_out=[], error_message=message)
