"""The task store the settings ask for: in memory, or Redis when TASK_STORE_URL is set."""

from ..config import Settings
from ..service import SLUG
from .memory import MemoryTaskStore
from .redis_store import RedisTaskStore, connect
from .store import TaskStore


def build_task_store(settings: Settings) -> TaskStore:
    if settings.task_store_url is None:
        return MemoryTaskStore(
            settings.max_tasks,
            settings.task_retention_seconds,
            max_finished=settings.max_finished_tasks,
        )
    return RedisTaskStore(
        connect(settings.task_store_url, timeout=settings.task_store_timeout),
        prefix=SLUG,
        max_tasks=settings.max_tasks,
        retention_seconds=settings.task_retention_seconds,
        max_finished=settings.max_finished_tasks,
        lease_seconds=settings.task_lease_seconds,
        timeout=settings.task_store_timeout,
    )
