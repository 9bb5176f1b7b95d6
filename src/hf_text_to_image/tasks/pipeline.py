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
from .store import (
    FINAL_STATUSES,
    MAX_DELIVERIES,
    TOO_MANY_DELIVERIES_MESSAGE,
    TaskRecord,
    TaskStore,
    TaskStoreUnavailableError,
)

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
        store: TaskStore,
        reporter: Reporter,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._hf = hf
        self._storages = storages
        self._store = store
        self._reporter = reporter

    async def run(self, record: TaskRecord) -> None:
        """Process the task and deliver its final report; never raises but CancelledError.

        Cancelled (shutdown past its grace): a shared store leaves the task to another
        replica; otherwise it is reported as an error.
        """
        try:
            update = await self._first_update(record)
            if update is None:
                return
        except asyncio.CancelledError:
            give_up = spawn(f"shutdown report of task {record.id}", self._give_up(record))
            with contextlib.suppress(Exception):  # logged with the task's name by spawn
                await asyncio.shield(give_up)
            raise
        except Exception:
            logger.exception("task %s: unexpected failure", record.id)
            update = error_update(INTERNAL_ERROR_MESSAGE)
        await self.finish(record, update)

    async def _first_update(self, record: TaskRecord) -> TaskUpdate | None:
        """The update to report, or None when the engine already has this task's outcome."""
        if record.report_started_elsewhere:
            # The replica that stopped may have sent the report just before it did.
            engine_status = await self._reporter.engine_status(record.service_task.callback_url)
            if engine_status in FINAL_STATUSES:
                logger.info("task %s: the engine already has its report", record.id)
                await self._release(record, engine_status)
                return None
        if record.deliveries > MAX_DELIVERIES:
            return error_update(TOO_MANY_DELIVERIES_MESSAGE.format(count=record.deliveries - 1))
        return await self._produce(record)

    async def _give_up(self, record: TaskRecord) -> None:
        if not await self._store.hand_back(record):
            await self.finish(record, error_update(SHUTDOWN_MESSAGE), budget=SHUTDOWN_REPORT_BUDGET)

    async def _produce(self, record: TaskRecord) -> TaskUpdate:
        service_task, task_id = record.service_task, record.id
        settings = self._settings
        try:
            description_key, prompt_key = input_keys(service_task)
            storage = await self._storages.for_task(service_task)
            await self._store.set_status(record, TaskStatus.FETCHING)
            logger.info("task %s: fetching inputs", task_id)
            with self._metrics.phase("fetch"):
                # Never more than the parsers accept (UTF-8 takes at most 4 bytes a character).
                raw_description, raw_prompt = await asyncio.gather(
                    storage.get(description_key, max_bytes=settings.max_description_bytes),
                    storage.get(
                        prompt_key, max_bytes=prompt_byte_limit(settings.max_prompt_length)
                    ),
                )
            await self._store.set_status(record, TaskStatus.PROCESSING)
            logger.info("task %s: generating", task_id)
            with self._metrics.phase("generate"):
                image = await generate_from_files(
                    raw_description,
                    raw_prompt,
                    self._hf,
                    self._settings,
                    TokenGrant.for_engine_task(self._settings.hf_token),
                )
            await self._store.set_status(record, TaskStatus.SAVING)
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
        self, record: TaskRecord, update: TaskUpdate, *, budget: float | None = None
    ) -> None:
        """Send the one report (if this worker is the one to), then free the task's place."""
        task_id = record.id
        final_status = update.status
        try:
            claimed = await self._store.claim_report(record, final_status)
        except TaskStoreUnavailableError:
            logger.warning("task %s: not reported: the task store is away", task_id)
            return
        if not claimed:
            return
        lost = False

        async def still_ours() -> bool:
            nonlocal lost
            lost = not await self._store.still_holds(record)
            return not lost

        with self._metrics.phase("report"):
            delivered = await self._reporter.report(
                task_id,
                record.service_task.callback_url,
                update,
                budget=budget,
                before_retry=still_ours,
            )
        if lost:
            # Another replica takes it over (or has): it asks the engine before reporting.
            logger.warning("task %s: report left to the replica that takes the task over", task_id)
            return
        if not delivered:
            # The engine never heard the outcome: whoever polls the status sees an error.
            final_status = TaskStatus.ERROR
        await self._release(record, final_status)

    async def _release(self, record: TaskRecord, final_status: TaskStatus) -> None:
        try:
            await self._store.release(record, final_status)
        except TaskStoreUnavailableError:
            logger.warning("task %s: its end was not recorded: the task store is away", record.id)
        self._metrics.tasks_finished.labels(final_status.value).inc()


def error_update(message: str) -> TaskUpdate:
    return TaskUpdate(status=TaskStatus.ERROR, data_out=[], error_message=message)
