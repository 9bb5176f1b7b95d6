"""The benchmark's setting: one HTTP client, the stand-ins process, and services on demand."""

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .driver import (
    EngineRun,
    StorageForm,
    check_reports,
    configure_upstream,
    loop_lag_counts,
    loop_lag_figures,
    new_task_ids,
    probe_status,
    standin_stats,
    storage_url_form,
    submit_tasks,
    wait_for_reports,
)
from .objectstore import ObjectStore
from .plans import Plan
from .processes import (
    ChildProcess,
    free_loopback_port,
    object_store_process,
    service_process,
    standins_process,
)
from .standins import UpstreamConfig

SERVICE_START_TIMEOUT = 60.0


@dataclass
class Service:
    process: ChildProcess
    url: str
    concurrency: int


@dataclass
class Bench:
    plan: Plan
    client: httpx.AsyncClient
    standins: ChildProcess
    standins_url: str
    object_store: ObjectStore
    log_dir: Path
    startup_seconds: list[float] = field(default_factory=list)

    @asynccontextmanager
    async def service(
        self, *, concurrency: int, max_tasks: int, extra: dict[str, str] | None = None
    ) -> AsyncIterator[Service]:
        """The service as a real uvicorn process, stopped on the way out whatever happens.

        `extra`: more settings (environment variables), e.g. TASK_STORE_URL.
        """
        port = free_loopback_port()
        process = service_process(
            port,
            self.standins_url,
            self.object_store.url,
            concurrency=concurrency,
            max_tasks=max_tasks,
            log_dir=self.log_dir,
            extra=extra,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            process.start()
            started = await process.wait_until_answering(
                self.client, f"{url}/status", SERVICE_START_TIMEOUT
            )
            self.startup_seconds.append(started)
            yield Service(process, url, concurrency)
        finally:
            process.stop()

    def standins_cpu_seconds(self, storage: StorageForm) -> float:
        """The stand-ins' CPU so far, the object store's too when the tasks use it."""
        seconds = self.standins.cpu_seconds()
        if storage.name == "s3":
            seconds += self.object_store.process.cpu_seconds()
        return seconds

    async def run_engine_tasks(
        self,
        service: Service,
        count: int,
        upstream: UpstreamConfig,
        *,
        probe: bool = False,
        storage: StorageForm | None = None,
    ) -> EngineRun:
        """`count` tasks through /compute until every report is in; fails on any error report.

        `storage`: the engine's storage_url (the default) or the object store's s3 form.
        """
        storage = storage or storage_url_form(self.standins_url)
        await configure_upstream(self.client, self.standins_url, upstream)
        task_ids = new_task_ids(count)
        lag_before = await loop_lag_counts(self.client, service.url)
        service_cpu = service.process.cpu_seconds()
        standins_cpu = self.standins_cpu_seconds(storage)
        stop_probe = asyncio.Event()
        prober = asyncio.create_task(
            probe_status(self.client, service.url, self.plan.status_interval, stop_probe)
            if probe
            else asyncio.sleep(0, result=[])
        )
        try:
            submissions = await submit_tasks(
                self.client,
                service.url,
                self.standins_url,
                task_ids,
                self.plan.submit_concurrency,
                storage,
            )
            waves = math.ceil(count / service.concurrency)
            within = waves * (upstream.latency * (1 + upstream.jitter) + 1.0) + 30
            progress = await wait_for_reports(self.client, self.standins_url, count, within)
        finally:
            stop_probe.set()
            status_answers = await prober
        service_cpu = service.process.cpu_seconds() - service_cpu
        standins_cpu = self.standins_cpu_seconds(storage) - standins_cpu
        loop_lag = loop_lag_figures(lag_before, await loop_lag_counts(self.client, service.url))
        stats = await standin_stats(self.client, self.standins_url)
        check_reports(progress, stats, count)
        if storage.name == "s3":
            await self.object_store.check_results([stats["data_out"][task][0] for task in task_ids])
        reported_at = {task_id: at for task_id, (_, at) in stats["reports"].items()}
        fetched_at = stats["fetch_started"]  # only the engine's storage_url sees the fetches
        sent_at = submissions.sent_at
        return EngineRun(
            tasks=count,
            concurrency=service.concurrency,
            latency=upstream.latency,
            jitter=upstream.jitter,
            seconds=max(reported_at.values()) - min(sent_at.values()),
            task_run_seconds=[
                reported_at[task] - fetched_at[task] for task in task_ids if task in fetched_at
            ],
            end_to_end_seconds=[reported_at[task] - sent_at[task] for task in task_ids],
            compute_answer_seconds=submissions.answer_seconds,
            status_answer_seconds=status_answers,
            service_cpu_seconds=service_cpu,
            standins_cpu_seconds=standins_cpu,
            upstream_peak_in_flight=stats["upstream_peak_in_flight"],
            upstream_image_bytes=stats["image_bytes"],
            storage=storage.name,
            loop_lag=loop_lag,
        )


@asynccontextmanager
async def open_bench(plan: Plan, log_dir: Path) -> AsyncIterator[Bench]:
    """Start the stand-ins and the object store (logs go to `log_dir`); stop them, always."""
    port, store_port = free_loopback_port(), free_loopback_port()
    standins = standins_process(port, log_dir)
    store = ObjectStore(object_store_process(store_port, log_dir), f"http://127.0.0.1:{store_port}")
    url = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        try:
            standins.start()
            store.process.start()
            await standins.wait_until_answering(client, f"{url}/_bench/progress", 30.0)
            await store.process.wait_until_answering(client, f"{store.url}/", 30.0)  # ListBuckets
            await store.prepare()
            yield Bench(plan, client, standins, url, store, log_dir)
        finally:
            store.process.stop()
            standins.stop()
