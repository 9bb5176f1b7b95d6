"""The pipeline's shutdown report under an unexpected error: logged by name, shutdown goes on."""

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task
from standins.hf_api import HuggingFaceStandIn
from standins.servers import wait_for

from hf_text_to_image.engine.reporting import Reporter
from hf_text_to_image.service import SLUG


def test_a_failing_shutdown_report_is_logged_and_the_shutdown_completes(
    start_service: Start,
    engine: EngineStandIn,
    hf: HuggingFaceStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = start_service(max_concurrent_tasks=1, shutdown_grace_seconds=0.1)
    wait_for(lambda: SLUG in engine.services)
    hf.gate.clear()
    task = service_task(engine)
    assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    wait_for(lambda: len(hf.requests) == 1)

    async def broken_report(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("a bug in the report")

    monkeypatch.setattr(Reporter, "report", broken_report)
    service.stop()

    # The running task's report failed, yet the workers stopped and the engine was told.
    assert engine.services[SLUG]["status"] == "sleeping"
    name = f"'shutdown report of task {task['task']['id']}'"
    [failure] = [record for record in caplog.records if name in record.getMessage()]
    assert failure.exc_info is not None
    assert failure.exc_info[0] is RuntimeError
