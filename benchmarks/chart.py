"""The chart: tasks/s against MAX_CONCURRENT_TASKS, with the bound C/L the upstream sets.

Written as SVG by hand: two lines on log-log axes need no plotting library (matplotlib and
its fonts were a tenth of the test install for this one picture).
"""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 576
LEFT, RIGHT, TOP, BOTTOM = 80, 24, 64, 60
MEASURED_COLOUR = "#1f77b4"
BOUND_COLOUR = "grey"
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


class LogAxis:
    """Base-2 logarithmic scale from [low, high] onto [start, end] pixels."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self._low, self._span = math.log2(low), math.log2(high) - math.log2(low)
        self._start, self._end = start, end

    def __call__(self, value: float) -> float:
        share = (math.log2(value) - self._low) / self._span if self._span else 0.5
        return self._start + share * (self._end - self._start)


def text(x: float, y: float, content: str, size: int = 13, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" {FONT}{extra}>{escape(content)}</text>'
    )


def polyline(points: Sequence[tuple[float, float]], colour: str, dashed: bool = False) -> str:
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash = ' stroke-dasharray="8 5"' if dashed else ""
    return (
        f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
    )


def render_sweep(sweep: dict[str, Any], subtitle: str) -> str:
    """The SVG document of the sweep: measured tasks/s and the bound C/L, each point labelled."""
    points = sweep["points"]
    concurrencies = [point["concurrency"] for point in points]
    measured = [point["tasks_per_second"] for point in points]
    bounds = [point["bound"] for point in points]
    x = LogAxis(min(concurrencies), max(concurrencies), LEFT + 30, WIDTH - RIGHT - 30)
    # Room below the lowest point for its label, above the highest bound for the legend.
    y = LogAxis(min(measured) / 1.5, max(bounds) * 1.5, HEIGHT - BOTTOM, TOP)
    plot_right, plot_bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    for concurrency in concurrencies:
        parts.append(
            f'<line x1="{x(concurrency):.1f}" y1="{TOP}" x2="{x(concurrency):.1f}" '
            f'y2="{plot_bottom}" stroke="#ddd"/>'
        )
        parts.append(text(x(concurrency), plot_bottom + 18, str(concurrency), text_anchor="middle"))
    for bound in sorted(set(bounds)):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(bound):.1f}" x2="{plot_right}" y2="{y(bound):.1f}" '
            f'stroke="#ddd"/>'
        )
        parts.append(text(LEFT - 6, y(bound) + 4, f"{bound:g}", text_anchor="end"))
    parts.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_right - LEFT}" height="{plot_bottom - TOP}" '
        f'fill="none" stroke="black"/>'
    )
    parts.append(
        polyline(
            [(x(c), y(b)) for c, b in zip(concurrencies, bounds, strict=True)],
            BOUND_COLOUR,
            dashed=True,
        )
    )
    parts.append(
        polyline(
            [(x(c), y(m)) for c, m in zip(concurrencies, measured, strict=True)], MEASURED_COLOUR
        )
    )
    for concurrency, value, point in zip(concurrencies, measured, points, strict=True):
        parts.append(
            f'<circle cx="{x(concurrency):.1f}" cy="{y(value):.1f}" r="4" '
            f'fill="{MEASURED_COLOUR}"/>'
        )
        label = f"{100 * point['ratio_to_bound']:.0f}%"
        parts.append(text(x(concurrency), y(value) + 18, label, size=11, text_anchor="middle"))
    legend_x, legend_y = LEFT + 12, TOP + 12
    parts += [
        f'<rect x="{legend_x}" y="{legend_y}" width="150" height="48" fill="white" stroke="#ccc"/>',
        polyline(
            [(legend_x + 8, legend_y + 15), (legend_x + 38, legend_y + 15)],
            BOUND_COLOUR,
            dashed=True,
        ),
        text(legend_x + 46, legend_y + 19, "bound C / L"),
        polyline([(legend_x + 8, legend_y + 35), (legend_x + 38, legend_y + 35)], MEASURED_COLOUR),
        text(legend_x + 46, legend_y + 39, "measured"),
    ]
    title = (
        f"Engine tasks per second, upstream latency L = {sweep['latency_ms']:g} ms "
        f"± {100 * sweep['jitter']:g}%"
    )
    middle = (LEFT + plot_right) / 2
    parts += [
        text(middle, 24, title, size=15, text_anchor="middle"),
        text(middle, 44, subtitle, size=12, text_anchor="middle"),
        text(middle, HEIGHT - 16, "MAX_CONCURRENT_TASKS (C)", text_anchor="middle"),
        text(
            22,
            (TOP + plot_bottom) / 2,
            "tasks per second",
            text_anchor="middle",
            transform=f"rotate(-90 22 {(TOP + plot_bottom) / 2:.1f})",
        ),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def draw_sweep(sweep: dict[str, Any], path: Path, subtitle: str) -> None:
    """Writes the sweep's chart to `path` (SVG)."""
    path.write_text(render_sweep(sweep, subtitle), encoding="utf-8")
