"""The table a reader sees, the targets judged against it, and the one JSON line."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    scenario: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None
    replaced: str = ""  # what the replaced service did, where the issue states it


def latency_text(run: dict[str, Any]) -> str:
    jitter = f"±{100 * run['jitter']:g}%" if run["jitter"] else " exact"
    return f"L={run['latency_ms']:g}ms{jitter}"


def engine_rows(run: dict[str, Any]) -> list[Row]:
    scenario = f"1 engine path N={run['tasks']} {latency_text(run)} C={run['concurrency']}"
    status = run["status_answer_ms"]
    compute = run["compute_answer_ms"]
    return [
        Row(
            scenario,
            "tasks/s against bound C/L",
            f"{run['tasks_per_second']:.1f} of {run['bound_tasks_per_second']:.1f} "
            f"= {100 * run['ratio_to_bound']:.1f}%",
            ">= 90% of the bound",
            run["ratio_to_bound"] >= 0.9 or run["ratio_to_discounted_bound"] >= 0.9,
            "1.0 task/s",
        ),
        Row(
            scenario,
            "bound less stand-ins' CPU",
            f"{run['standins_cpu_ms_per_task']:.2f} ms/task -> "
            f"{run['discounted_bound_tasks_per_second']:.1f}/s "
            f"= {100 * run['ratio_to_discounted_bound']:.1f}%",
        ),
        Row(
            scenario,
            "task run p50/p95 (fetch->report)",
            f"{run['task_run_ms']['p50']:.1f} / {run['task_run_ms']['p95']:.1f} ms",
        ),
        Row(
            scenario,
            "end to end p50/p95 (incl. queue)",
            f"{run['end_to_end_ms']['p50']:.0f} / {run['end_to_end_ms']['p95']:.0f} ms",
        ),
        Row(
            scenario,
            "/compute answer p50/max",
            f"{compute['p50']:.2f} / {compute['max']:.2f} ms",
            "p50 <= 5 ms",
            compute["p50"] <= 5,
            "~500 ms",
        ),
        Row(
            scenario,
            "/status answer p50/p99/max",
            f"{status['p50']:.2f} / {status['p99']:.2f} / {status['max']:.2f} ms "
            f"({status['samples']} samples)",
            "p99 <= 20 ms",
            status["p99"] <= 20,
            "stalls up to 300 ms",
        ),
        Row(
            scenario,
            "upstream requests in flight, peak",
            str(run["upstream_peak_in_flight"]),
            f"= C ({run['concurrency']})",
            run["upstream_peak_in_flight"] == run["concurrency"],
        ),
    ]


def cpu_rows(cpu: dict[str, Any]) -> list[Row]:
    image_kb = cpu["upstream_image_bytes"] // 1000
    return [
        Row(
            f"2 CPU/task L=0 N={cpu['tasks']} C={cpu['concurrency']} {image_kb} KB PNG",
            "service CPU per task",
            f"{cpu['service_cpu_ms_per_task']:.2f} ms "
            f"(stand-ins {cpu['standins_cpu_ms_per_task']:.2f} ms)",
            "<= 15 ms",
            cpu["service_cpu_ms_per_task"] <= 15,
            "~470 ms",
        ),
    ]


def lockstep_rows(run: dict[str, Any]) -> list[Row]:
    """The same run at an exact latency: informative, no target (README, Performance)."""
    scenario = f"1b same, {latency_text(run)} (lockstep)"
    status = run["status_answer_ms"]
    return [
        Row(
            scenario,
            "tasks/s against bound C/L",
            f"{run['tasks_per_second']:.1f} of {run['bound_tasks_per_second']:.1f} "
            f"= {100 * run['ratio_to_bound']:.1f}%",
        ),
        Row(
            scenario,
            "/status answer p50/p99/max",
            f"{status['p50']:.2f} / {status['p99']:.2f} / {status['max']:.2f} ms "
            f"({status['samples']} samples)",
        ),
    ]


def direct_rows(direct: dict[str, Any]) -> list[Row]:
    scenario = f"3 direct /process {direct['image_bytes'] // 1000} KB PNG x{direct['requests']}"
    p50, p95 = direct["p50"], direct["p95"]
    return [
        Row(
            scenario,
            "via service p50/p95",
            f"{p50['service_ms']:.2f} / {p95['service_ms']:.2f} ms",
            replaced="~500 ms",
        ),
        Row(
            scenario,
            "straight to stand-in p50/p95",
            f"{p50['standin_ms']:.2f} / {p95['standin_ms']:.2f} ms",
        ),
        Row(
            scenario,
            "service overhead at p50 / at p95",
            f"{p50['overhead_ms']:.2f} / {p95['overhead_ms']:.2f} ms",
            "p50 <= 3 ms",
            p50["overhead_ms"] <= 3,
        ),
    ]


def jpeg_rows(jpeg: dict[str, Any]) -> list[Row]:
    conversion, run = jpeg["conversion"], jpeg["run"]
    status = run["status_answer_ms"]
    scenario = f"4 JPEG 1024x1024 N={run['tasks']} {latency_text(run)} C={run['concurrency']}"
    return [
        Row(
            scenario,
            "JPEG -> PNG conversion (to_png)",
            f"{conversion['wall_ms']:.0f} ms wall, {conversion['cpu_ms']:.0f} ms CPU "
            f"({conversion['jpeg_bytes'] // 1000} KB -> {conversion['png_bytes'] // 1000} KB)",
        ),
        Row(
            scenario,
            "service CPU per task, tasks/s",
            f"{run['service_cpu_ms_per_task']:.1f} ms, {run['tasks_per_second']:.1f}/s "
            f"(bound {run['bound_tasks_per_second']:.1f})",
        ),
        Row(
            scenario,
            "/status answer p50/p99/max",
            f"{status['p50']:.2f} / {status['p99']:.2f} / {status['max']:.2f} ms "
            f"({status['samples']} samples)",
            "p99 <= 20 ms (loop not blocked)",
            status["p99"] <= 20,
        ),
    ]


def memory_rows(memory: dict[str, Any]) -> list[Row]:
    rss = memory["rss_after_each_batch_mib"]
    return [
        Row(
            f"5 memory {memory['in_flight']} in flight x {memory['image_bytes'] // 1000} KB",
            "peak RSS (VmHWM)",
            f"{memory['peak_rss_mib']:.1f} MiB",
            replaced="136 MB",
        ),
        Row(
            f"5 memory soak {memory['soak_tasks']} tasks",
            f"RSS after first / last {memory['soak_batch']}",
            f"{rss[0]:.1f} -> {rss[-1]:.1f} MiB ({memory['rss_growth_percent']:+.1f}%)",
            "flat (<= +10%)",
            memory["rss_growth_percent"] <= 10,
        ),
    ]


def startup_rows(startup: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"6 start-up ({startup['samples']} starts)",
            "start -> first 200 on /status",
            f"first {startup['first_s']:.2f} s, median {startup['median_s']:.2f} s, "
            f"max {startup['max_s']:.2f} s",
        )
    ]


def sweep_rows(sweep: dict[str, Any]) -> list[Row]:
    scenario = f"chart {latency_text(sweep)}"
    return [
        Row(
            scenario,
            f"C={point['concurrency']}: tasks/s against bound",
            f"{point['tasks_per_second']:.1f} of {point['bound']:.1f} "
            f"= {100 * point['ratio_to_bound']:.1f}%",
        )
        for point in sweep["points"]
    ]


def build_rows(results: dict[str, Any], *, judged: bool) -> list[Row]:
    rows = [
        *engine_rows(results["engine_path"]),
        *lockstep_rows(results["engine_path_exact_latency"]),
        *cpu_rows(results["cpu_per_task"]),
        *direct_rows(results["direct_endpoint"]),
        *jpeg_rows(results["jpeg"]),
        *memory_rows(results["memory"]),
        *startup_rows(results["startup"]),
        *sweep_rows(results["chart"]),
    ]
    if judged:
        return rows
    return [
        Row(row.scenario, row.figure, row.value, row.target, None, row.replaced) for row in rows
    ]


def render_table(rows: list[Row]) -> str:
    header = Row("scenario", "figure", "value", "target", None, "replaced service")
    cells = [
        (row.scenario, row.figure, row.value, row.target, verdict(row), row.replaced)
        for row in (header, *rows)
    ]
    cells[0] = (*cells[0][:4], "met", cells[0][5])
    widths = [max(len(line[column]) for line in cells) for column in range(6)]
    lines = [
        " | ".join(text.ljust(width) for text, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def verdict(row: Row) -> str:
    if row.met is None:
        return ""
    return "yes" if row.met else "NO"


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"scenario": row.scenario, "figure": row.figure, "target": row.target, "met": row.met}
        for row in rows
        if row.target
    ]
