import pytest

from hf_text_to_image.engine.models import ServiceTask, TaskStatus
from hf_text_to_image.errors import ServiceBusyError
from hf_text_to_image.tasks.memory import MemoryTaskStore
from hf_text_to_image.tasks.store import TaskRecord
from tasks.steps import EVERY_STEP, statuses_seen

pytestmark = pytest.mark.anyio


def make_task(task_id: str) -> ServiceTask:
    return ServiceTask.model_validate(
        {
            "task": {"id": task_id, "data_in": ["a", "b"]},
            "callback_url": "http://e/tasks/x",
            "storage_url": "http://e/storage",
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def finish(store: MemoryTaskStore, task_id: str) -> None:
    record = TaskRecord(make_task(task_id))
    assert await store.claim_report(record, TaskStatus.FINISHED)
    await store.release(record, TaskStatus.FINISHED)


async def test_submit_refuses_past_max_tasks() -> None:
    store = MemoryTaskStore(max_tasks=2, retention_seconds=10)
    assert await store.submit(make_task("a"))
    assert await store.submit(make_task("b"))
    with pytest.raises(ServiceBusyError):
        await store.submit(make_task("c"))
    await finish(store, "a")
    assert await store.submit(make_task("c"))
    assert (await store.counts()).active == 2


async def test_submit_same_id_twice_is_a_no_op() -> None:
    store = MemoryTaskStore(max_tasks=5, retention_seconds=10)
    assert await store.submit(make_task("a"))
    assert not await store.submit(make_task("a"))
    assert store.queued_count == 1


async def test_status_follows_the_worker_then_the_final_status() -> None:
    store = MemoryTaskStore(max_tasks=5, retention_seconds=10)
    await store.submit(make_task("a"))
    record = await store.next()
    await store.set_status(record, TaskStatus.PROCESSING)
    assert await store.status_of("a") is TaskStatus.PROCESSING
    await store.release(record, TaskStatus.ERROR)
    assert await store.status_of("a") is TaskStatus.ERROR
    assert not await store.claim_report(record, TaskStatus.FINISHED), (
        "a released task is not reported again"
    )


async def test_finished_status_kept_for_retention_then_forgotten() -> None:
    clock = Clock()
    store = MemoryTaskStore(max_tasks=5, retention_seconds=60, clock=clock)
    await store.submit(make_task("a"))
    await finish(store, "a")
    clock.now += 59
    assert await store.status_of("a") is TaskStatus.FINISHED
    clock.now += 2
    assert await store.status_of("a") is None


async def test_close_hands_back_queued_and_refuses_new() -> None:
    store = MemoryTaskStore(max_tasks=5, retention_seconds=10)
    await store.submit(make_task("a"))
    await store.submit(make_task("b"))
    assert [record.id for record in await store.close()] == ["a", "b"]
    with pytest.raises(ServiceBusyError, match="shutting down"):
        await store.submit(make_task("c"))
    assert not await store.hand_back(TaskRecord(make_task("a")))
    assert await store.other_replicas() == 0


async def test_finished_tasks_are_bounded_in_number_as_well_as_time() -> None:
    store = MemoryTaskStore(max_tasks=5, retention_seconds=3600, max_finished=3)
    for task_id in ("a", "b", "c", "d", "e"):
        await store.submit(make_task(task_id))
        await finish(store, task_id)
    assert store.finished_count == 3
    assert await store.status_of("a") is None
    assert await store.status_of("b") is None
    statuses = [await store.status_of(task_id) for task_id in ("c", "d", "e")]
    assert statuses == [TaskStatus.FINISHED] * 3


async def test_no_finished_task_is_kept_with_a_bound_of_zero() -> None:
    store = MemoryTaskStore(max_tasks=5, retention_seconds=3600, max_finished=0)
    await store.submit(make_task("a"))
    await finish(store, "a")
    assert store.finished_count == 0


async def test_status_of_a_task_follows_each_step_it_takes() -> None:
    store = MemoryTaskStore(max_tasks=2, retention_seconds=10)
    assert await statuses_seen(store, store, make_task("a")) == EVERY_STEP
