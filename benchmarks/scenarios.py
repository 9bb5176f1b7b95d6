"""The six scenarios and the concurrency sweep behind the chart; each returns JSON-ready figures."""

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx

from .driver import configure_upstream
from .harness import Bench, Service
from .images import photo_like_jpeg
from .processes import REPOSITORY
from .standins import BENCH_MODEL, BENCH_TOKEN, DESCRIPTION, PNG_SIGNATURE, PROMPT, UpstreamConfig
from .stats import mib, ms, percentile

WARMUP_REQUESTS = 5


async def engine_scenarios(bench: Bench) -> dict[str, Any]:
    """1 to 4 on one service with C = plan.concurrency, warmed up first."""
    plan = bench.plan
    png = UpstreamConfig(latency=0.0, image_bytes=plan.image_bytes)
    max_tasks = max(plan.tasks, plan.cpu_tasks, plan.jpeg_tasks, plan.warmup_tasks)
    upstream = replace(png, latency=plan.latency, jitter=plan.latency_jitter)
    async with bench.service(concurrency=plan.concurrency, max_tasks=max_tasks) as service:
        await bench.run_engine_tasks(service, plan.warmup_tasks, png)
        cpu_run = await bench.run_engine_tasks(service, plan.cpu_tasks, png)
        engine_run = await bench.run_engine_tasks(service, plan.tasks, upstream, probe=True)
        lockstep_run = await bench.run_engine_tasks(
            service, plan.tasks, replace(upstream, jitter=0.0), probe=True
        )
        direct = await direct_endpoint(bench, service)
        jpeg_run = await bench.run_engine_tasks(
            service, plan.jpeg_tasks, replace(upstream, image_format="jpeg"), probe=True
        )
    conversion = await asyncio.to_thread(jpeg_conversion_cost, plan.jpeg_conversions)
    return {
        "engine_path": engine_run.summary(),
        "engine_path_exact_latency": lockstep_run.summary(),
        "cpu_per_task": cpu_run.summary(),
        "direct_endpoint": direct,
        "jpeg": {"conversion": conversion, "run": jpeg_run.summary()},
    }


async def timed_png(send: Callable[[], Awaitable[httpx.Response]]) -> float:
    """Seconds until the whole PNG answer is in; fails on anything but a 200 with a PNG."""
    started = time.monotonic()
    response = await send()
    elapsed = time.monotonic() - started
    if response.status_code != 200 or not response.content.startswith(PNG_SIGNATURE):
        raise RuntimeError(f"{response.request.url} answered {response.status_code}")
    return elapsed


async def direct_endpoint(bench: Bench, service: Service) -> dict[str, Any]:
    """3. POST /process through the service against the same request straight to the stand-in.

    Same client, same prompt and token, same PNG back, one request at a time, alternating.
    """
    client = bench.client
    await configure_upstream(
        client, bench.standins_url, UpstreamConfig(image_bytes=bench.plan.image_bytes)
    )
    files = {
        "json_description": ("json_description.json", DESCRIPTION, "application/json"),
        "input_text": ("input_text.txt", PROMPT, "text/plain"),
    }
    headers = {
        "Authorization": f"Bearer {BENCH_TOKEN}",
        "Content-Type": "application/json",
        "Accept": "image/png",
    }
    payload = json.dumps({"inputs": PROMPT.decode()}).encode()

    def through() -> Awaitable[httpx.Response]:
        return client.post(f"{service.url}/process", files=files)

    def straight() -> Awaitable[httpx.Response]:
        return client.post(
            f"{bench.standins_url}/models/{BENCH_MODEL}", content=payload, headers=headers
        )

    for _ in range(WARMUP_REQUESTS):
        await timed_png(through)
        await timed_png(straight)
    via_service: list[float] = []
    via_standin: list[float] = []
    for _ in range(bench.plan.direct_requests):
        via_service.append(await timed_png(through))
        via_standin.append(await timed_png(straight))
    return direct_figures(via_service, via_standin, bench.plan.image_bytes)


def direct_figures(
    via_service: list[float], via_standin: list[float], image_bytes: int
) -> dict[str, Any]:
    figures: dict[str, Any] = {"requests": len(via_service), "image_bytes": image_bytes}
    for name, fraction in (("p50", 0.5), ("p95", 0.95)):
        service, standin = percentile(via_service, fraction), percentile(via_standin, fraction)
        figures[name] = {
            "service_ms": ms(service),
            "standin_ms": ms(standin),
            "overhead_ms": ms(service - standin),
        }
    return figures


def jpeg_conversion_cost(runs: int) -> dict[str, Any]:
    """4. The service's own `to_png` on a 1024x1024 JPEG, here in the driver: wall and CPU."""
    source = str(REPOSITORY / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    from hf_text_to_image.huggingface.decoding import to_png

    jpeg = photo_like_jpeg()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        png = to_png(jpeg)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "runs": runs,
        "jpeg_bytes": len(jpeg),
        "png_bytes": len(png.data),
        "wall_ms": ms(statistics.median(walls)),
        "cpu_ms": ms(statistics.median(cpus)),
    }


async def memory(bench: Bench) -> dict[str, Any]:
    """5. Peak RSS with `memory_in_flight` big tasks at once, then RSS along a soak."""
    plan = bench.plan
    big = UpstreamConfig(
        latency=plan.latency, jitter=plan.latency_jitter, image_bytes=plan.memory_image_bytes
    )
    max_tasks = max(plan.memory_in_flight, plan.soak_batch)
    async with bench.service(concurrency=plan.memory_in_flight, max_tasks=max_tasks) as service:
        burst = await bench.run_engine_tasks(service, plan.memory_in_flight, big)
        peak_kib = service.process.memory_kib("VmHWM")
        rss_kib = []
        for _ in range(plan.soak_tasks // plan.soak_batch):
            await bench.run_engine_tasks(service, plan.soak_batch, replace(big, latency=0.0))
            rss_kib.append(service.process.memory_kib("VmRSS"))
    return {
        "in_flight": burst.upstream_peak_in_flight,
        "image_bytes": burst.upstream_image_bytes,
        "peak_rss_mib": mib(peak_kib),
        "soak_tasks": plan.soak_batch * len(rss_kib),
        "soak_batch": plan.soak_batch,
        "rss_after_each_batch_mib": [mib(kib) for kib in rss_kib],
        "rss_growth_percent": round(100 * (rss_kib[-1] - rss_kib[0]) / rss_kib[0], 1),
    }


async def concurrency_sweep(bench: Bench) -> dict[str, Any]:
    """Tasks/s against C at the chart's latency, one fresh service per C."""
    plan = bench.plan
    upstream = UpstreamConfig(
        latency=plan.chart_latency, jitter=plan.latency_jitter, image_bytes=plan.image_bytes
    )
    points = []
    for concurrency in plan.chart_concurrencies:
        count = concurrency * plan.chart_tasks_per_worker
        async with bench.service(concurrency=concurrency, max_tasks=count) as service:
            await bench.run_engine_tasks(service, concurrency, replace(upstream, latency=0.0))
            run = await bench.run_engine_tasks(service, count, upstream)
        points.append(
            {
                "concurrency": concurrency,
                "tasks": count,
                "tasks_per_second": round(run.tasks_per_second, 2),
                "bound": round(run.bound, 2),
                "ratio_to_bound": round(run.tasks_per_second / run.bound, 4),
            }
        )
    return {
        "latency_ms": ms(plan.chart_latency),
        "jitter": plan.latency_jitter,
        "points": points,
    }


def startup(samples: list[float]) -> dict[str, Any]:
    """6. Seconds from process start to the first 200 on /status, over every service started."""
    return {
        "samples": len(samples),
        "first_s": round(samples[0], 3),
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
    }
