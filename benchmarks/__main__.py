"""`python -m benchmarks [--smoke] [--only fleet] [--out DIR]`: the scenarios, a table, a chart,
one JSON line."""

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from .chart import draw_sweep
from .fleet import fleet, fleet_rows
from .harness import open_bench
from .plans import FULL, SMOKE, Plan
from .processes import REPOSITORY
from .report import build_rows, render_table, targets
from .scenarios import concurrency_sweep, engine_scenarios, memory, startup


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, targets not judged (CI, < 60 s)"
    )
    parser.add_argument(
        "--only",
        choices=["fleet"],
        help="run only this scenario (fleet: 7, the Redis task store); no chart",
    )
    parser.add_argument(
        "--out", type=Path, default=REPOSITORY / "benchmarks" / "results", help="results folder"
    )
    return parser.parse_args(argv)


async def run_scenarios(plan: Plan, log_dir: Path, only: str | None) -> dict[str, Any]:
    async with open_bench(plan, log_dir) as bench:
        if only == "fleet":
            return {"fleet": await fleet(bench)}
        results = await engine_scenarios(bench)
        results["memory"] = await memory(bench)
        results["chart"] = await concurrency_sweep(bench)
        results["fleet"] = await fleet(bench)
        results["startup"] = startup(bench.startup_seconds)
    return results


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def commit() -> str:
    answer = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    return answer.stdout.strip() or "unknown"


def display_path(path: Path) -> str:
    """The path relative to the repository when it lies inside it, else as given."""
    resolved = path.resolve()
    return str(
        resolved.relative_to(REPOSITORY) if resolved.is_relative_to(REPOSITORY) else resolved
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)  # stop the children on SIGTERM too
    started = time.monotonic()
    try:
        results = asyncio.run(run_scenarios(plan, args.out / "logs", args.only))
    except KeyboardInterrupt:
        print("interrupted: every process the benchmark started is stopped", file=sys.stderr)
        return 130
    rows = [] if args.only else build_rows(results, judged=plan.judge_targets)
    rows += fleet_rows(results["fleet"], judged=plan.judge_targets)
    # A partial run keeps the whole run's files as they are.
    name = f"{plan.name}-{args.only}" if args.only else plan.name
    chart_path = args.out / f"{name}-throughput.svg"
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, commit {commit()}"
    if not args.only:
        draw_sweep(results["chart"], chart_path, f"{plan.name} run; {machine}")
    document = {
        "benchmark": "hf-text-to-image",
        "mode": plan.name,
        "machine": machine,
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
        "targets": targets(rows) if plan.judge_targets else [],
        "chart": None if args.only else display_path(chart_path),
    }
    line = json.dumps(document, separators=(",", ":"))
    (args.out / f"{name}.json").write_text(line + "\n")
    print(render_table(rows))
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
