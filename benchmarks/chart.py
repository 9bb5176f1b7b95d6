"""The chart: tasks/s against MAX_CONCURRENT_TASKS, with the bound C/L the upstream sets."""

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def draw_sweep(sweep: dict[str, Any], path: Path, subtitle: str) -> None:
    points = sweep["points"]
    concurrencies = [point["concurrency"] for point in points]
    measured = [point["tasks_per_second"] for point in points]
    bounds = [point["bound"] for point in points]
    figure = Figure(figsize=(7.5, 4.8), dpi=120, layout="constrained")
    axes = figure.subplots()
    axes.plot(concurrencies, bounds, "--", color="grey", label="bound C / L")
    axes.plot(concurrencies, measured, "o-", color="tab:blue", label="measured")
    for concurrency, value, point in zip(concurrencies, measured, points, strict=True):
        axes.annotate(
            f"{100 * point['ratio_to_bound']:.0f}%",
            (concurrency, value),
            textcoords="offset points",
            xytext=(0, -15),
            ha="center",
            fontsize=8,
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log", base=2)
    axes.set_ylim(min(measured) / 1.5, max(bounds) * 1.5)  # room for the labels
    axes.set_xticks(concurrencies, [str(c) for c in concurrencies])
    axes.set_yticks(bounds, [f"{b:g}" for b in bounds])
    axes.minorticks_off()
    axes.set_xlabel("MAX_CONCURRENT_TASKS (C)")
    axes.set_ylabel("tasks per second")
    axes.set_title(
        f"Engine tasks per second, upstream latency L = {sweep['latency_ms']:g} ms "
        f"± {100 * sweep['jitter']:g}%\n{subtitle}",
        fontsize=10,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left")
    figure.savefig(path)
