"""Everything the process owns while it runs, created and closed by the lifespan."""

import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import anyio.lowlevel
import httpx
from fastapi import FastAPI

from .background import GIL_SWITCH_INTERVAL_SECONDS, BackgroundThreads, background_thread_count
from .capacity import Capacity
from .config import Settings
from .engine.registration import Registrations
from .engine.reporting import Reporter
from .engine.trust import EngineTrust
from .huggingface.client import HuggingFaceClient, build_hf_client
from .loop_lag import LoopLagProbe
from .metrics import Metrics
from .outbound import (
    ConnectPolicy,
    OutboundGuard,
    OutboundPolicy,
    Resolver,
    resolve_with_system,
)
from .pacing import Pacing
from .service import describe_service
from .startup import settings_summary
from .storage.factory import StorageFactory
from .storage.s3 import S3ClientPool
from .supervision import spawn_forever
from .tasks.factory import build_task_store
from .tasks.pipeline import TaskPipeline
from .tasks.store import TaskStore
from .tasks.worker import WorkerPool
from .transport import AiohttpTransport, GuardedResolver

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    hf: HuggingFaceClient
    direct_capacity: Capacity
    store: TaskStore
    workers: WorkerPool
    registrations: Registrations
    metrics: Metrics
    trust: EngineTrust


def build_connect_guard(settings: Settings, resolver: Resolver) -> GuardedResolver:
    """The connect-time guard of every connection the process opens (HTTP and S3).

    The hosts the operator named for the engine side (the engines, their object stores, the
    service's own SERVICE_URL, which it polls before announcing) may be on private addresses.
    """
    trust = EngineTrust.from_settings(settings)
    urls = [*settings.engine_url_strings, settings.service_url_string]
    named = trust.hosts | {httpx.URL(url).host for url in urls}
    policy = ConnectPolicy.from_settings(settings, named_hosts=named)
    return GuardedResolver(policy, resolver, timeout=settings.hf_connect_timeout)


def build_http_client(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    resolver: Resolver = resolve_with_system,
) -> httpx.AsyncClient:
    """The one HTTP client of the process; redirects are never followed implicitly.

    httpx's API over aiohttp's connections (`transport.py`): a quarter of httpcore's CPU per
    task (README, Performance), every connection through the connect-time guard. Tests may
    pass a transport of their own.
    """
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    guard = build_connect_guard(settings, resolver)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.engine_request_timeout, connect=settings.hf_connect_timeout),
        limits=limits,
        follow_redirects=False,
        transport=transport or AiohttpTransport(limits=limits, resolver=guard),
    )


def build_lifespan(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = resolve_with_system,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Runtime]]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Runtime]]:
        logger.info("settings in effect: %s", settings_summary(settings))
        async with build_http_client(settings, transport, resolver=resolver) as http:
            metrics = Metrics()
            lookup_timeout = settings.hf_connect_timeout
            guard = OutboundGuard(
                OutboundPolicy.from_settings(settings), resolver, lookup_timeout=lookup_timeout
            )
            download_guard = OutboundGuard(
                OutboundPolicy.for_downloads(settings), resolver, lookup_timeout=lookup_timeout
            )
            pacing = Pacing()
            background = BackgroundThreads(background_thread_count(os.cpu_count()))
            hf = build_hf_client(
                http,
                settings,
                metrics=metrics,
                guard=guard,
                download_guard=download_guard,
                pacing=pacing,
                conversions=background,
            )
            store = build_task_store(settings)
            s3_clients = S3ClientPool(
                timeout=settings.engine_request_timeout,
                resolver=build_connect_guard(settings, resolver),
                connections=2 * settings.max_concurrent_tasks,
            )
            reporter = Reporter(
                http,
                timeout=settings.engine_request_timeout,
                budget=settings.callback_retry_budget,
                pacing=pacing,
            )
            pipeline = TaskPipeline(
                settings=settings,
                hf=hf,
                storages=StorageFactory(http, s3_clients, timeout=settings.engine_request_timeout),
                store=store,
                reporter=reporter,
                metrics=metrics,
            )
            runtime = Runtime(
                settings=settings,
                hf=hf,
                direct_capacity=Capacity(
                    settings.max_direct_requests,
                    busy_message="The service is generating as many images as it allows; "
                    "try again shortly.",
                ),
                store=store,
                workers=WorkerPool(store, pipeline, settings.max_concurrent_tasks, pacing=pacing),
                registrations=Registrations(
                    http, describe_service(settings), settings, pacing=pacing
                ),
                metrics=metrics,
                trust=EngineTrust.from_settings(settings),
            )
            metrics.watch(
                queued=lambda: store.queued_count, in_flight=lambda: runtime.workers.running
            )
            await store.start()
            runtime.workers.start()
            runtime.registrations.start()
            probe = (
                spawn_forever("loop-lag probe", LoopLagProbe(metrics.registry).run, pacing)
                if settings.loop_lag_probe
                else None
            )
            # anyio imports its asyncio backend at first use (~30 ms of imports): here, not
            # on the event loop in the middle of the first task.
            await anyio.lowlevel.checkpoint()
            # What start-up built lives as long as the process: kept out of the cyclic
            # collector's sight, a full collection scans only what tasks allocate (one held
            # the event loop ~40 ms before).
            gc.freeze()
            # The GIL's switch interval is the interpreter's too (background.py says why).
            switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
            try:
                yield {"runtime": runtime}
            finally:
                logger.info("shutting down")
                gc.unfreeze()
                sys.setswitchinterval(switch_interval)
                if probe is not None:
                    probe.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await probe
                # The engines first: told the service sleeps (unless other replicas still
                # serve), they stop sending tasks while this one drains.
                await runtime.registrations.stop(notify=await store.other_replicas() == 0)
                await runtime.workers.stop(settings.shutdown_grace_seconds)
                await store.aclose()
                await s3_clients.close()
                background.close()

    return lifespan
