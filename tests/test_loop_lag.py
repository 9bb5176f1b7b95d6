"""The loop-lag probe: a loop held by a blocking call shows up as one late tick."""

import asyncio
import time
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry
from standins.asgi import serve

from hf_text_to_image.config import Settings
from hf_text_to_image.loop_lag import LoopLagProbe
from hf_text_to_image.main import create_app

BLOCK_SECONDS = 0.03


async def ticks_after(registry: CollectorRegistry, count: float, within: float = 5.0) -> float:
    """Wait (at most `within` seconds) until the probe has counted more than `count` ticks."""
    for _ in range(int(within / 0.001)):
        ticks = registry.get_sample_value("event_loop_lag_seconds_count") or 0.0
        if ticks > count:
            return ticks
        await asyncio.sleep(0.001)
    raise AssertionError(f"the probe counted no tick past {count} in {within} s")


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


async def probe_around(step: Callable[[float], object]) -> CollectorRegistry:
    """The probe's figures once a tick has run after `step(BLOCK_SECONDS)` held the loop."""
    registry = CollectorRegistry()
    ticker = asyncio.create_task(LoopLagProbe(registry).run())
    try:
        before = await ticks_after(registry, 0)
        asyncio.get_running_loop().call_soon(step, BLOCK_SECONDS)
        await ticks_after(registry, before + 1)
    finally:
        ticker.cancel()
    return registry


@pytest.mark.anyio
async def test_a_blocked_loop_is_one_late_tick() -> None:
    # What a step of a task must never do: hold the loop with a blocking call.
    registry = await probe_around(time.sleep)
    # The tick due during the block ran at least the rest of the block late.
    assert sample(registry, "event_loop_lag_max_seconds") >= BLOCK_SECONDS - 0.002
    ticks = sample(registry, "event_loop_lag_seconds_count")
    within_20ms = sample(registry, "event_loop_lag_seconds_bucket", le="0.02")
    assert ticks - within_20ms >= 1
    # A sleeping thread runs no code: that lateness was not the loop's own work.
    busy_within_20ms = sample(registry, "event_loop_busy_seconds_bucket", le="0.02")
    assert busy_within_20ms == sample(registry, "event_loop_busy_seconds_count")


def spin(seconds: float) -> None:
    """Work on the CPU for `seconds` of this thread's CPU time."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


@pytest.mark.anyio
async def test_a_loop_busy_running_code_shows_as_busy() -> None:
    registry = await probe_around(spin)
    busy_ticks = sample(registry, "event_loop_busy_seconds_count")
    busy_within_20ms = sample(registry, "event_loop_busy_seconds_bucket", le="0.02")
    assert busy_ticks - busy_within_20ms >= 1


@pytest.mark.anyio
async def test_the_probe_is_off_by_default_and_in_metrics_when_set(
    make_settings: Callable[..., Settings],
) -> None:
    assert Settings(_env_file=None).loop_lag_probe is False
    async with serve(create_app(make_settings())) as client:
        assert "event_loop_lag" not in (await client.get("/metrics")).text
    async with serve(create_app(make_settings(loop_lag_probe=True))) as client:
        page = (await client.get("/metrics")).text
        assert "event_loop_lag_seconds_bucket" in page
        assert "event_loop_lag_max_seconds" in page
        assert "event_loop_busy_seconds_bucket" in page
