"""How big each scenario is: the full run (targets judged) and the smoke run CI keeps alive."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    judge_targets: bool
    # 1. Engine path: `tasks` through /compute at upstream latency `latency`, C = `concurrency`,
    # in the `storage_url` form and in the `s3_*` form (moto's server as the bucket).
    tasks: int
    concurrency: int
    latency: float
    image_bytes: int
    # 2. Service CPU per task at L = 0 (after `warmup_tasks` not counted).
    cpu_tasks: int
    warmup_tasks: int
    # 3. Direct endpoint: this many requests through the service and as many straight.
    direct_requests: int
    # 4. JPEG answers: engine tasks answered with a 1024x1024 JPEG; conversions timed here.
    jpeg_tasks: int
    jpeg_conversions: int
    # 4b. base64 answers: JSON around a PNG of `base64_image_bytes` (4/3 of it in base64).
    base64_tasks: int
    base64_image_bytes: int
    # 5. Memory: peak with `memory_in_flight` tasks of `memory_image_bytes`, then a soak.
    memory_in_flight: int
    memory_image_bytes: int
    soak_tasks: int
    soak_batch: int
    # The chart: tasks/s against C at `chart_latency`, `chart_tasks_per_worker` tasks per worker.
    chart_concurrencies: tuple[int, ...]
    chart_latency: float
    chart_tasks_per_worker: int
    # 7. The fleet: up to `fleet_replicas` replicas sharing one Redis, each with C = concurrency.
    fleet_replicas: int
    # Upstream answers take latency * (1 +- jitter), spread evenly, mean `latency`; scenario 1
    # also runs at exact latency, where the C tasks run in lockstep (README, Performance).
    latency_jitter: float = 0.1
    # The driver's own pace.
    submit_concurrency: int = 4
    status_interval: float = 0.1


FULL = Plan(
    name="full",
    judge_targets=True,
    tasks=320,
    concurrency=32,
    latency=0.5,
    image_bytes=300_000,
    cpu_tasks=320,
    warmup_tasks=64,
    direct_requests=200,
    jpeg_tasks=64,
    jpeg_conversions=5,
    base64_tasks=64,
    base64_image_bytes=3_000_000,
    memory_in_flight=64,
    memory_image_bytes=1_000_000,
    soak_tasks=1000,
    soak_batch=100,
    chart_concurrencies=(1, 2, 4, 8, 16, 32, 64),
    chart_latency=0.5,
    chart_tasks_per_worker=10,
    fleet_replicas=3,
)

SMOKE = Plan(
    name="smoke",
    judge_targets=False,
    tasks=16,
    concurrency=4,
    latency=0.05,
    image_bytes=300_000,
    cpu_tasks=16,
    warmup_tasks=4,
    direct_requests=10,
    jpeg_tasks=4,
    jpeg_conversions=1,
    base64_tasks=4,
    base64_image_bytes=3_000_000,
    memory_in_flight=4,
    memory_image_bytes=1_000_000,
    soak_tasks=20,
    soak_batch=10,
    chart_concurrencies=(1, 2, 4),
    chart_latency=0.05,
    chart_tasks_per_worker=2,
    fleet_replicas=2,
)
