"""7. The fleet: what the Redis task store costs per task, and how replicas add up.

CPU per task at L = 0 with the in-memory store and with Redis (service CPU plus the
redis-server's, both from /proc), in the same run; then tasks/s of one replica and of
`fleet_replicas` replicas sharing one Redis at the plan's latency. Redis runs as the
manifests run it: an append-only file fsynced on every write. Without redis-server
(Debian's package) the scenario is skipped and says so.
"""

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .harness import Bench, Service
from .plans import Plan
from .processes import ChildProcess, free_loopback_port, redis_process
from .report import Row
from .standins import UpstreamConfig

SKIPPED = "skipped: redis-server is not installed (apt-get install redis-server)"
# The CPU runs alternate between the two stores in this many batches each.
CPU_BATCHES = 8


@asynccontextmanager
async def redis_server(bench: Bench) -> AsyncIterator[tuple[ChildProcess, str]]:
    """A redis-server on a free loopback port, its append-only file in a temporary folder."""
    port = free_loopback_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        process = redis_process(port, Path(directory), bench.log_dir)
        try:
            process.start()
            await wait_until_ready(port, 10.0)
            yield process, f"redis://127.0.0.1:{port}/0"
        finally:
            process.stop()


async def wait_until_ready(port: int, within_seconds: float) -> None:
    deadline = time.monotonic() + within_seconds
    async with Redis(port=port, socket_timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if await client.ping():
                    return
            except RedisError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError(f"redis-server did not answer on port {port} within {within_seconds:g} s")


async def cpu_per_task(
    bench: Bench, memory: Service, fleet: Service, redis: ChildProcess
) -> tuple[float, float, float]:
    """Service CPU ms per task with each store, and redis-server's, over plan.cpu_tasks each.

    Both services run side by side and take their batches in turn, so that whatever else
    the machine does weighs on both alike.
    """
    plan = bench.plan
    png = UpstreamConfig(latency=0.0, image_bytes=plan.image_bytes)
    for service in (memory, fleet):
        await bench.run_engine_tasks(service, plan.warmup_tasks, png)
    batches = max(1, min(CPU_BATCHES, plan.cpu_tasks // plan.concurrency))
    batch = plan.cpu_tasks // batches
    memory_cpu = fleet_cpu = redis_cpu = 0.0
    for _ in range(batches):
        run = await bench.run_engine_tasks(memory, batch, png)
        memory_cpu += run.service_cpu_seconds
        redis_before = redis.cpu_seconds()
        run = await bench.run_engine_tasks(fleet, batch, png)
        fleet_cpu += run.service_cpu_seconds
        redis_cpu += redis.cpu_seconds() - redis_before
    tasks = batch * batches
    return tuple(1000 * seconds / tasks for seconds in (memory_cpu, fleet_cpu, redis_cpu))  # type: ignore[return-value]


async def fleet(bench: Bench) -> dict[str, Any]:
    if shutil.which("redis-server") is None:
        return {"skipped": SKIPPED}
    plan = bench.plan
    max_tasks = max(plan.cpu_tasks, plan.warmup_tasks, plan.fleet_replicas * scaling_tasks(plan))
    async with redis_server(bench) as (redis, url):
        store = {"TASK_STORE_URL": url}
        async with (
            bench.service(concurrency=plan.concurrency, max_tasks=max_tasks) as memory,
            bench.service(concurrency=plan.concurrency, max_tasks=max_tasks, extra=store) as first,
        ):
            memory_ms, service_ms, redis_ms = await cpu_per_task(bench, memory, first, redis)
            scaling = await replicas_scaling(bench, first, store, max_tasks)
    return {
        "tasks": plan.cpu_tasks,
        "concurrency": plan.concurrency,
        "memory_store_cpu_ms_per_task": round(memory_ms, 3),
        "redis_store_service_cpu_ms_per_task": round(service_ms, 3),
        "redis_server_cpu_ms_per_task": round(redis_ms, 3),
        "redis_extra_cpu_ms_per_task": round(service_ms + redis_ms - memory_ms, 3),
        "scaling": scaling,
    }


def scaling_tasks(plan: Plan) -> int:
    """Tasks per replica in the scaling runs."""
    return plan.concurrency * plan.chart_tasks_per_worker


async def replicas_scaling(
    bench: Bench, first: Service, store: dict[str, str], max_tasks: int
) -> dict[str, Any]:
    """Tasks/s of `first` alone, then with more replicas on the same Redis (same C each).

    Every task goes to `first`: the shared queue spreads them over all the replicas.
    """
    plan = bench.plan
    upstream = UpstreamConfig(
        latency=plan.latency, jitter=plan.latency_jitter, image_bytes=plan.image_bytes
    )
    figures: dict[str, Any] = {
        "latency_ms": round(1000 * plan.latency),
        "per_replica_c": plan.concurrency,
    }
    running = 1
    async with AsyncExitStack() as stack:
        for replicas in (1, plan.fleet_replicas):
            for _ in range(replicas - running):
                await stack.enter_async_context(
                    bench.service(concurrency=plan.concurrency, max_tasks=max_tasks, extra=store)
                )
            running = replicas
            fleet_view = replace(first, concurrency=plan.concurrency * replicas)
            count = replicas * scaling_tasks(plan)
            await bench.run_engine_tasks(
                fleet_view, plan.concurrency * replicas, replace(upstream, latency=0)
            )
            run = await bench.run_engine_tasks(fleet_view, count, upstream)
            figures[f"replicas_{replicas}"] = {
                "tasks": count,
                "tasks_per_second": round(run.tasks_per_second, 2),
                "bound": round(run.bound, 2),
                "ratio_to_bound": round(run.tasks_per_second / run.bound, 4),
            }
    return figures


def fleet_rows(figures: dict[str, Any], *, judged: bool) -> list[Row]:
    if "skipped" in figures:
        return [Row("7 fleet (Redis task store)", "all figures", figures["skipped"])]
    scenario = f"7 fleet CPU/task L=0 N={figures['tasks']} C={figures['concurrency']}"
    extra = figures["redis_extra_cpu_ms_per_task"]
    scaling = figures["scaling"]
    replicas = sorted(int(key.split("_")[1]) for key in scaling if key.startswith("replicas_"))
    rows = [
        Row(
            scenario,
            "service CPU, memory store",
            f"{figures['memory_store_cpu_ms_per_task']:.2f} ms/task",
        ),
        Row(
            scenario,
            "service + redis-server CPU, Redis store",
            f"{figures['redis_store_service_cpu_ms_per_task']:.2f} + "
            f"{figures['redis_server_cpu_ms_per_task']:.2f} ms/task",
        ),
        Row(
            scenario,
            "Redis's cost per task",
            f"{extra:+.2f} ms",
            "<= +2 ms" if judged else "",
            extra <= 2.0 if judged else None,
        ),
    ]
    for count in replicas:
        point = scaling[f"replicas_{count}"]
        rows.append(
            Row(
                f"7 fleet {count} replica(s) C={scaling['per_replica_c']} each "
                f"L={scaling['latency_ms']}ms N={point['tasks']}",
                "tasks/s against bound R*C/L",
                f"{point['tasks_per_second']:.1f} of {point['bound']:.1f} "
                f"= {100 * point['ratio_to_bound']:.1f}%",
            )
        )
    return rows
