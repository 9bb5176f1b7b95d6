"""The service as a real uvicorn process: SIGTERM under load, and a bounded load test."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import LOOPBACK_POLICY, service_task
from standins.hf_api import HuggingFaceStandIn
from standins.process import ServiceProcess
from standins.servers import wait_for

from hf_text_to_image.service import SLUG


@pytest.fixture
def service_process(engine: EngineStandIn, hf: HuggingFaceStandIn) -> Iterator[Any]:
    started: list[ServiceProcess] = []

    def start(**settings: Any) -> ServiceProcess:
        values = {
            **{name: json.dumps(value) for name, value in LOOPBACK_POLICY.items()},
            "engine_urls": json.dumps([engine.public_url]),
            "hf_model_base_url": f"{hf.url}/models/",  # type: ignore[attr-defined]
            "heartbeat_interval": 0.5,
            "hf_max_backoff": 0.01,
            "hf_default_provider": "hf-inference",
            "log_level": "WARNING",
            **settings,
        }
        service = ServiceProcess(values).start()
        started.append(service)
        return service

    yield start
    hf.gate.set()
    for service in started:
        service.stop()


def test_sigterm_under_load_reports_every_task_exactly_once(
    service_process: Any, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = service_process(max_concurrent_tasks=2, shutdown_grace_seconds=20)
    wait_for(lambda: SLUG in engine.services)
    hf.gate.clear()
    tasks = [service_task(engine) for _ in range(8)]
    for task in tasks:
        assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    wait_for(lambda: hf.in_flight == 2)

    service.terminate()
    queued_ids = wait_for(
        lambda: (
            (ids := {tid for tid, body in engine.callbacks if body["status"] == "error"})
            and len(ids) == 6
            and ids
        )
    )
    # The engines were told first, before the queue was drained: no new task is sent meanwhile.
    assert engine.services[SLUG]["status"] == "sleeping"
    hf.gate.set()  # the two running tasks finish inside the grace period
    # uvicorn re-raises the signal once its graceful shutdown is done.
    assert service.wait(timeout=30) in (0, -15)

    reports = {task["task"]["id"]: engine.reports_for(task["task"]["id"]) for task in tasks}
    assert all(len(sent) == 1 for sent in reports.values()), reports
    finished = {tid for tid, sent in reports.items() if sent[0]["status"] == "finished"}
    assert len(finished) == 2
    assert finished.isdisjoint(queued_ids)
    for task_id in queued_ids:
        assert "shutting down" in reports[task_id][0]["error_message"]
    assert engine.services[SLUG]["status"] == "sleeping"


def test_load_of_1000_tasks_each_refused_or_reported_once_with_flat_memory(
    service_process: Any, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = service_process(max_tasks=8, max_concurrent_tasks=4)
    hf.delay = 0.01
    tasks = [service_task(engine) for _ in range(1000)]
    outcomes: dict[str, int] = {}
    rss_kib: list[int] = []

    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(8) as pool:

        def offer(task: dict[str, Any]) -> tuple[str, int]:
            return task["task"]["id"], client.post(f"{service.url}/compute", json=task).status_code

        for start in range(0, 1000, 100):
            for task_id, status in pool.map(offer, tasks[start : start + 100]):
                outcomes[task_id] = status
            if start in (0, 900):
                rss_kib.append(service.rss_kib())

    accepted = {tid for tid, status in outcomes.items() if status == 200}
    refused = {tid for tid, status in outcomes.items() if status == 503}
    assert len(accepted) + len(refused) == 1000
    assert refused, "the load never filled MAX_TASKS"
    wait_for(lambda: len(engine.callbacks) >= len(accepted), timeout=60)
    reported = [tid for tid, _ in engine.callbacks]
    assert sorted(reported) == sorted(accepted)
    assert all(body["status"] == "finished" for _, body in engine.callbacks)
    first, last = rss_kib
    assert last < first * 1.25 + 8 * 1024, f"RSS grew from {first} KiB to {last} KiB"
