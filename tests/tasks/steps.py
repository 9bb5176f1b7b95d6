"""The walk both stores' tests take a task through, step by step."""

from hf_text_to_image.engine.models import ServiceTask, TaskStatus
from hf_text_to_image.tasks.store import TaskStore

EVERY_STEP = ["pending", "fetching", "processing", "saving", "finished", "finished"]


async def statuses_seen(runner: TaskStore, observer: TaskStore, task: ServiceTask) -> list[str]:
    """What `observer` answers for `task` after each step `runner` takes it through."""
    task_id = task.task.id
    await runner.submit(task)
    seen = [await observer.status_of(task_id)]
    record = await runner.next()
    assert record is not None
    seen.append(await observer.status_of(task_id))
    for step in (TaskStatus.PROCESSING, TaskStatus.SAVING):
        await runner.set_status(record, step)
        seen.append(await observer.status_of(task_id))
    assert await runner.claim_report(record, TaskStatus.FINISHED)
    seen.append(await observer.status_of(task_id))
    await runner.release(record, TaskStatus.FINISHED)
    seen.append(await observer.status_of(task_id))
    return seen
