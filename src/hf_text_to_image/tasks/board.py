"""The bounded set of accepted tasks: a queue for the workers plus a status index."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..engine.models import ServiceTask, TaskStatus
from ..errors import ServiceBusyError

FINAL_STATUSES = frozenset({TaskStatus.FINISHED, TaskStatus.ERROR})


@dataclass
class TaskRecord:
    service_task: ServiceTask
    status: TaskStatus = TaskStatus.PENDING
    accepted_at: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return self.service_task.task.id


# Finished tasks remembered at most (each entry is an id of up to 200 characters and a status).
DEFAULT_MAX_FINISHED = 10_000


class TaskBoard:
    """Accepts at most `max_tasks` unfinished tasks and answers their status until retention ends.

    A task counts against `max_tasks` from acceptance until its final report was sent. Finished
    tasks are remembered for `retention_seconds`, and at most `max_finished` of them (the
    oldest are forgotten first), so that no number of tasks grows the board without bound.
    """

    def __init__(
        self,
        max_tasks: int,
        retention_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_finished: int = DEFAULT_MAX_FINISHED,
    ) -> None:
        self.max_tasks = max_tasks
        self._retention = retention_seconds
        self._max_finished = max_finished
        self._clock = clock
        self._queue: asyncio.Queue[TaskRecord] = asyncio.Queue()
        self._active: dict[str, TaskRecord] = {}
        self._done: OrderedDict[str, tuple[TaskStatus, float]] = OrderedDict()
        self.accepting = True

    @property
    def active_count(self) -> int:
        return len(self._active)

    @property
    def queued_count(self) -> int:
        return self._queue.qsize()

    @property
    def finished_count(self) -> int:
        """Finished tasks still answerable (at most `max_finished`)."""
        return len(self._done)

    def submit(self, service_task: ServiceTask) -> bool:
        """Queue a task; False if the same id is already queued or running (nothing to do)."""
        task_id = service_task.task.id
        if task_id in self._active:
            return False
        if not self.accepting:
            raise ServiceBusyError("The service is shutting down; submit the task again.")
        if len(self._active) >= self.max_tasks:
            raise ServiceBusyError(
                f"The service already holds {self.max_tasks} tasks; submit again shortly."
            )
        record = TaskRecord(service_task)
        self._active[task_id] = record
        self._done.pop(task_id, None)
        self._queue.put_nowait(record)
        return True

    async def next(self) -> TaskRecord:
        return await self._queue.get()

    def set_status(self, task_id: str, status: TaskStatus) -> None:
        record = self._active.get(task_id)
        if record is not None:
            record.status = status

    def release(self, task_id: str) -> None:
        """The task's final report is done: free its place and remember its final status."""
        record = self._active.pop(task_id, None)
        if record is not None:
            self._done[task_id] = (record.status, self._clock())
        self._forget_expired()

    def status_of(self, task_id: str) -> TaskStatus | None:
        self._forget_expired()
        record = self._active.get(task_id)
        if record is not None:
            return record.status
        done = self._done.get(task_id)
        return done[0] if done else None

    def close(self) -> list[TaskRecord]:
        """Stop accepting and hand back every task still waiting in the queue."""
        self.accepting = False
        waiting = []
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        return waiting

    def _forget_expired(self) -> None:
        while len(self._done) > self._max_finished:
            self._done.popitem(last=False)
        horizon = self._clock() - self._retention
        while self._done:
            task_id, (_, finished_at) = next(iter(self._done.items()))
            if finished_at > horizon:
                break
            del self._done[task_id]
