"""The six scenarios and the concurrency sweep behind the chart; each returns JSON-ready figures."""

import asyncio
import importlib
import io
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import httpx
from PIL import Image

from .driver import configure_upstream
from .harness import Bench, Service
from .images import photo_like_jpeg, render
from .processes import REPOSITORY
from .standins import BENCH_MODEL, BENCH_TOKEN, DESCRIPTION, PNG_SIGNATURE, PROMPT, UpstreamConfig
from .stats import mib, ms, percentile

WARMUP_REQUESTS = 5


async def engine_scenarios(bench: Bench) -> dict[str, Any]:
    """1 to 4 on one service with C = plan.concurrency, warmed up first."""
    plan = bench.plan
    s3 = bench.object_store.form
    png = UpstreamConfig(latency=0.0, image_bytes=plan.image_bytes)
    max_tasks = max(plan.tasks, plan.cpu_tasks, plan.jpeg_tasks, plan.warmup_tasks)
    upstream = replace(png, latency=plan.latency, jitter=plan.latency_jitter)
    base64 = replace(upstream, image_format="base64", image_bytes=plan.base64_image_bytes)
    async with bench.service(concurrency=plan.concurrency, max_tasks=max_tasks) as service:
        await bench.run_engine_tasks(service, plan.warmup_tasks, png)
        # The first s3 tasks find no S3 client yet: C of them at once, as after a start.
        s3_cold = await bench.run_engine_tasks(service, plan.concurrency, upstream, storage=s3)
        await bench.run_engine_tasks(service, plan.warmup_tasks, png, storage=s3)
        cpu_run = await bench.run_engine_tasks(service, plan.cpu_tasks, png)
        s3_cpu_run = await bench.run_engine_tasks(service, plan.cpu_tasks, png, storage=s3)
        engine_run = await bench.run_engine_tasks(service, plan.tasks, upstream, probe=True)
        s3_run = await bench.run_engine_tasks(service, plan.tasks, upstream, probe=True, storage=s3)
        lockstep_run = await bench.run_engine_tasks(
            service, plan.tasks, replace(upstream, jitter=0.0), probe=True
        )
        direct = await direct_endpoint(bench, service)
        jpeg_run = await bench.run_engine_tasks(
            service, plan.jpeg_tasks, replace(upstream, image_format="jpeg"), probe=True
        )
        base64_run = await bench.run_engine_tasks(service, plan.base64_tasks, base64, probe=True)
    jpeg_cost = await asyncio.to_thread(jpeg_conversion_cost, plan.jpeg_conversions)
    base64_cost = await asyncio.to_thread(
        base64_conversion_cost, plan.jpeg_conversions, plan.base64_image_bytes
    )
    return {
        "engine_path": engine_run.summary(),
        "engine_path_s3": s3_run.summary(),
        "engine_path_exact_latency": lockstep_run.summary(),
        "s3_cold_start": s3_cold.summary(),
        "cpu_per_task": cpu_run.summary(),
        "cpu_per_task_s3": s3_cpu_run.summary(),
        "direct_endpoint": direct,
        "jpeg": {"conversion": jpeg_cost, "run": jpeg_run.summary()},
        "base64": {"conversion": base64_cost, "run": base64_run.summary()},
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


def service_decoding() -> ModuleType:
    """The service's own decoding module, imported from `src/` into the driver."""
    source = str(REPOSITORY / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    return importlib.import_module("hf_text_to_image.huggingface.decoding")


def timed(work: Callable[[], bytes], runs: int) -> tuple[bytes, float, float]:
    """The last result, and the median wall and CPU seconds of `runs` calls in this thread."""
    result, walls, cpus = b"", [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(walls), statistics.median(cpus)


def pillow_default_png(image: bytes) -> bytes:
    """The baseline: Pillow's own PNG encoder at its default settings."""
    with Image.open(io.BytesIO(image)) as picture:
        output = io.BytesIO()
        picture.save(output, format="PNG")
        return output.getvalue()


def jpeg_conversion_cost(runs: int) -> dict[str, Any]:
    """4. The service's `to_png` on a 1024x1024 JPEG, in the driver, against Pillow's default."""
    decoding = service_decoding()
    jpeg = photo_like_jpeg()
    png, wall, cpu = timed(lambda: decoding.to_png(jpeg).data, runs)
    baseline, _, baseline_cpu = timed(lambda: pillow_default_png(jpeg), runs)
    return {
        "runs": runs,
        "jpeg_bytes": len(jpeg),
        "png_bytes": len(png),
        "wall_ms": ms(wall),
        "cpu_ms": ms(cpu),
        "pillow_default_png_bytes": len(baseline),
        "pillow_default_cpu_ms": ms(baseline_cpu),
        "size_to_pillow_default": round(len(png) / len(baseline), 3),
    }


def base64_conversion_cost(runs: int, image_bytes: int) -> dict[str, Any]:
    """4b. A JSON answer with a base64 PNG to the checked PNG, in the driver: wall and CPU."""
    decoding = service_decoding()
    answer = render("base64", image_bytes)
    _, wall, cpu = timed(lambda: decoding.to_png(decoding.extract_image(answer)).data, runs)
    return {"runs": runs, "answer_bytes": len(answer), "wall_ms": ms(wall), "cpu_ms": ms(cpu)}


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
