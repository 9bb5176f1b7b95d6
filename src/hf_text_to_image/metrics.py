"""Prometheus metrics of one service instance, in a registry of its own (no global state)."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

PHASES = ("fetch", "generate", "store", "report")
_TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_CONVERSION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tasks_accepted = Counter(
            "tasks_accepted", "Tasks accepted at /compute.", registry=self.registry
        )
        self.tasks_rejected = Counter(
            "tasks_rejected",
            "Tasks refused at /compute with 503.",
            ["reason"],
            registry=self.registry,
        )
        self.tasks_finished = Counter(
            "tasks_finished",
            "Tasks that got their final report, by final status.",
            ["status"],
            registry=self.registry,
        )
        self.task_phase_seconds = Histogram(
            "task_phase_seconds",
            "Time a task spends in each phase.",
            ["phase"],
            buckets=_TASK_BUCKETS,
            registry=self.registry,
        )
        self.upstream_requests = Counter(
            "upstream_requests",
            "Calls to the inference API, by provider and HTTP status (or 'error').",
            ["provider", "status_code"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "upstream_request_seconds",
            "Latency of one call to the inference API (polls and downloads included).",
            ["provider"],
            buckets=_TASK_BUCKETS,
            registry=self.registry,
        )
        self.direct_requests = Counter(
            "direct_requests",
            "Direct calls (/process, OpenAI-style), by endpoint, provider and HTTP status.",
            ["endpoint", "provider", "status"],
            registry=self.registry,
        )
        self.conversion_seconds = Histogram(
            "image_conversion_seconds",
            "CPU time of turning an answer into the PNG returned, by the format answered.",
            ["source_format"],
            buckets=_CONVERSION_BUCKETS,
            registry=self.registry,
        )
        # CPU, memory, open files and start time of this process, on the service's registry.
        ProcessCollector(registry=self.registry)
        self.queue_depth = Gauge(
            "tasks_queued", "Tasks accepted and waiting for a worker.", registry=self.registry
        )
        self.tasks_in_flight = Gauge(
            "tasks_in_flight", "Tasks a worker is processing now.", registry=self.registry
        )

    def watch(self, *, queued: Callable[[], int], in_flight: Callable[[], int]) -> None:
        """Read the gauges from their owners at scrape time."""
        self.queue_depth.set_function(queued)
        self.tasks_in_flight.set_function(in_flight)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.task_phase_seconds.labels(name).observe(time.perf_counter() - started)

    def upstream_call(self, provider: str, status_code: int | None, seconds: float) -> None:
        status = str(status_code) if status_code else "error"
        self.upstream_requests.labels(provider, status).inc()
        self.upstream_seconds.labels(provider).observe(seconds)

    @contextmanager
    def conversion(self, source_format: str) -> Iterator[None]:
        """Time one conversion to PNG; it runs in a thread, so its wall time is its CPU time."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.conversion_seconds.labels(source_format).observe(time.perf_counter() - started)

    def direct_call(self, endpoint: str, provider: str | None, status: int) -> None:
        """One answer of a direct endpoint; `provider` is None when none was chosen yet."""
        self.direct_requests.labels(endpoint, provider or "none", str(status)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
