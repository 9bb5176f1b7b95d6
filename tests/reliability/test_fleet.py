"""A fleet of real uvicorn processes sharing one real redis-server, against the engine stand-in.

300 tasks across 3 replicas while one is SIGKILLed and started again, then, on the same
processes, 100 more while Redis is restarted; one replica of two stopped with SIGTERM. Each
time: every accepted task is reported exactly once, and any replica answers the status of
any task the fleet holds.
"""

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import LOOPBACK_POLICY, service_task
from standins.hf_api import HuggingFaceStandIn
from standins.process import ServiceProcess
from standins.redis_server import RedisServer
from standins.servers import wait_for

from hf_text_to_image.service import SLUG

MAX_TASKS = 60


@dataclass
class Fleet:
    """The replicas, and what a client of theirs (the engine) saw."""

    settings: dict[str, Any]
    replicas: list[ServiceProcess] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    refusals: Counter[str] = field(default_factory=Counter)
    polls: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_replicas(self, count: int, *, wait: bool = True) -> list[ServiceProcess]:
        started = [ServiceProcess(self.settings).spawn() for _ in range(count)]
        if wait:
            for replica in started:
                replica.ready()
        with self.lock:
            self.replicas.extend(started)
        return started

    def next_round(self) -> None:
        """What the engine saw in one load, counted afresh (accepted tasks add up)."""
        with self.lock:
            self.refusals.clear()
            self.polls.clear()

    def live(self) -> list[ServiceProcess]:
        with self.lock:
            return [r for r in self.replicas if r.process and r.process.poll() is None]

    def offer(self, client: httpx.Client, task: dict[str, Any], deadline: float = 30) -> None:
        """Like a user who submits again after a refusal, to whichever replica answers."""
        task_id = task["task"]["id"]

        def accepted() -> bool:
            replica = random.choice(self.live())
            try:
                response = client.post(f"{replica.url}/compute", json=task)
            except httpx.TransportError:
                return False  # a replica that was just killed
            if response.status_code == 200:
                with self.lock:
                    self.accepted.add(task_id)
                return True
            assert response.status_code == 503, response.text
            with self.lock:
                self.refusals[response.json()["detail"]] += 1
            return False

        wait_for(accepted, timeout=deadline, interval=0.05)

    def poll_statuses(
        self, client: httpx.Client, engine: EngineStandIn, stop: threading.Event
    ) -> None:
        """Ask random replicas for random held tasks: never a 404."""
        while not stop.is_set():
            with self.lock:
                held = list(self.accepted)
            if not held:
                stop.wait(0.005)
                continue
            task_id = random.choice(held)
            replica = random.choice(self.live())
            try:
                response = client.get(f"{replica.url}/tasks/{task_id}/status")
            except httpx.TransportError:
                continue
            with self.lock:
                self.polls[response.status_code] += 1
            stop.wait(0.01)  # a poll every 10 ms or so, as a busy engine would
            if response.status_code == 200:
                assert response.json()["status"] in {
                    "pending",
                    "fetching",
                    "processing",
                    "saving",
                    "finished",
                }, response.text

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()


@pytest.fixture
def fleet(
    durable_redis_server: RedisServer, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> Iterator[Fleet]:
    settings = {
        **{name: json.dumps(value) for name, value in LOOPBACK_POLICY.items()},
        "task_store_url": durable_redis_server.url,
        # Tasks are taken only from the engines the service serves.
        "engine_urls": json.dumps([engine.public_url]),
        "heartbeat_interval": 0.3,
        # Long enough for an fsync of the append-only file on a machine busy with other tests.
        "task_store_timeout": 2,
        "task_lease_seconds": 1,
        "engine_request_timeout": 0.9,  # shorter than the lease, as a fleet must be
        "max_tasks": MAX_TASKS,
        "max_concurrent_tasks": 4,
        "hf_model_base_url": f"{hf.url}/models/",  # type: ignore[attr-defined]
        "hf_max_backoff": 0.01,
        "hf_default_provider": "hf-inference",
        "callback_retry_budget": 5,
        "log_level": "WARNING",
    }
    fleet = Fleet(settings)
    yield fleet
    hf.gate.set()
    fleet.stop()


def reports_by_task(engine: EngineStandIn) -> Counter[str]:
    with engine.lock:
        return Counter(task_id for task_id, _ in engine.callbacks)


def run_load(fleet: Fleet, engine: EngineStandIn, tasks: list[dict[str, Any]], during: Any) -> None:
    """Offer every task (8 at a time) and poll statuses, calling `during()` midway."""
    stop = threading.Event()
    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(9) as pool:
        poller = pool.submit(fleet.poll_statuses, client, engine, stop)
        offers = [pool.submit(fleet.offer, client, task) for task in tasks]
        try:
            during()
            for offer in offers:
                offer.result()
            ids = {task["task"]["id"] for task in tasks}
            wait_for(lambda: ids <= set(reports_by_task(engine)), timeout=30)
        finally:
            stop.set()
            for offer in offers:
                offer.cancel()
        poller.result()


def assert_each_task_reported_once(
    fleet: Fleet, engine: EngineStandIn, tasks: list[dict[str, Any]]
) -> None:
    reports = reports_by_task(engine)
    assert set(reports) == fleet.accepted == {task["task"]["id"] for task in tasks}
    twice = {task_id: count for task_id, count in reports.items() if count != 1}
    assert not twice, f"reported more than once: {twice}"
    assert all(body["status"] == "finished" for _, body in engine.callbacks)


FULL_MESSAGE = f"The service already holds {MAX_TASKS} tasks; submit again shortly."


def test_300_tasks_with_a_replica_killed_then_100_with_redis_restarted(
    fleet: Fleet, engine: EngineStandIn, hf: HuggingFaceStandIn, durable_redis_server: RedisServer
) -> None:
    hf.delay = 0.02
    fleet.start_replicas(3)
    tasks = [service_task(engine) for _ in range(300)]
    restarted: list[ServiceProcess] = []

    def kill_one_then_start_it_again() -> None:
        wait_for(lambda: len(engine.callbacks) >= 80, timeout=30)
        victim = fleet.replicas[0]
        assert victim.process is not None
        victim.process.kill()  # SIGKILL: its running tasks stop mid-way, nothing is reported
        victim.process.wait(timeout=10)
        restarted.extend(fleet.start_replicas(1, wait=False))  # it joins while the load runs

    run_load(fleet, engine, tasks, kill_one_then_start_it_again)
    restarted[0].ready()

    assert_each_task_reported_once(fleet, engine, tasks)
    assert set(fleet.polls) == {200}, fleet.polls
    assert fleet.polls[200] > 50, fleet.polls
    assert fleet.refusals, "the load never filled MAX_TASKS"
    assert set(fleet.refusals) == {FULL_MESSAGE}, "503 only past MAX_TASKS"

    # The same three replicas, the started-again one among them: Redis restarted mid-run.
    fleet.next_round()
    more = [service_task(engine) for _ in range(100)]

    def restart_redis() -> None:
        wait_for(lambda: len(engine.callbacks) >= len(tasks) + 30, timeout=30)
        durable_redis_server.restart()  # SIGKILL, then the same port and append-only file

    run_load(fleet, engine, more, restart_redis)

    assert_each_task_reported_once(fleet, engine, tasks + more)
    assert set(fleet.refusals) <= {
        FULL_MESSAGE,
        "The service's task store (Redis) cannot be reached; submit again shortly.",
    }
    assert fleet.polls[404] == 0, fleet.polls


def test_one_replica_stopping_leaves_its_tasks_to_the_fleet_and_the_service_awake(
    fleet: Fleet, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    fleet.settings |= {"shutdown_grace_seconds": 0.2}
    (leaving,) = fleet.start_replicas(1)
    wait_for(lambda: SLUG in engine.services)
    hf.gate.clear()  # every generation waits: the tasks stay running
    tasks = [service_task(engine) for _ in range(6)]
    with httpx.Client(timeout=10) as client:
        for task in tasks:
            assert client.post(f"{leaving.url}/compute", json=task).status_code == 200
    wait_for(lambda: hf.in_flight == 4)  # 4 running on `leaving`, 2 queued in Redis
    (staying,) = fleet.start_replicas(1)
    wait_for(lambda: hf.in_flight == 6)

    leaving.terminate()
    assert leaving.wait(timeout=20) in (0, -15)
    assert engine.callbacks == [], "its tasks were left to the fleet, not reported as errors"
    assert engine.services[SLUG]["status"] == "available", "another replica still serves"
    hf.gate.set()
    wait_for(lambda: len(engine.callbacks) == 6, timeout=20)
    assert sorted(reports_by_task(engine).values()) == [1] * 6
    assert all(body["status"] == "finished" for _, body in engine.callbacks)

    staying.terminate()
    assert staying.wait(timeout=20) in (0, -15)
    assert engine.services[SLUG]["status"] == "sleeping", "the last replica says it sleeps"
