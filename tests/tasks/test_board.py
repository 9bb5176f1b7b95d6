import pytest

from hf_text_to_image.engine.models import ServiceTask, TaskStatus
from hf_text_to_image.errors import ServiceBusyError
from hf_text_to_image.tasks.board import TaskBoard


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


def test_submit_refuses_past_max_tasks() -> None:
    board = TaskBoard(max_tasks=2, retention_seconds=10)
    assert board.submit(make_task("a"))
    assert board.submit(make_task("b"))
    with pytest.raises(ServiceBusyError):
        board.submit(make_task("c"))
    board.release("a")
    assert board.submit(make_task("c"))


def test_submit_same_id_twice_is_a_no_op() -> None:
    board = TaskBoard(max_tasks=5, retention_seconds=10)
    assert board.submit(make_task("a"))
    assert not board.submit(make_task("a"))
    assert board.queued_count == 1


def test_finished_status_kept_for_retention_then_forgotten() -> None:
    clock = Clock()
    board = TaskBoard(max_tasks=5, retention_seconds=60, clock=clock)
    board.submit(make_task("a"))
    board.set_status("a", TaskStatus.FINISHED)
    board.release("a")
    clock.now += 59
    assert board.status_of("a") is TaskStatus.FINISHED
    clock.now += 2
    assert board.status_of("a") is None


def test_close_hands_back_queued_and_refuses_new() -> None:
    board = TaskBoard(max_tasks=5, retention_seconds=10)
    board.submit(make_task("a"))
    board.submit(make_task("b"))
    assert [record.id for record in board.close()] == ["a", "b"]
    with pytest.raises(ServiceBusyError, match="shutting down"):
        board.submit(make_task("c"))


def test_finished_tasks_are_bounded_in_number_as_well_as_time() -> None:
    board = TaskBoard(max_tasks=5, retention_seconds=3600, max_finished=3)
    for task_id in ("a", "b", "c", "d", "e"):
        board.submit(make_task(task_id))
        board.set_status(task_id, TaskStatus.FINISHED)
        board.release(task_id)
    assert board.finished_count == 3
    assert board.status_of("a") is None
    assert board.status_of("b") is None
    assert [board.status_of(task_id) for task_id in ("c", "d", "e")] == [TaskStatus.FINISHED] * 3


def test_no_finished_task_is_kept_with_a_bound_of_zero() -> None:
    board = TaskBoard(max_tasks=5, retention_seconds=3600, max_finished=0)
    board.submit(make_task("a"))
    board.release("a")
    assert board.finished_count == 0
    assert board.status_of("a") is None
