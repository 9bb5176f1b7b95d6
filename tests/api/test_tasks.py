"""The engine-facing endpoints on the Redis task store (the service in-process, real Redis)."""

import asyncio
from typing import Any

import httpx
from pydantic import SecretStr
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task, wait_for_report
from standins.redis_server import RedisServer, queue_as_the_previous_version
from standins.servers import wait_for

from hf_text_to_image.engine.models import ServiceTask, TaskStatus
from hf_text_to_image.tasks.redis_store import RedisTaskStore, connect, dump_task, queue_key

UNREACHABLE = "The service's task store (Redis) cannot be reached; submit again shortly."


def test_redis_away_answers_503_says_so_and_recovers_by_itself(
    start_service: Start, engine: EngineStandIn, redis_server: RedisServer
) -> None:
    service = start_service(task_store_url=redis_server.url, task_store_timeout=0.3)
    first = service_task(engine)
    assert httpx.post(f"{service.url}/compute", json=first).status_code == 200
    wait_for_report(engine, first["task"]["id"])
    # Its place is freed just after the report.
    wait_for(
        lambda: (
            httpx.get(f"{service.url}/status").json()
            == {"status": "available", "tasks": 0, "max_tasks": 50}
        )
    )

    redis_server.kill()
    refused = httpx.post(f"{service.url}/compute", json=service_task(engine))
    assert refused.status_code == 503
    assert refused.json() == {"detail": UNREACHABLE}
    status = httpx.get(f"{service.url}/status")
    assert status.status_code == 503
    assert status.json() == {"status": "unavailable", "detail": UNREACHABLE}
    poll = httpx.get(f"{service.url}/tasks/{first['task']['id']}/status")
    assert poll.status_code == 503
    assert httpx.get(f"{service.url}/live").json() == {"status": "alive"}

    redis_server.start()  # empty (no persistence here): the stream and group come back
    wait_for(lambda: httpx.get(f"{service.url}/status").status_code == 200, timeout=10)
    again = service_task(engine)
    assert httpx.post(f"{service.url}/compute", json=again).status_code == 200
    assert wait_for_report(engine, again["task"]["id"])["status"] == "finished"
    unknown = httpx.get(f"{service.url}/tasks/{first['task']['id']}/status")
    assert unknown.status_code == 404
    assert "not held by the service" in unknown.json()["detail"]


def claim_and_die(redis_url: str, tasks: list[dict[str, Any]]) -> None:
    """A replica that took the tasks, began their reports, and stopped."""

    async def run() -> None:
        store = RedisTaskStore(
            connect(SecretStr(redis_url), timeout=1),
            prefix="hugging-face-text-to-image",
            max_tasks=10,
            retention_seconds=60,
            max_finished=10,
            lease_seconds=60,
            timeout=1,
        )
        await store._ensure_group()
        for task in tasks:
            assert await store.submit(ServiceTask.model_validate(task))
            record = await store.next()
            assert record is not None
            assert await store.claim_report(record, TaskStatus.FINISHED)
        await store._redis.aclose()  # no upkeep, no goodbye: as after a SIGKILL

    asyncio.run(run())


def test_a_takeover_asks_the_engine_before_reporting_a_task_again(
    start_service: Start, engine: EngineStandIn, redis_server: RedisServer
) -> None:
    delivered, lost = service_task(engine), service_task(engine)
    claim_and_die(redis_server.url, [delivered, lost])
    # The first report reached the engine just before its replica died; the second did not.
    engine.tasks[delivered["task"]["id"]] = {"id": delivered["task"]["id"], "status": "finished"}

    service = start_service(
        task_store_url=redis_server.url, task_lease_seconds=2, engine_request_timeout=1.5
    )
    assert wait_for_report(engine, lost["task"]["id"])["status"] == "finished"
    status_url = f"{service.url}/tasks/{delivered['task']['id']}/status"
    wait_for(lambda: httpx.get(status_url).json()["status"] == "finished")
    assert engine.reports_for(delivered["task"]["id"]) == [], "reported once, not twice"
    assert len(engine.reports_for(lost["task"]["id"])) == 1


def test_a_task_queued_by_the_previous_version_is_run_and_reported_once(
    start_service: Start, engine: EngineStandIn, redis_server: RedisServer
) -> None:
    """A rolling update: the previous version queued the task (its id in the entry, the task
    in the hash); a replica of this version runs it."""
    task = service_task(engine)
    task_id = task["task"]["id"]
    with redis_server.client() as client:
        queue_as_the_previous_version(
            client,
            prefix="hugging-face-text-to-image",
            task_id=task_id,
            body=dump_task(ServiceTask.model_validate(task)),
        )

    service = start_service(task_store_url=redis_server.url)
    assert wait_for_report(engine, task_id)["status"] == "finished"
    status_url = f"{service.url}/tasks/{task_id}/status"
    wait_for(lambda: httpx.get(status_url).json()["status"] == "finished")
    with redis_server.client() as client:
        assert client.xlen(queue_key("hugging-face-text-to-image")) == 0
        assert client.scard("{hugging-face-text-to-image}:active") == 0
    assert len(engine.reports_for(task_id)) == 1
