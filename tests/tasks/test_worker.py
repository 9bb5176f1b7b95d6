"""The worker pool under an unexpected error: the worker is logged by name and resumes."""

import logging

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.faults import failing_once
from standins.fixtures import Start, service_task, wait_for_report

from hf_text_to_image.tasks.memory import MemoryTaskStore


def test_a_worker_resumes_after_an_unexpected_error(
    start_service: Start,
    engine: EngineStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    take_next, failed = failing_once(MemoryTaskStore.next, RuntimeError("a bug in the queue"))
    monkeypatch.setattr(MemoryTaskStore, "next", take_next)
    # One worker: without its restart, no task would ever run.
    service = start_service(max_concurrent_tasks=1)
    task = service_task(engine)

    assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    assert wait_for_report(engine, task["task"]["id"])["status"] == "finished"
    assert failed.is_set()
    [failure] = [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR and "'worker 0'" in record.getMessage()
    ]
    assert failure.exc_info is not None
    assert failure.exc_info[0] is RuntimeError
