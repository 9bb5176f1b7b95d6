"""Engine side faults: the engine down at announce or at callback time, its storage failing."""

from collections.abc import Callable

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task, wait_for_report
from standins.servers import UvicornThread, bind_loopback, wait_for

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app
from hf_text_to_image.service import SLUG


def test_engine_down_during_announce_then_up(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """A bound socket that does not listen refuses connections: the engine is down."""
    engine = EngineStandIn()
    engine_socket = bind_loopback()
    engine.public_url = f"http://127.0.0.1:{engine_socket.getsockname()[1]}"
    service_socket = bind_loopback()
    settings = make_settings(
        engine_urls=[engine.public_url],
        service_url=f"http://127.0.0.1:{service_socket.getsockname()[1]}",
        engine_announce_retries=2,
        heartbeat_interval=0.2,
    )
    with UvicornThread(create_app(settings), service_socket) as service:
        wait_for(lambda: "could not announce" in caplog.text)
        assert httpx.get(f"{service.url}/status").status_code == 200
        with UvicornThread(engine.app, engine_socket):
            wait_for(lambda: SLUG in engine.services)


def test_callback_down_then_back_within_budget_is_delivered_once(
    start_service: Start, engine: EngineStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    late_engine = EngineStandIn()
    late_socket = bind_loopback()
    late_url = f"http://127.0.0.1:{late_socket.getsockname()[1]}"
    service = start_service(trusted_engine_origins=[engine.public_url, late_url])
    task = service_task(engine)
    task["callback_url"] = f"{late_url}/tasks/{task['task']['id']}"
    httpx.post(f"{service.url}/compute", json=task)
    wait_for(lambda: "report attempt 1 failed" in caplog.text)
    with UvicornThread(late_engine.app, late_socket):
        report = wait_for_report(late_engine, task["task"]["id"])
    assert report["status"] == "finished"
    assert len(late_engine.reports_for(task["task"]["id"])) == 1


def test_callback_down_past_budget_is_logged_and_task_answers_error(
    start_service: Start, engine: EngineStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    task = service_task(engine)
    task_id = task["task"]["id"]
    with bind_loopback() as down:
        down_url = f"http://127.0.0.1:{down.getsockname()[1]}"
        service = start_service(
            callback_retry_budget=0.3, trusted_engine_origins=[engine.public_url, down_url]
        )
        task["callback_url"] = f"{down_url}/tasks/{task_id}"
        httpx.post(f"{service.url}/compute", json=task)
        # The board says error once the report was given up on (it said finished before).
        status_url = f"{service.url}/tasks/{task_id}/status"
        assert wait_for(lambda: httpx.get(status_url).json() == {"status": "error"})
    assert "report was not delivered" in caplog.text
    normal = service_task(engine)
    httpx.post(f"{service.url}/compute", json=normal)
    assert wait_for_report(engine, normal["task"]["id"])["status"] == "finished"


@pytest.mark.parametrize(
    ("fault", "phrase"),
    [
        ({"storage_get_status": 404}, "is not in the engine's storage (404)"),
        ({"storage_get_status": 500}, "The engine's storage answered 500"),
        ({"refuse_uploads": True}, "The engine's storage refused the result (500)"),
    ],
    ids=["storage GET 404", "storage GET 500", "upload refused"],
)
def test_engine_storage_fault_reports_error_and_service_recovers(
    start_service: Start, engine: EngineStandIn, fault: dict[str, object], phrase: str
) -> None:
    service = start_service()
    for name, value in fault.items():
        setattr(engine, name, value)
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert report["data_out"] == []
    assert phrase in report["error_message"]
    engine.storage_get_status, engine.refuse_uploads = 200, False
    normal = service_task(engine)
    httpx.post(f"{service.url}/compute", json=normal)
    assert wait_for_report(engine, normal["task"]["id"])["status"] == "finished"


def test_engine_forgetting_the_service_leads_to_a_new_announce(
    start_service: Start, engine: EngineStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    start_service()
    wait_for(lambda: SLUG in engine.services)
    announced = len(engine.announces)
    engine.forget(SLUG)
    wait_for(lambda: len(engine.announces) > announced)
    assert SLUG in engine.services


def test_oversized_input_file_is_refused_without_reading_it_all(
    start_service: Start, engine: EngineStandIn
) -> None:
    service = start_service(max_prompt_length=100)
    task = service_task(engine)
    engine.storage[task["task"]["data_in"][1]] = b"a" * 100_000
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert "is larger than 416 bytes" in report["error_message"]
