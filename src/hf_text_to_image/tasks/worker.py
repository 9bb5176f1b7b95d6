"""The pool of workers that take tasks from the store, and its orderly shutdown."""

import asyncio
import logging

from ..pacing import Pacing
from ..supervision import spawn_forever
from .pipeline import SHUTDOWN_MESSAGE, SHUTDOWN_REPORT_BUDGET, TaskPipeline, error_update
from .store import TaskStore

logger = logging.getLogger(__name__)


class WorkerPool:
    def __init__(
        self, store: TaskStore, pipeline: TaskPipeline, size: int, *, pacing: Pacing
    ) -> None:
        self._store = store
        self._pacing = pacing
        self._pipeline = pipeline
        self.size = size
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._workers = [
            spawn_forever(f"worker {number}", self._work, self._pacing)
            for number in range(self.size)
        ]

    async def _work(self) -> None:
        while (record := await self._store.next()) is not None:
            self.running += 1
            self._idle.clear()
            try:
                await self._pipeline.run(record)
            except Exception:  # the pipeline reports its own failures; keep the worker alive
                logger.exception("task %s: worker caught an unexpected error", record.id)
            finally:
                self.running -= 1
                if self.running == 0:
                    self._idle.set()

    async def stop(self, grace_seconds: float) -> None:
        """Refuse new tasks, report queued ones as errors (those no other replica will run),
        give running ones `grace_seconds`, then leave them to the fleet or report them."""
        waiting = await self._store.close()
        if waiting:
            logger.warning("shutting down: reporting %d queued task(s) as errors", len(waiting))
        shutdown_update = error_update(SHUTDOWN_MESSAGE)
        await asyncio.gather(
            *(
                self._pipeline.finish(record, shutdown_update, budget=SHUTDOWN_REPORT_BUDGET)
                for record in waiting
            )
        )
        try:
            async with asyncio.timeout(grace_seconds):
                await self._idle.wait()
        except TimeoutError:
            logger.warning(
                "shutting down: %d task(s) still running after %g s", self.running, grace_seconds
            )
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
