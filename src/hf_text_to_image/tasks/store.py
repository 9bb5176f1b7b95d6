"""The task store: where accepted tasks wait, which worker runs them, what their status is.

Two implementations: `MemoryTaskStore` (one replica, nothing to install) and `RedisTaskStore`
(a fleet of replicas sharing one queue, with takeover after a lease). The workers, the pipeline
and the routes speak only to this interface.
"""

import time
from dataclasses import dataclass, field
from typing import Protocol

from ..engine.models import ServiceTask, TaskStatus
from ..errors import ServiceBusyError

FINAL_STATUSES = frozenset({TaskStatus.FINISHED, TaskStatus.ERROR})

FULL_MESSAGE = "The service already holds {max_tasks} tasks; submit again shortly."
SHUTTING_DOWN_MESSAGE = "The service is shutting down; submit the task again."
# A task whose replicas stopped this many times while running it is not run again.
MAX_DELIVERIES = 3
TOO_MANY_DELIVERIES_MESSAGE = (
    "The replicas running this task stopped {count} times before it finished; submit it again."
)


class TaskStoreUnavailableError(ServiceBusyError):
    """The shared task store cannot be reached (503 until it is back)."""


@dataclass
class TaskRecord:
    """One accepted task as a worker holds it."""

    service_task: ServiceTask
    status: TaskStatus = TaskStatus.PENDING
    accepted_at: float = field(default_factory=time.monotonic)
    # The store's handle on the task (the stream entry in Redis); empty in memory.
    entry: str = ""
    # Taken over from a replica that stopped: its report may have been under way already.
    taken_over: bool = False
    report_started_elsewhere: bool = False
    deliveries: int = 1

    @property
    def id(self) -> str:
        return self.service_task.task.id


@dataclass(frozen=True)
class TaskCounts:
    """Unfinished tasks (queued and running) against the bound, as the store sees them."""

    active: int
    max_tasks: int


class TaskStore(Protocol):
    """What the workers, the pipeline and the routes need from a store of tasks."""

    @property
    def accepting(self) -> bool:
        """False once shutdown has begun."""
        ...

    @property
    def queued_count(self) -> int:
        """Tasks waiting for a worker (for the metrics; may be a few seconds old)."""
        ...

    @property
    def shared(self) -> bool:
        """True when other replicas share the tasks (they take over what this one leaves)."""
        ...

    async def start(self) -> None:
        """Connect and start whatever background upkeep the store needs."""
        ...

    async def aclose(self) -> None:
        """Stop the upkeep and close connections."""
        ...

    async def submit(self, service_task: ServiceTask) -> bool:
        """Queue a task; False when the same id is already held (nothing to do).

        Raises ServiceBusyError when full or shutting down, TaskStoreUnavailableError when
        the store cannot be reached.
        """
        ...

    async def next(self) -> TaskRecord | None:
        """The next task for a worker of this replica; None once the store is closed."""
        ...

    async def set_status(self, record: TaskRecord, status: TaskStatus) -> None:
        """Record progress (best effort: a store that is away does not stop the task)."""
        ...

    async def status_of(self, task_id: str) -> TaskStatus | None:
        """The status of a task held or recently finished; None if unknown."""
        ...

    async def counts(self) -> TaskCounts:
        """Raises TaskStoreUnavailableError when the store cannot be reached."""
        ...

    async def claim_report(self, record: TaskRecord, status: TaskStatus) -> bool:
        """True if this worker is the one to send the task's final report (at most one is);
        the task shows `status`, its final one, from then on."""
        ...

    async def still_holds(self, record: TaskRecord) -> bool:
        """Before a report is sent again: True if the report is still this worker's to send
        (its lease renewed for one more attempt); False if not, or if the store cannot say."""
        ...

    async def release(self, record: TaskRecord, final_status: TaskStatus) -> None:
        """The final report is done: free the task's place and remember its final status."""
        ...

    async def hand_back(self, record: TaskRecord) -> bool:
        """Leave an unfinished task to another replica; False when the store cannot."""
        ...

    async def close(self) -> list[TaskRecord]:
        """Stop taking tasks; hand back those queued here that nobody else will run."""
        ...

    async def other_replicas(self) -> int:
        """How many other replicas share the tasks and are alive now (0 in memory)."""
        ...
