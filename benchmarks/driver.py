"""Driving the service and reading the stand-ins, over loopback HTTP, from the driver process."""

import asyncio
import contextlib
import itertools
import re
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from .standins import UpstreamConfig
from .stats import ms, percentile

PROGRESS_INTERVAL = 0.05


@dataclass(frozen=True)
class StorageForm:
    """Where a task's files live: the engine's `storage_url`, or its bucket (the `s3_*` form).

    `fields` go into the ServiceTask as they are; `input_keys`, when set, are the two keys
    every task reads (objects put in the bucket beforehand), else each task has its own.
    """

    name: str
    fields: dict[str, str]
    input_keys: tuple[str, str] | None = None

    def data_in(self, task_id: str) -> list[str]:
        return list(self.input_keys or (f"{task_id}.json", f"{task_id}.txt"))


def storage_url_form(standins_url: str) -> StorageForm:
    return StorageForm("storage_url", {"storage_url": f"{standins_url}/storage"})


def service_task(task_id: str, standins_url: str, storage: StorageForm) -> dict[str, Any]:
    """A ServiceTask as a core engine posts it to /compute, in the given storage form."""
    return {
        "task": {
            "id": task_id,
            "data_in": storage.data_in(task_id),
            "data_out": None,
            "status": "pending",
            "service_id": "benchmark",
            "pipeline_execution_id": None,
            "error_message": None,
        },
        **storage.fields,
        "callback_url": f"{standins_url}/tasks/{task_id}",
    }


async def configure_upstream(
    client: httpx.AsyncClient, standins_url: str, config: UpstreamConfig
) -> None:
    """Set the API stand-in's latency and image; clears the stand-ins' counts and reports."""
    response = await client.put(f"{standins_url}/_bench/upstream", json=asdict(config))
    response.raise_for_status()


async def standin_stats(client: httpx.AsyncClient, standins_url: str) -> dict[str, Any]:
    response = await client.get(f"{standins_url}/_bench/stats")
    response.raise_for_status()
    return response.json()


@dataclass
class Submissions:
    sent_at: dict[str, float]
    answer_seconds: list[float]


async def submit_tasks(
    client: httpx.AsyncClient,
    service_url: str,
    standins_url: str,
    task_ids: list[str],
    concurrency: int,
    storage: StorageForm,
) -> Submissions:
    """POST every task to /compute, `concurrency` at a time, timing each answer."""
    submissions = Submissions({}, [])
    pending = iter(task_ids)

    async def submitter() -> None:
        for task_id in pending:
            started = time.monotonic()
            submissions.sent_at[task_id] = started
            response = await client.post(
                f"{service_url}/compute", json=service_task(task_id, standins_url, storage)
            )
            submissions.answer_seconds.append(time.monotonic() - started)
            if response.status_code != 200:
                raise RuntimeError(f"/compute answered {response.status_code}: {response.text}")

    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return submissions


async def wait_for_reports(
    client: httpx.AsyncClient, standins_url: str, expected: int, within_seconds: float
) -> dict[str, int]:
    """Poll the engine stand-in until `expected` final reports are in, for `within_seconds`."""
    deadline = time.monotonic() + within_seconds
    progress = {"reports": 0, "errors": 0}
    while time.monotonic() < deadline:
        progress = (await client.get(f"{standins_url}/_bench/progress")).json()
        if progress["reports"] >= expected:
            return progress
        await asyncio.sleep(PROGRESS_INTERVAL)
    raise RuntimeError(f"only {progress['reports']} of {expected} reports in {within_seconds:g} s")


async def probe_status(
    client: httpx.AsyncClient, service_url: str, interval: float, stop: asyncio.Event
) -> list[float]:
    """GET /status every `interval` seconds until `stop` is set; the answer times."""
    answers: list[float] = []
    while not stop.is_set():
        started = time.monotonic()
        response = await client.get(f"{service_url}/status")
        answers.append(time.monotonic() - started)
        if response.status_code != 200:
            raise RuntimeError(f"/status answered {response.status_code}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, interval - answers[-1]))
    return answers


LAG_BUCKET_LINE = re.compile(
    r'^event_loop_(lag|busy)_seconds_bucket\{le="([^"]+)"\} (\S+)$', re.MULTILINE
)
LagCounts = dict[str, dict[float, float]]


async def loop_lag_counts(client: httpx.AsyncClient, service_url: str) -> LagCounts:
    """The service's loop-lag histograms (LOOP_LAG_PROBE), ticks at most `le` seconds late:
    "lag", by how late they ran; "busy", by how much of it the loop's thread ran code."""
    response = await client.get(f"{service_url}/metrics")
    response.raise_for_status()
    counts: LagCounts = {"lag": {}, "busy": {}}
    for kind, le, count in LAG_BUCKET_LINE.findall(response.text):
        counts[kind][float(le)] = float(count)
    return counts


def late_ticks(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """Over one run of one histogram: ticks, those over 5 ms, the bucket of the worst."""
    counts = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    ticks = counts.get(float("inf"), 0.0)
    bounds = sorted(counts)
    worst_above, worst_at_most = 0.0, bounds[0] if bounds else 0.0
    for lower, upper in itertools.pairwise(bounds):
        if counts[upper] > counts[lower]:
            worst_above, worst_at_most = lower, upper
    return {
        "ticks": int(ticks),
        "over_5ms": int(ticks - counts.get(0.005, ticks)),
        "worst_above_ms": ms(worst_above),
        "worst_at_most_ms": ms(worst_at_most) if worst_at_most != float("inf") else None,
    }


def loop_lag_figures(before: LagCounts, after: LagCounts) -> dict[str, Any]:
    """The ticks' lateness over one run, and under "busy" the part of it the loop ran code."""
    figures = late_ticks(before["lag"], after["lag"])
    figures["busy"] = late_ticks(before["busy"], after["busy"])
    return figures


@dataclass
class EngineRun:
    """One batch of engine tasks, from the first /compute to the last report."""

    tasks: int
    concurrency: int
    latency: float
    jitter: float
    seconds: float
    task_run_seconds: list[float]  # first input fetched -> report received
    end_to_end_seconds: list[float]  # /compute sent -> report received (includes queueing)
    compute_answer_seconds: list[float]
    status_answer_seconds: list[float]
    service_cpu_seconds: float
    standins_cpu_seconds: float
    upstream_peak_in_flight: int
    upstream_image_bytes: int
    storage: str
    loop_lag: dict[str, Any]

    @property
    def tasks_per_second(self) -> float:
        return self.tasks / self.seconds

    @property
    def bound(self) -> float:
        """C / L: what the upstream allows, in tasks per second."""
        return self.concurrency / self.latency if self.latency else float("inf")

    @property
    def standins_cpu_per_task(self) -> float:
        return self.standins_cpu_seconds / self.tasks

    @property
    def discounted_bound(self) -> float:
        """C / (L + the stand-ins' CPU per task): each task also waits on the stand-ins' work."""
        return self.concurrency / (self.latency + self.standins_cpu_per_task)

    def summary(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "tasks": self.tasks,
            "concurrency": self.concurrency,
            "latency_ms": ms(self.latency),
            "jitter": self.jitter,
            "seconds": round(self.seconds, 3),
            "tasks_per_second": round(self.tasks_per_second, 2),
            "service_cpu_ms_per_task": ms(self.service_cpu_seconds / self.tasks),
            "standins_cpu_ms_per_task": ms(self.standins_cpu_per_task),
            "storage": self.storage,
            "loop_lag": self.loop_lag,
            "end_to_end_ms": {
                "p50": ms(percentile(self.end_to_end_seconds, 0.5)),
                "p95": ms(percentile(self.end_to_end_seconds, 0.95)),
            },
            "compute_answer_ms": {
                "p50": ms(percentile(self.compute_answer_seconds, 0.5)),
                "max": ms(max(self.compute_answer_seconds)),
            },
            "upstream_peak_in_flight": self.upstream_peak_in_flight,
            "upstream_image_bytes": self.upstream_image_bytes,
        }
        if self.task_run_seconds:  # only where the engine stand-in serves the inputs
            figures["task_run_ms"] = {
                "p50": ms(percentile(self.task_run_seconds, 0.5)),
                "p95": ms(percentile(self.task_run_seconds, 0.95)),
            }
        if self.latency:
            figures["bound_tasks_per_second"] = round(self.bound, 2)
            figures["ratio_to_bound"] = round(self.tasks_per_second / self.bound, 4)
            figures["discounted_bound_tasks_per_second"] = round(self.discounted_bound, 2)
            figures["ratio_to_discounted_bound"] = round(
                self.tasks_per_second / self.discounted_bound, 4
            )
        if self.status_answer_seconds:
            answers = self.status_answer_seconds
            figures["status_answer_ms"] = {
                "samples": len(answers),
                "p50": ms(percentile(answers, 0.5)),
                "p99": ms(percentile(answers, 0.99)),
                "max": ms(max(answers)),
            }
        return figures


def new_task_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def check_reports(progress: dict[str, int], stats: dict[str, Any], count: int) -> None:
    """Fail the run on any error report or any stored result that is not a PNG."""
    if progress["errors"] or stats["stored_without_png"] or progress["reports"] < count:
        raise RuntimeError(
            f"{progress['errors']} of {count} tasks ended in error "
            f"({stats['first_error']}); {stats['stored_without_png']} stored without a PNG"
        )
