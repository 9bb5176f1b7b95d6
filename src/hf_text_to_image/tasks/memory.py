"""The task store of one replica: a queue for its workers plus a status index, in memory."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

from ..engine.models import ServiceTask, TaskStatus
from ..errors import ServiceBusyError
from .store import FULL_MESSAGE, SHUTTING_DOWN_MESSAGE, TaskCounts, TaskRecord

# Finished tasks remembered at most (each entry is an id of up to 200 characters and a status).
DEFAULT_MAX_FINISHED = 10_000


class MemoryTaskStore:
    """Accepts at most `max_tasks` unfinished tasks and answers their status until retention ends.

    A task counts against `max_tasks` from acceptance until its final report was sent. Finished
    tasks are remembered for `retention_seconds`, and at most `max_finished` of them (the
    oldest are forgotten first), so that no number of tasks grows the store without bound.
    """

    shared = False

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
        self._accepting = True

    @property
    def accepting(self) -> bool:
        return self._accepting

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

    async def start(self) -> None:
        """Nothing to connect to."""

    async def aclose(self) -> None:
        """Nothing to close."""

    async def submit(self, service_task: ServiceTask) -> bool:
        task_id = service_task.task.id
        if task_id in self._active:
            return False
        if not self._accepting:
            raise ServiceBusyError(SHUTTING_DOWN_MESSAGE)
        if len(self._active) >= self.max_tasks:
            raise ServiceBusyError(FULL_MESSAGE.format(max_tasks=self.max_tasks))
        record = TaskRecord(service_task)
        self._active[task_id] = record
        self._done.pop(task_id, None)
        self._queue.put_nowait(record)
        return True

    async def next(self) -> TaskRecord:
        """The oldest queued task, `fetching` from now on (as a Redis store records it)."""
        record = await self._queue.get()
        record.status = TaskStatus.FETCHING
        return record

    async def set_status(self, record: TaskRecord, status: TaskStatus) -> None:
        held = self._active.get(record.id)
        if held is not None:
            held.status = status

    async def status_of(self, task_id: str) -> TaskStatus | None:
        self._forget_expired()
        record = self._active.get(task_id)
        if record is not None:
            return record.status
        done = self._done.get(task_id)
        return done[0] if done else None

    async def counts(self) -> TaskCounts:
        return TaskCounts(active=len(self._active), max_tasks=self.max_tasks)

    async def claim_report(self, record: TaskRecord, status: TaskStatus) -> bool:
        """One replica, one worker per task: the worker that ran it reports it."""
        held = self._active.get(record.id)
        if held is None:
            return False
        held.status = status
        return True

    async def still_holds(self, record: TaskRecord) -> bool:
        return record.id in self._active

    async def release(self, record: TaskRecord, final_status: TaskStatus) -> None:
        if self._active.pop(record.id, None) is not None:
            self._done[record.id] = (final_status, self._clock())
        self._forget_expired()

    async def hand_back(self, record: TaskRecord) -> bool:
        """Nobody else holds this replica's tasks: it reports them itself."""
        return False

    async def close(self) -> list[TaskRecord]:
        """Stop accepting and hand back every task still waiting in the queue."""
        self._accepting = False
        waiting = []
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        return waiting

    async def other_replicas(self) -> int:
        return 0

    def _forget_expired(self) -> None:
        while len(self._done) > self._max_finished:
            self._done.popitem(last=False)
        horizon = self._clock() - self._retention
        while self._done:
            task_id, (_, finished_at) = next(iter(self._done.items()))
            if finished_at > horizon:
                break
            del self._done[task_id]
