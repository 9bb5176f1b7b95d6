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


def worst_text(lag: dict[str, Any]) -> str:
    if lag["worst_at_most_ms"] is None:
        return f"> {lag['worst_above_ms']:g} ms"
    return f"({lag['worst_above_ms']:g}, {lag['worst_at_most_ms']:g}] ms"


def loop_lag_rows(scenario: str, run: dict[str, Any], *, judged: bool = True) -> list[Row]:
    """The service's 1 ms ticker over the run: wake-ups late by over 5 ms, then those of
    them the loop's own work made late (its thread's CPU time over the wait), the rest
    being the machine (no free core: the stand-ins, moto and the driver share the two).

    Not judged at L = 0: there the tasks keep the loop busy by design (a saturated
    service queues its ticker behind them), which says nothing of one step holding it.
    """
    rows = (
        ("loop lag: ticks late > 5 ms; worst", run["loop_lag"]),
        ("of them, loop busy running > 5 ms", run["loop_lag"]["busy"]),
    )
    return [
        Row(
            scenario,
            figure,
            f"{lag['over_5ms']} of {lag['ticks']}; worst in {worst_text(lag)}",
            "none > 5 ms" if judged else "",
            lag["over_5ms"] == 0 and lag["ticks"] > 0 if judged else None,
        )
        for figure, lag in rows
    ]


def status_row(scenario: str, run: dict[str, Any], *, judged: bool = True) -> Row:
    status = run["status_answer_ms"]
    return Row(
        scenario,
        "/status answer p50/p99/max",
        f"{status['p50']:.2f} / {status['p99']:.2f} / {status['max']:.2f} ms "
        f"({status['samples']} samples)",
        "p99 <= 20, max <= 50 ms" if judged else "",
        status["p99"] <= 20 and status["max"] <= 50 if judged else None,
        "stalls up to 300 ms" if judged else "",
    )


def engine_rows(run: dict[str, Any]) -> list[Row]:
    scenario = (
        f"1 engine path {run['storage']} N={run['tasks']} {latency_text(run)} "
        f"C={run['concurrency']}"
    )
    compute = run["compute_answer_ms"]
    task_run = run.get("task_run_ms")
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
            f"{task_run['p50']:.1f} / {task_run['p95']:.1f} ms"
            if task_run
            else "(the bucket sees the fetches)",
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
        status_row(scenario, run),
        *loop_lag_rows(scenario, run),
        Row(
            scenario,
            "upstream requests in flight, peak",
            str(run["upstream_peak_in_flight"]),
            f"= C ({run['concurrency']})",
            run["upstream_peak_in_flight"] == run["concurrency"],
        ),
    ]


def cpu_rows(cpu: dict[str, Any], s3: dict[str, Any], cold: dict[str, Any]) -> list[Row]:
    image_kb = cpu["upstream_image_bytes"] // 1000
    scenario = f"2 CPU/task L=0 N={cpu['tasks']} C={cpu['concurrency']} {image_kb} KB PNG"
    s3_scenario = f"2 same, s3 form (moto) N={s3['tasks']}"
    cold_scenario = (
        f"2 s3 form, first {cold['tasks']} tasks at once, {latency_text(cold)} (no S3 client yet)"
    )
    ratio = s3["service_cpu_ms_per_task"] / cpu["service_cpu_ms_per_task"]
    return [
        Row(
            scenario,
            "service CPU per task, storage_url",
            f"{cpu['service_cpu_ms_per_task']:.2f} ms "
            f"(stand-ins {cpu['standins_cpu_ms_per_task']:.2f} ms)",
            "<= 15 ms",
            cpu["service_cpu_ms_per_task"] <= 15,
            "~470 ms",
        ),
        *loop_lag_rows(scenario, cpu, judged=False),
        Row(
            s3_scenario,
            "service CPU per task, s3",
            f"{s3['service_cpu_ms_per_task']:.2f} ms = {ratio:.2f}x storage_url "
            f"(moto and stand-ins {s3['standins_cpu_ms_per_task']:.2f} ms)",
            "<= 6 ms",
            s3["service_cpu_ms_per_task"] <= 6,
            "8.7-11.6 ms",
        ),
        *loop_lag_rows(s3_scenario, s3, judged=False),
        *loop_lag_rows(cold_scenario, cold),
    ]


def lockstep_rows(run: dict[str, Any]) -> list[Row]:
    """The same run at an exact latency: informative, no target (README, Performance)."""
    scenario = f"1b storage_url, {latency_text(run)} (lockstep)"
    return [
        Row(
            scenario,
            "tasks/s against bound C/L",
            f"{run['tasks_per_second']:.1f} of {run['bound_tasks_per_second']:.1f} "
            f"= {100 * run['ratio_to_bound']:.1f}%",
        ),
        status_row(scenario, run, judged=False),
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


def answer_run_rows(scenario: str, run: dict[str, Any]) -> list[Row]:
    """Tasks answered with JPEG or base64: their CPU, throughput, and the loop meanwhile."""
    return [
        Row(
            scenario,
            "service CPU per task, tasks/s",
            f"{run['service_cpu_ms_per_task']:.1f} ms, {run['tasks_per_second']:.1f}/s "
            f"(bound {run['bound_tasks_per_second']:.1f})",
        ),
        status_row(scenario, run),
        *loop_lag_rows(scenario, run),
    ]


def jpeg_rows(jpeg: dict[str, Any]) -> list[Row]:
    conversion, run = jpeg["conversion"], jpeg["run"]
    scenario = f"4 JPEG 1024x1024 N={run['tasks']} {latency_text(run)} C={run['concurrency']}"
    size_ratio = conversion["size_to_pillow_default"]
    return [
        Row(
            scenario,
            "JPEG -> PNG (to_png), CPU",
            f"{conversion['cpu_ms']:.1f} ms ({conversion['wall_ms']:.1f} ms wall); "
            f"Pillow's default {conversion['pillow_default_cpu_ms']:.0f} ms",
            "<= 25 ms",
            conversion["cpu_ms"] <= 25,
            "173-190 ms",
        ),
        Row(
            scenario,
            "PNG size against Pillow's default",
            f"{conversion['jpeg_bytes'] // 1000} KB JPEG -> {conversion['png_bytes'] // 1000} KB "
            f"= {size_ratio:.3f}x {conversion['pillow_default_png_bytes'] // 1000} KB",
            "<= 1.35x",
            size_ratio <= 1.35,
        ),
        *answer_run_rows(scenario, run),
    ]


def base64_rows(answers: dict[str, Any]) -> list[Row]:
    conversion, run = answers["conversion"], answers["run"]
    size_mb = conversion["answer_bytes"] / 1e6
    scenario = (
        f"4b base64 JSON {size_mb:.1f} MB N={run['tasks']} {latency_text(run)} "
        f"C={run['concurrency']}"
    )
    return [
        Row(
            scenario,
            "answer -> PNG (extract_image, to_png), CPU",
            f"{conversion['cpu_ms']:.1f} ms ({conversion['wall_ms']:.1f} ms wall)",
            "<= 15 ms",
            conversion["cpu_ms"] <= 15,
            "22-25 ms on the loop",
        ),
        *answer_run_rows(scenario, run),
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
        *engine_rows(results["engine_path_s3"]),
        *lockstep_rows(results["engine_path_exact_latency"]),
        *cpu_rows(results["cpu_per_task"], results["cpu_per_task_s3"], results["s3_cold_start"]),
        *direct_rows(results["direct_endpoint"]),
        *jpeg_rows(results["jpeg"]),
        *base64_rows(results["base64"]),
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
